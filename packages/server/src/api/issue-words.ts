import type { z } from "@hono/zod-openapi";
import { closestWord, didYouMean, orList } from "@reev/orchestrator";

/** An input's fault in plain words ("must be one of …, not "runing""), and the allowed value a typo most likely meant. */
export type IssueWords = { words: string; guess: string | undefined };

/** A value as the message quotes it: a long one cut, so a pasted page of text is not echoed back whole. */
const quoted = (value: unknown) => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return typeof value === "string" ? `"${cut}"` : cut;
};

/** The value `path` points at in `input`; undefined when it is not there. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The words for one zod issue of parsing `input`. A value outside a fixed set (an enum) names the set
 * and what was given, and guesses the one a typo meant, as the CLI does for its options: zod's own
 * text (`Invalid option: expected one of "running"|"completed"|…`) is written for programmers, and
 * its quoted list does not wrap on a phone. Every other issue keeps the message its schema wrote.
 * zod leaves the input out of its issues, hence `input`: the value that was parsed.
 */
/** Whether the issue is a field left out (zod's words for it: "expected nonoptional, received undefined"). */
export const isMissing = (issue: z.core.$ZodIssue, input: unknown) =>
  issue.code === "invalid_type" && issue.path.length > 0 && valueAt(input, issue.path) === undefined;

export function issueWords(issue: z.core.$ZodIssue, input: unknown): IssueWords {
  if (issue.code !== "invalid_value" || !issue.values.every((v): v is string => typeof v === "string"))
    return { words: issue.message, guess: undefined };
  const allowed = issue.values;
  const set = allowed.length > 2 ? `one of ${orList(allowed)}` : orList(allowed);
  const given = valueAt(input, issue.path);
  if (given === undefined) return { words: `is required: give ${set}`, guess: undefined };
  return {
    words: `must be ${set}, not ${quoted(given)}`,
    guess: typeof given === "string" ? closestWord(given, allowed) : undefined,
  };
}

/** Words and guess as one sentence's end: "…, not "runing". Did you mean running?" */
export const issueSentence = ({ words, guess }: IssueWords) => `${words}.${didYouMean(guess)}`;
