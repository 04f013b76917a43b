import { z } from "zod";
import { counted } from "../counted.js";
import { chargesCachedApart, type PriceTable, priceOf } from "./price-table.js";
import type { TokenUsage } from "./token-usage.js";

const ZModels = z.array(z.string()).min(1);

/**
 * One reason a run's cost is unknown (runCostUsd gave null), as consolidation stores it beside the
 * null cost (the document's `metadata.cost_unknown`): the price table is not kept with a run, so a
 * later reader cannot work the reason out again.
 * - `no_usage`: a step that ran recorded no attempt, or an attempt no input or output count;
 *   `reported` says how much was reported: `none` (no attempt gave an input or output count: an agent
 *   that does not report usage, such as a script without any), `some` (a real gap among counted
 *   attempts) or `no_attempts` (no step that ran is recorded — none ran, or an atomic run rolled
 *   them back — or one recorded no attempt: nothing to count);
 *   absent in documents stored before it was kept;
 * - `no_prices`: the run was priced without a price table;
 * - `no_model`: attempts that did not report their model;
 * - `unpriced`: models the price table does not have;
 * - `uncached`: models that charge cached input apart, with an attempt that did not report its cached count.
 */
export const ZCostGap = z.discriminatedUnion("reason", [
  z.object({ reason: z.literal("no_usage"), reported: z.enum(["none", "some", "no_attempts"]).optional() }),
  z.object({ reason: z.literal("no_prices") }),
  z.object({ reason: z.literal("no_model"), attempts: z.int().positive() }),
  z.object({ reason: z.literal("unpriced"), models: ZModels }),
  z.object({ reason: z.literal("uncached"), models: ZModels }),
]);
export type CostGap = z.infer<typeof ZCostGap>;

const sortedUnique = (names: readonly string[]) => [...new Set(names)].sort();

/**
 * Why runCostUsd gives null for these usages and prices; empty exactly when it gives a cost. Unknown
 * usage is the only reason given when it applies: no price table could price tokens that were not counted.
 */
export function costGaps(usages: readonly TokenUsage[] | null, prices: PriceTable | null): CostGap[] {
  if (usages === null) return [{ reason: "no_usage", reported: "no_attempts" }];
  if (usages.some((u) => u.inputTokens === null || u.outputTokens === null)) {
    const none = usages.every((u) => u.inputTokens === null && u.outputTokens === null);
    return [{ reason: "no_usage", reported: none ? "none" : "some" }];
  }
  if (prices === null) return [{ reason: "no_prices" }];
  const noModel = usages.filter((u) => u.model === null).length;
  const unpriced = sortedUnique(usages.flatMap((u) => (u.model !== null && !priceOf(u.model, prices) ? [u.model] : [])));
  const uncached = sortedUnique(
    usages.flatMap((u) => {
      const price = priceOf(u.model, prices);
      return price && u.cachedInputTokens === null && chargesCachedApart(price) ? [u.model as string] : [];
    }),
  );
  return [
    ...(noModel ? [{ reason: "no_model" as const, attempts: noModel }] : []),
    ...(unpriced.length ? [{ reason: "unpriced" as const, models: unpriced }] : []),
    ...(uncached.length ? [{ reason: "uncached" as const, models: uncached }] : []),
  ];
}

/** One reason in plain words, as every view of a cost says it: `reev eval`'s notes, the run summary, show, status and the run page. */
function gapWords(gap: CostGap): string {
  switch (gap.reason) {
    case "no_usage":
      if (gap.reported === "none") return "the agent reported no token usage";
      if (gap.reported === "no_attempts")
        return "there is no usage to count: no step that ran is recorded (none ran, or an atomic run rolled them back), or one recorded no attempt";
      return "the agent did not report usage for every attempt";
    case "no_prices":
      return "no price table was given: pass --prices FILE to price the tokens";
    case "no_model":
      return `${counted(gap.attempts, "attempt")} did not report a model`;
    case "unpriced":
      return `${gap.models.length === 1 ? "the model" : "the models"} ${gap.models.join(", ")} ${gap.models.length === 1 ? "is" : "are"} not in the price table`;
    case "uncached": {
      const whose = gap.models.length === 1 ? `the price of ${gap.models[0]} charges` : `the prices of ${gap.models.join(", ")} charge`;
      return `an attempt did not report cached input tokens, and ${whose} them differently`;
    }
  }
}

/**
 * ["Cost is unknown (—): <why>."] for one run's gaps, or ["Cost is unknown (—) for 2 runs: <why>."]
 * for `runs` runs that share them; none without gaps (the cost is known).
 */
export function costUnknownNote(gaps: readonly CostGap[], runs?: number): string[] {
  const why = costUnknownReason(gaps);
  return why === null ? [] : [`Cost is unknown (—)${runs === undefined ? "" : ` for ${counted(runs, "run")}`}: ${why}.`];
}

/**
 * Why the cost is unknown, the note's words after its colon ("no price table was given: pass --prices
 * FILE to price the tokens"), as the JSON views carry them beside the gaps; null without gaps.
 */
export function costUnknownReason(gaps: readonly CostGap[]): string | null {
  return gaps.length ? gaps.map(gapWords).join("; ") : null;
}

/**
 * True when the only reason is that no attempt reported usage at all (`no_usage`, `reported: none`): an
 * agent that does not report usage, not a gap in what it reported. `reev run` says it once for the
 * scripted agent instead of under every run.
 */
export const reportedNoUsage = (gaps: readonly CostGap[]): boolean =>
  gaps.length === 1 && gaps[0]?.reason === "no_usage" && gaps[0].reported === "none";

/** The gaps stored with a consolidated document's metrics; undefined when it has none to give (a known cost, or a document from before they were stored). */
export function storedCostGaps(metrics: { cost_unknown?: unknown }): CostGap[] | undefined {
  const parsed = z.array(ZCostGap).min(1).safeParse(metrics.cost_unknown);
  return parsed.success ? parsed.data : undefined;
}
