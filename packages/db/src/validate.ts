import type { z } from "zod";
import { DatabaseError } from "./errors.js";
import { formatIssuePath } from "./issue-path.js";
import { plainWords } from "./plain-words.js";

/**
 * Parses `value` with `schema`, or throws a VALIDATION DatabaseError naming the first bad field
 * (`prefix` + the path inside the value), before anything touches the database.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value, { error: plainWords });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = formatIssuePath(issue?.path ?? [], prefix);
  const problems = result.error.issues.map((i) => `${formatIssuePath(i.path, prefix) || "value"} ${i.message}`).join("; ");
  // A whole argument of the wrong kind (null for an object, say) has no inner path: name the argument.
  throw new DatabaseError("VALIDATION", `Invalid input: ${problems}`, { field: field || "input", cause: result.error });
}
