import { describe, expect, it } from "vitest";
import { costUsd, type PriceTable, parsePriceTable, runCostUsd } from "../src/evaluation/price-table.js";
import { sumKnown } from "../src/evaluation/summary-statistics.js";
import { sumUsage, type TokenUsage, ZTokenUsage } from "../src/evaluation/token-usage.js";

const usage = (fields: Partial<TokenUsage>): TokenUsage => ZTokenUsage.parse(fields);

describe("ZTokenUsage", () => {
  it("takes an unreported count as null, not 0", () => {
    expect(ZTokenUsage.parse({ inputTokens: 10 })).toEqual({ model: null, inputTokens: 10, outputTokens: null, cachedInputTokens: null });
  });

  it.each([
    [{ inputTokens: 10, cachedInputTokens: 11 }, "cachedInputTokens", "must not exceed inputTokens (cached tokens are part of the input)"],
    [{ outputTokens: -1 }, "outputTokens", "must be 0 or more"],
    [{ outputTokens: 1.5 }, "outputTokens", "must be a whole number of tokens"],
    [{ model: "" }, "model", "must not be empty"],
    [{ inputTokens: 1, promptTokens: 1 }, "", 'Unrecognized key: "promptTokens"'],
  ])("refuses %j at %s", (fields, path, message) => {
    const issues = ZTokenUsage.safeParse(fields).error?.issues.map((i) => [i.path.join("."), i.message]);
    expect(issues).toEqual([[path, message]]);
  });
});

describe("sumUsage", () => {
  it("sums every kind of token exactly", () => {
    const totals = sumUsage([
      usage({ inputTokens: 123_456_789_012, outputTokens: 7, cachedInputTokens: 1_000 }),
      usage({ inputTokens: 987_654_321_098, outputTokens: 0, cachedInputTokens: 0 }),
      usage({ inputTokens: 1, outputTokens: 993, cachedInputTokens: 1 }),
    ]);
    expect(totals).toEqual({
      inputTokens: { total: 1_111_111_110_111, known: 3, unknown: 0 },
      outputTokens: { total: 1_000, known: 3, unknown: 0 },
      cachedInputTokens: { total: 1_001, known: 3, unknown: 0 },
    });
  });

  it("makes a total null when one usage lacks that count, and only that total", () => {
    const totals = sumUsage([usage({ inputTokens: 5, outputTokens: 2, cachedInputTokens: 1 }), usage({ inputTokens: 3, outputTokens: 4 })]);
    expect(totals).toEqual({
      inputTokens: { total: 8, known: 2, unknown: 0 },
      outputTokens: { total: 6, known: 2, unknown: 0 },
      cachedInputTokens: { total: null, known: 1, unknown: 1 },
    });
  });
});

describe("parsePriceTable", () => {
  const yaml = `
models:
  gpt-4o-2024-08-06:
    inputPerMillion: 2.5
    outputPerMillion: 10
    cachedInputPerMillion: 1.25
  local-llama: { inputPerMillion: 0, outputPerMillion: 0 }
`;

  it("reads YAML and JSON alike", () => {
    const expected: PriceTable = {
      models: {
        "gpt-4o-2024-08-06": { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 },
        "local-llama": { inputPerMillion: 0, outputPerMillion: 0 },
      },
    };
    expect(parsePriceTable(yaml, "prices.yaml")).toEqual(expected);
    expect(parsePriceTable(JSON.stringify(expected), "prices.json")).toEqual(expected);
  });

  it.each([
    [
      "models:\n  gpt-4.1: { inputPerMillion: 2, ouputPerMillion: 8 }",
      'models["gpt-4.1"].ouputPerMillion: Unrecognized key: did you mean outputPerMillion?',
    ],
    ["modles: {}\nmodels: {}", "modles: Unrecognized key: did you mean models?"],
    ["models:\n  gpt-4.1: { inputPerMillion: 2 }", 'models["gpt-4.1"].outputPerMillion: must be a number of US dollars per million tokens'],
    ["models:\n  m: { inputPerMillion: -2, outputPerMillion: 8 }", "models.m.inputPerMillion: must be 0 or more"],
    [
      "models:\n  m: { inputPerMillion: '2', outputPerMillion: 8 }",
      "models.m.inputPerMillion: must be a number of US dollars per million tokens",
    ],
  ])("refuses %j, naming the field", (text, problem) => {
    expect(() => parsePriceTable(text, "prices.yaml")).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/^Invalid price file prices\.yaml:\n/) }),
    );
    expect(() => parsePriceTable(text, "prices.yaml")).toThrow(`  - ${problem}`);
  });

  it("guesses no key for one that is nothing like a known one", () => {
    expect(() => parsePriceTable("models:\n  m: { inputPerMillion: 2, outputPerMillion: 8, discount: 1 }", "prices.yaml")).toThrow(
      /\n {2}- models\.m\.discount: Unrecognized key$/,
    );
  });

  it.each([
    ["gpt-4o: { inputPerMillion: 2, outputPerMillion: 8 }", 'it has no models: section ("gpt-4o" must go under models:).'],
    ["[]", "it has no models: section."],
    ["", "it has no models: section."],
  ])("without models: %j, shows the shape a price file has", (text, why) => {
    expect(() => parsePriceTable(text, "prices.yaml")).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        path: "models",
        message: `Invalid price file prices.yaml: ${why} A price file looks like this:\n  models:\n    gpt-4o: { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 }\n    gpt-4o-mini: { inputPerMillion: 0.15, outputPerMillion: 0.6 }`,
      }),
    );
  });

  it("says which file it cannot parse", () => {
    expect(() => parsePriceTable("models: [unclosed", "prices.yaml")).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/^Cannot parse price file prices\.yaml: /) }),
    );
  });
});

