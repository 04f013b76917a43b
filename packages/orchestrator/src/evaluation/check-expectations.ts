import type { Expect } from "./expect.js";
import { findSubsetMismatch } from "./json-subset.js";

/**
 * A tool call as stored (a step's `toolCalls`, or the agent's ToolCallRecord); other fields are
 * ignored. `success` is null when the source only named the tool, and such a call never counts as
 * successful: unknown is not success.
 */
export type TrajectoryToolCall = { toolName: string; input?: unknown; success: boolean | null; error?: string | null };

export type ExpectCheckName = "tools" | "order" | "forbiddenTools" | "maxToolCalls" | "args" | "minScore";

/** One field of an `expect` block, judged; `reason` says in plain words why it failed, null when it passed. */
export type ExpectCheck = { check: ExpectCheckName; passed: boolean; reason: string | null };

export type ExpectResult = { passed: boolean; checks: ExpectCheck[] };

/**
 * Judges an `expect` block against the tool calls of a step (or, for a flow's block, of every step
 * concatenated in step order) and its score. One check per field present, in the order of the
 * fields; `passed` when every check passed (so an empty block passes).
 *
 * - `tools`: each listed tool has a successful call (as many as it is listed). A failed call does not
 *   count, as in the executor's `requiredTools`: a swap that errored was not made.
 * - `order`: judged on the sequence of successful calls, for the same reason; failed attempts and
 *   their retries are for `maxToolCalls` to limit. `exact`: that sequence is `tools`, no more, no
 *   less; `in_order`: `tools` appears in it in this order, other calls allowed between; `any_order`
 *   adds no check beyond `tools`.
 * - `forbiddenTools`: no call at all, failed ones included: the agent tried.
 * - `maxToolCalls`: every call counts, failed ones included: each one was made and paid for.
 * - `args`: per tool, at least one successful call whose input contains the subset; a failure shows
 *   where the first few successful calls of that tool differ (call n = its n-th successful call).
 * - `minScore`: a score was recorded and is at least `minScore`; no score fails, never passes by default.
 */
export function checkExpectations(expect: Expect, toolCalls: readonly TrajectoryToolCall[], score: number | null): ExpectResult {
  const successful = toolCalls.filter((call) => call.success === true);
  const checks: ExpectCheck[] = [];
  const add = (check: ExpectCheckName, failure: string | null) => checks.push({ check, passed: failure === null, reason: failure });
  if (expect.tools) add("tools", missingTools(expect.tools, toolCalls, successful));
  if (expect.tools && expect.order && expect.order !== "any_order") add("order", wrongOrder(expect.tools, expect.order, successful));
  if (expect.forbiddenTools) add("forbiddenTools", forbiddenCalls(expect.forbiddenTools, toolCalls));
  if (expect.maxToolCalls !== undefined) add("maxToolCalls", tooManyCalls(expect.maxToolCalls, toolCalls.length));
  if (expect.args) add("args", argumentMismatches(expect.args, successful));
  if (expect.minScore !== undefined) add("minScore", lowScore(expect.minScore, score));
  return { passed: checks.every((c) => c.passed), checks };
}

const times = (n: number) => (n === 1 ? "1 time" : `${n} times`);
const sequence = (names: readonly string[]) => (names.length ? names.join(" → ") : "none");
const failures = (failure: string[]) => (failure.length ? failure.join("; ") : null);

function missingTools(
  tools: readonly string[],
  calls: readonly TrajectoryToolCall[],
  successful: readonly TrajectoryToolCall[],
): string | null {
  return failures(
    [...new Set(tools)].flatMap((tool) => {
      const needed = tools.filter((t) => t === tool).length;
      const succeeded = successful.filter((c) => c.toolName === tool).length;
      if (succeeded >= needed) return [];
      const attempts = calls.filter((c) => c.toolName === tool);
      if (attempts.length === 0) return [`${tool} was never called`];
      if (succeeded === 0) {
        const lastError = attempts.findLast((c) => c.error)?.error;
        return [`${tool} was called ${times(attempts.length)} but never succeeded${lastError ? ` (last error: ${lastError})` : ""}`];
      }
      return [`${tool} succeeded ${times(succeeded)}, ${needed} are required`];
    }),
  );
}

function wrongOrder(tools: readonly string[], order: "exact" | "in_order", successful: readonly TrajectoryToolCall[]): string | null {
  const made = successful.map((c) => c.toolName);
  if (order === "exact") {
    const same = made.length === tools.length && made.every((name, i) => name === tools[i]);
    return same ? null : `expected exactly ${sequence(tools)}, but the successful calls were ${sequence(made)}`;
  }
  let matched = 0;
  for (const name of made) if (name === tools[matched]) matched++;
  if (matched === tools.length) return null;
  const after = matched === 0 ? "" : ` after ${sequence(tools.slice(0, matched))}`;
  return `expected ${sequence(tools)} in this order, but no successful ${tools[matched]} came${after}; the successful calls were ${sequence(made)}`;
}

function forbiddenCalls(forbidden: readonly string[], calls: readonly TrajectoryToolCall[]): string | null {
  return failures(
    [...new Set(forbidden)].flatMap((tool) => {
      const made = calls.filter((c) => c.toolName === tool).length;
      return made ? [`${tool} is forbidden but was called ${times(made)} (failed calls count too)`] : [];
    }),
  );
}

/** "at most 1 is allowed", "at most 2 are allowed"; maxToolCalls: 0 allows none. */
const allowedCalls = (max: number) => (max === 0 ? "no tool call is allowed" : `at most ${max} ${max === 1 ? "is" : "are"} allowed`);

function tooManyCalls(max: number, made: number): string | null {
  const madeWords = made === 1 ? "1 tool call was made" : `${made} tool calls were made`;
  return made > max ? `${madeWords}, ${allowedCalls(max)} (failed calls count too)` : null;
}

// Enough mismatches to see the pattern without burying the reason.
const MAX_MISMATCHES_SHOWN = 3;

function argumentMismatches(args: NonNullable<Expect["args"]>, successful: readonly TrajectoryToolCall[]): string | null {
  return failures(
    Object.entries(args).flatMap(([tool, subset]) => {
      const calls = successful.filter((c) => c.toolName === tool);
      if (calls.length === 0) return [`${tool} has no successful call to check its arguments ${JSON.stringify(subset)}`];
      const mismatches = calls.map((c) => findSubsetMismatch(subset, c.input));
      if (mismatches.includes(null)) return [];
      const shown = mismatches.slice(0, MAX_MISMATCHES_SHOWN).map((mismatch, i) => `call ${i + 1}: ${mismatch}`);
      if (mismatches.length > MAX_MISMATCHES_SHOWN) shown.push(`${mismatches.length - MAX_MISMATCHES_SHOWN} more`);
      return [`no successful ${tool} call had the arguments ${JSON.stringify(subset)} (${shown.join("; ")})`];
    }),
  );
}

function lowScore(minScore: number, score: number | null): string | null {
  if (score === null) return `no score was recorded, and minScore ${minScore} needs one`;
  return score < minScore ? `score ${score} is below minScore ${minScore}` : null;
}
