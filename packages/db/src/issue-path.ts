const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * A zod issue path the way a reader writes it: `steps[1].retry.attempts`, `context["my key"]`.
 * `prefix` is a path already written (`steps[0]`, `guard`) that the issue's path continues.
 */
export function formatIssuePath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const key of path) {
    const name = String(key);
    if (typeof key === "number") out += `[${key}]`;
    else if (IDENTIFIER.test(name)) out += out ? `.${name}` : name;
    else out += `[${JSON.stringify(name)}]`;
  }
  return out;
}
