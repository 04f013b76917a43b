/** Where two JSON documents first disagree: the field's path (`steps[2].timestamp`) and each side's value. */
export type Difference = { path: string; expected: unknown; actual: unknown; lengths?: { expected: number; actual: number } };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The first field where `actual` differs from `expected`, walking `expected` in its own order; null
 * when they agree. A field `expected` leaves undefined is not compared: an older export does not say
 * it, so whatever is stored for it is not a disagreement. Objects compare by key, not key order (jsonb
 * keeps its own); arrays by length, then item by item.
 */
export function firstDifference(expected: unknown, actual: unknown, path = ""): Difference | null {
  if (expected === undefined) return null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return { path, expected, actual };
    if (expected.length !== actual.length) return { path, expected, actual, lengths: { expected: expected.length, actual: actual.length } };
    for (const [i, item] of expected.entries()) {
      const difference = firstDifference(item, actual[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return { path, expected, actual };
    for (const [key, value] of Object.entries(expected)) {
      const difference = firstDifference(value, actual[key], path ? `${path}.${key}` : key);
      if (difference) return difference;
    }
    return null;
  }
  return expected === actual ? null : { path, expected, actual };
}

/** A value as a person reads it in a message: JSON, long ones cut short. */
function shown(value: unknown): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** "steps[2].timestamp is "…" in THERE but "…" in the file". */
export function differenceWords(difference: Difference, there: string): string {
  const { path, lengths } = difference;
  if (lengths)
    return `${path} has ${lengths.actual} ${lengths.actual === 1 ? "entry" : "entries"} in ${there} but ${lengths.expected} in the file`;
  return `${path} is ${shown(difference.actual)} in ${there} but ${shown(difference.expected)} in the file`;
}
