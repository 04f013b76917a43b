import type { z } from "zod";
import { OrchestratorError } from "../errors.js";
import { issueProblems, plainWords } from "../issue-problems.js";

/**
 * Validates `value` against `schema` or throws INVALID_ARGUMENT listing every problem with its field
 * path (`runs[2].score: must be between 0 and 1`), so bad input is refused whole, never half-used.
 * An unknown key is reported at the key itself: that is where the typo is.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, label: string): z.output<S> {
  const result = schema.safeParse(value, { error: plainWords });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => issueProblems(schema, issue));
  throw new OrchestratorError(
    "INVALID_ARGUMENT",
    `Invalid ${label}:\n${problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n")}`,
    { path: problems[0]?.path ?? "", cause: result.error },
  );
}
