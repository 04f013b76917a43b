import { formatIssuePath } from "@reev/db";
import type { z } from "zod";
import { closestWord } from "../closest-word.js";
import { OrchestratorError } from "../errors.js";

/**
 * Validates `value` against `schema` or throws INVALID_ARGUMENT listing every problem with its field
 * path (`runs[2].score: must be between 0 and 1`), so bad input is refused whole, never half-used.
 * An unknown key is reported at the key itself: that is where the typo is.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, label: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => {
          const guess = closestWord(key, keysAt(schema, issue.path));
          return { path: formatIssuePath([...issue.path, key]), message: `Unrecognized key${guess ? `: did you mean ${guess}?` : ""}` };
        })
      : [{ path: formatIssuePath(issue.path), message: issue.message }],
  );
  throw new OrchestratorError(
    "INVALID_ARGUMENT",
    `Invalid ${label}:\n${problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n")}`,
    { path: problems[0]?.path ?? "", cause: result.error },
  );
}

type SchemaDef = { type?: string; shape?: Record<string, z.ZodType>; valueType?: z.ZodType; element?: z.ZodType; innerType?: z.ZodType };
const defOf = (schema: z.ZodType | undefined): SchemaDef | undefined => (schema as { def?: SchemaDef } | undefined)?.def;

/** The keys the object at `path` of `schema` knows (through optional, default, records and arrays); [] when not an object. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let def = defOf(schema);
  const unwrap = () => {
    while (def?.innerType) def = defOf(def.innerType);
  };
  unwrap();
  for (const segment of path) {
    const next: z.ZodType | undefined = def?.shape?.[String(segment)] ?? def?.valueType ?? def?.element;
    def = defOf(next);
    unwrap();
  }
  return def?.shape ? Object.keys(def.shape) : [];
}
