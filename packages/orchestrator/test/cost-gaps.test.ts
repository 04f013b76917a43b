// Why a cost is unknown, in the one set of words every view uses: each reason runCostUsd has for null,
// found from the usages and the table, and said for one run or for several.
import { describe, expect, it } from "vitest";
import { costGaps, costUnknownNote, reportedNoUsage } from "../src/evaluation/cost-gaps.js";
import { type PriceTable, runCostUsd } from "../src/evaluation/price-table.js";

const PRICES: PriceTable = {
  models: {
    "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 },
    "gpt-b": { inputPerMillion: 1, outputPerMillion: 2 },
  },
};
const usage = (model: string | null, cachedInputTokens: number | null = 0, outputTokens: number | null = 10) => ({
  model,
  inputTokens: 100,
  outputTokens,
  cachedInputTokens,
});

/** An attempt that gave no count at all (its model, maybe): what a script without usage records. */
const uncounted = (model: string | null) => ({ model, inputTokens: null, outputTokens: null, cachedInputTokens: null });

describe("costGaps", () => {
  it("is empty exactly when runCostUsd prices the run, and names every reason otherwise", () => {
    const cases: [Parameters<typeof costGaps>[0], PriceTable | null, unknown][] = [
      [[usage("gpt-a"), usage("gpt-b", null)], PRICES, []],
      [null, PRICES, [{ reason: "no_usage", reported: "no_attempts" }]],
      // Some attempts counted and one did not: a gap. None counted at all: an agent that reports no usage.
      [[usage("gpt-a", 0, null), usage("gpt-a")], null, [{ reason: "no_usage", reported: "some" }]],
      [[uncounted("gpt-a"), uncounted(null)], PRICES, [{ reason: "no_usage", reported: "none" }]],
      [[usage("gpt-a")], null, [{ reason: "no_prices" }]],
      [
        [usage(null), usage(null), usage("gpt-z"), usage("gpt-y"), usage("gpt-z"), usage("gpt-a", null)],
        PRICES,
        [
          { reason: "no_model", attempts: 2 },
          { reason: "unpriced", models: ["gpt-y", "gpt-z"] },
          { reason: "uncached", models: ["gpt-a"] },
        ],
      ],
    ];
    for (const [usages, prices, gaps] of cases) {
      expect(costGaps(usages, prices)).toEqual(gaps);
      expect(runCostUsd(usages, prices) === null).toBe((gaps as unknown[]).length > 0);
    }
  });
});

describe("costUnknownNote", () => {
  it("says each reason for one run, or for the runs that share it; nothing for a known cost", () => {
    expect(costUnknownNote([])).toEqual([]);
    expect(costUnknownNote([{ reason: "uncached", models: ["m1"] }])).toEqual([
      "Cost is unknown (—): an attempt did not report cached input tokens, and the price of m1 charges them differently.",
    ]);
    expect(costUnknownNote([{ reason: "uncached", models: ["m1", "m2"] }], 2)).toEqual([
      "Cost is unknown (—) for 2 runs: an attempt did not report cached input tokens, and the prices of m1, m2 charge them differently.",
    ]);
    expect(
      costUnknownNote([
        { reason: "no_model", attempts: 1 },
        { reason: "unpriced", models: ["m3"] },
      ]),
    ).toEqual(["Cost is unknown (—): 1 attempt did not report a model; the model m3 is not in the price table."]);
    expect(costUnknownNote([{ reason: "unpriced", models: ["m3", "m4"] }], 1)).toEqual([
      "Cost is unknown (—) for 1 run: the models m3, m4 are not in the price table.",
    ]);
    expect(costUnknownNote([{ reason: "no_prices" }])).toEqual([
      "Cost is unknown (—): no price table was given: pass --prices FILE to price the tokens.",
    ]);
    expect(costUnknownNote([{ reason: "no_usage" }])).toEqual(["Cost is unknown (—): the agent did not report usage for every attempt."]);
    expect(costUnknownNote([{ reason: "no_usage", reported: "some" }])).toEqual([
      "Cost is unknown (—): the agent did not report usage for every attempt.",
    ]);
    expect(costUnknownNote([{ reason: "no_usage", reported: "none" }])).toEqual([
      "Cost is unknown (—): the agent reported no token usage.",
    ]);
    // A recovered run that had stored no step: nothing to blame the agent for.
    expect(costUnknownNote([{ reason: "no_usage", reported: "no_attempts" }])).toEqual([
      "Cost is unknown (—): there is no usage to count: no step that ran is recorded (none ran, or an atomic run rolled them back), or one recorded no attempt.",
    ]);
  });
});

describe("reportedNoUsage", () => {
  it("holds only when no attempt reported usage and nothing else is missing: a partial gap, or one stored before, is not it", () => {
    expect(reportedNoUsage([{ reason: "no_usage", reported: "none" }])).toBe(true);
    expect(reportedNoUsage([{ reason: "no_usage", reported: "some" }])).toBe(false);
    expect(reportedNoUsage([{ reason: "no_usage" }])).toBe(false);
    expect(reportedNoUsage([{ reason: "no_prices" }])).toBe(false);
    expect(reportedNoUsage([])).toBe(false);
  });
});
