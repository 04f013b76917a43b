import { closestWord, formatIssuePath } from "@reev/db";
import type { z } from "zod";

export { plainWords } from "@reev/db";

/** One thing wrong with an input: where (`steps[0].retry`), and what. */
export type Problem = { path: string; message: string };

/**
 * A zod issue as the problems a person fixes: an unknown key is reported at the key itself, one
 * problem per key (that is where the typo is), with the key of `schema` it most likely meant.
 * Shared by flow files and every other input file, so a typo gets the same help in each.
 */
export function issueProblems(schema: z.ZodType, issue: z.core.$ZodIssue): Problem[] {
  if (issue.code !== "unrecognized_keys") return [{ path: formatIssuePath(issue.path), message: issue.message }];
  return issue.keys.map((key) => {
    const guess = closestWord(key, keysAt(schema, issue.path));
    return { path: formatIssuePath([...issue.path, key]), message: `Unrecognized key${guess ? `: did you mean ${guess}?` : ""}` };
  });
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