describe("costUsd", () => {
  const prices: PriceTable = {
    models: {
      "gpt-4o": { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 },
      plain: { inputPerMillion: 3, outputPerMillion: 15 },
    },
  };

  it("prices cached input at its own rate: (800 × 2.5 + 200 × 1.25 + 300 × 10) / 1e6 = 0.00525", () => {
    expect(costUsd(usage({ model: "gpt-4o", inputTokens: 1_000, cachedInputTokens: 200, outputTokens: 300 }), prices)).toBeCloseTo(
      0.00525,
      15,
    );
  });

  it("prices a model without a cached rate when nothing was cached: (1,234,567 × 3 + 89,012 × 15) / 1e6 = 5.038881", () => {
    expect(costUsd(usage({ model: "plain", inputTokens: 1_234_567, outputTokens: 89_012 }), prices)).toBeCloseTo(5.038881, 12);
    expect(costUsd(usage({ model: "plain", inputTokens: 1_234_567, outputTokens: 89_012, cachedInputTokens: 0 }), prices)).toBeCloseTo(
      5.038881,
      12,
    );
  });

  it("charges cached tokens the input price when the model has no cached price, so an unknown cached count does not matter", () => {
    // (10 × 3 + 1 × 15) / 1e6 whether 4, 0 or an unknown number of the 10 input tokens were cached.
    for (const cachedInputTokens of [4, 0, null]) {
      expect(costUsd(usage({ model: "plain", inputTokens: 10, cachedInputTokens, outputTokens: 1 }), prices)).toBe(45 / 1_000_000);
    }
    // A cached price equal to the input price is no discount either.
    const same: PriceTable = { models: { same: { inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 3 } } };
    expect(costUsd(usage({ model: "same", inputTokens: 10, outputTokens: 1 }), same)).toBe(45 / 1_000_000);
  });

  it.each<[string, Partial<TokenUsage>]>([
    ["an unknown model", { model: "gpt-5", inputTokens: 1, outputTokens: 1 }],
    ["no model", { inputTokens: 1, outputTokens: 1 }],
    ["a model named after an Object.prototype key", { model: "constructor", inputTokens: 1, outputTokens: 1 }],
    ["unknown input tokens", { model: "plain", outputTokens: 1 }],
    ["unknown output tokens", { model: "plain", inputTokens: 1 }],
    ["an unknown cached share where the cached price differs", { model: "gpt-4o", inputTokens: 10, outputTokens: 1 }],
  ])("is null, never a guess, for %s", (_, fields) => {
    expect(costUsd(usage(fields), prices)).toBeNull();
  });

  it("makes a run's cost null when any of its usages has no price, and counts them", () => {
    const costs = [
      usage({ model: "plain", inputTokens: 1_000_000, outputTokens: 0 }),
      usage({ model: "unlisted", inputTokens: 5, outputTokens: 5 }),
      usage({ model: "plain", inputTokens: 0, outputTokens: 1_000_000 }),
    ].map((u) => costUsd(u, prices));
    expect(sumKnown(costs)).toEqual({ total: null, known: 2, unknown: 1 });
    expect(sumKnown([costs[0]!, costs[2]!])).toEqual({ total: 18, known: 2, unknown: 0 });
  });

  it("prices a run (evaluations and consolidation alike): every usage summed; null without prices, usage, or a price for one", () => {
    const run = [
      usage({ model: "plain", inputTokens: 1_000_000, outputTokens: 0 }),
      usage({ model: "gpt-4o", inputTokens: 1_000, cachedInputTokens: 200, outputTokens: 300 }),
    ];
    // $3 + (800 × 2.5 + 200 × 1.25 + 300 × 10) / 1e6 = $3 + $0.00525.
    expect(runCostUsd(run, prices)).toBe(3 + 0.00525);
    expect(runCostUsd(run, null)).toBeNull();
    expect(runCostUsd(null, prices)).toBeNull();
    expect(runCostUsd([...run, usage({ model: "unlisted", inputTokens: 1, outputTokens: 1 })], prices)).toBeNull();
  });
});
