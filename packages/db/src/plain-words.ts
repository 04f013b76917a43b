import type { z } from "zod";
import { closestWord, didYouMean, orList } from "./closest-word.js";

/** A type as a person names it, for "must be …". */
const TYPE_WORDS: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value)",
};

/** A string format as a person names it, for "must be …". */
const FORMAT_WORDS: Record<string, string> = {
  datetime: "a date and time in ISO 8601 (2026-12-05T14:30:00.000Z)",
  uuid: "a UUID",
  url: "a URL",
};

/** What was given instead, quoted when it is short text, so the reader finds it in the file. */
function givenWords(input: unknown): string {
  if (typeof input === "string") return `the text "${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`;
  if (typeof input === "number" || typeof input === "boolean") return String(input);
  if (input === null) return "null (nothing)";
  return Array.isArray(input) ? "a list" : typeof input === "object" ? "a mapping" : typeof input;
}

const count = (n: number | bigint, one: string) => `${n} ${Number(n) === 1 ? one : `${one}s`}`;

/**
 * zod's words for a programmer ("Invalid input: expected number, received string", "Too small:
 * expected array to have >=1 items") as a person's: "is required", "must be a number, not the text
 * "abc"", "must have at least 1 item". Given to `safeParse` as its error map; a schema's own message
 * still wins, and an issue not named here keeps zod's.
 */
export const plainWords: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return "is required";
    const expected = TYPE_WORDS[issue.expected];
    return expected ? `must be ${expected}, not ${givenWords(issue.input)}` : undefined;
  }
  if (issue.code === "invalid_value" && issue.values.every((v): v is string => typeof v === "string")) {
    const set = issue.values.length > 2 ? `one of ${orList(issue.values)}` : orList(issue.values);
    const guess = typeof issue.input === "string" ? closestWord(issue.input, issue.values) : undefined;
    return issue.input === undefined
      ? `is required: give ${set}`
      : `must be ${set}, not ${givenWords(issue.input)}${guess ? `.${didYouMean(guess)}` : ""}`;
  }
  if (issue.code === "invalid_format" && FORMAT_WORDS[issue.format])
    return `must be ${FORMAT_WORDS[issue.format]}, not ${givenWords(issue.input)}`;
  if (issue.code === "too_small" || issue.code === "too_big") {
    const small = issue.code === "too_small";
    const bound = small ? issue.minimum : issue.maximum;
    const side = small ? (issue.inclusive === false ? "more than" : "at least") : issue.inclusive === false ? "less than" : "at most";
    if (issue.origin === "array") return `must have ${side} ${count(bound, "item")}`;
    if (issue.origin === "string")
      return small && Number(bound) === 1 ? "must not be empty" : `must be ${side} ${count(bound, "character")}`;
    if (issue.origin === "number" || issue.origin === "int") return `must be ${side} ${bound}`;
  }
  // zod's "Invalid key in record" names neither the key nor what a key must be: its own issues say the latter.
  if (issue.code === "invalid_key" && issue.issues.length)
    return `the key ${typeof issue.input === "string" ? `"${issue.input}"` : givenWords(issue.input)} ${issue.issues.map((i) => i.message).join("; ")}`;
  return undefined;
};
