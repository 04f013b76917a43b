import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { errorMessage, OrchestratorError } from "../errors.js";
import { parseInput } from "./parse-input.js";
import { sumKnown } from "./summary-statistics.js";
import type { TokenUsage } from "./token-usage.js";

const ZUsdPerMillion = z.number("must be a number of US dollars per million tokens").min(0, "must be 0 or more");

/** One model's prices in US dollars per million tokens. */
export const ZModelPrice = z.strictObject({
  inputPerMillion: ZUsdPerMillion,
  outputPerMillion: ZUsdPerMillion,
  /** The price of input tokens served from the prompt cache; without it, cached tokens cost `inputPerMillion` like any input. */
  cachedInputPerMillion: ZUsdPerMillion.optional(),
});
export type ModelPrice = z.infer<typeof ZModelPrice>;

/**
 * The price file (`--prices prices.yaml`, YAML or JSON):
 *
 * ```yaml
 * models:
 *   gpt-4o-2024-08-06: { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 }
 * ```
 *
 * Model names match exactly as the agent reports them: `gpt-4o` does not price
 * `gpt-4o-2024-08-06`, since a dated model may be priced differently and a prefix match would guess.
 */
export const ZPriceTable = z.strictObject({ models: z.record(z.string().min(1, "must not be empty"), ZModelPrice) });
export type PriceTable = z.infer<typeof ZPriceTable>;

/** Parses and validates a price file's text; `sourceName` names the file in errors. */
export function parsePriceTable(text: string, sourceName = "<inline prices>"): PriceTable {
  let document: unknown;
  try {
    // YAML 1.2 reads JSON too, so one parser serves both kinds of file.
    document = parseYaml(text);
  } catch (cause) {
    throw new OrchestratorError("INVALID_ARGUMENT", `Cannot parse price file ${sourceName}: ${errorMessage(cause)}`, { cause });
  }
  if (!document || typeof document !== "object" || Array.isArray(document) || !("models" in document)) {
    // The whole file is wrong, not one field: show its shape instead of the schema's words.
    const named = document && typeof document === "object" && !Array.isArray(document) ? Object.keys(document) : [];
    const why = named.length
      ? `it has no models: section (${named.map((k) => `"${k}"`).join(", ")} must go under models:)`
      : "it has no models: section";
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `Invalid price file ${sourceName}: ${why}. A price file looks like this:\n${PRICE_FILE_EXAMPLE}`,
      {
        path: "models",
      },
    );
  }
  return parseInput(ZPriceTable, document, `price file ${sourceName}`);
}

/** The shape of a price file, as the error for a file without `models:` shows it. */
const PRICE_FILE_EXAMPLE = [
  "  models:",
  "    gpt-4o: { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 }",
  "    gpt-4o-mini: { inputPerMillion: 0.15, outputPerMillion: 0.6 }",
].join("\n");

/**
 * The cost in US dollars of one usage: (input − cached) × input price + cached × cached-input price
 * + output × output price, per million tokens. A model without a cached-input price charges cached
 * tokens the input price (the cache gives no discount), so its cost does not depend on how many were
 * cached. Null, never a guess, when:
 * - the model is unknown (null, or not in the table);
 * - the input or output token count is unknown;
 * - the usage does not say how many input tokens were cached and the model charges them differently
 *   (chargesCachedApart), so the split between the two prices is unknown.
 *
 * A run's cost is the sum of its usages' costs (runCostUsd): null as soon as one is.
 */
export function costUsd(usage: TokenUsage, prices: PriceTable): number | null {
  const price = priceOf(usage.model, prices);
  if (!price) return null;
  const { inputTokens, outputTokens, cachedInputTokens } = usage;
  if (inputTokens === null || outputTokens === null) return null;
  if (cachedInputTokens === null && chargesCachedApart(price)) return null;
  const cached = cachedInputTokens ?? 0;
  const cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion;
  const perMillion = (inputTokens - cached) * price.inputPerMillion + cached * cachedPrice + outputTokens * price.outputPerMillion;
  return perMillion / 1_000_000;
}

/** The model's price; undefined for no model or one not in the table (own keys only: "constructor" must not find Object.prototype's). */
export function priceOf(model: string | null, prices: PriceTable): ModelPrice | undefined {
  return model !== null && Object.hasOwn(prices.models, model) ? prices.models[model] : undefined;
}

/** Whether cached input tokens cost other than the input price: only then does an unknown cached count make the cost unknown. */
export function chargesCachedApart(price: ModelPrice): boolean {
  return price.cachedInputPerMillion !== undefined && price.cachedInputPerMillion !== price.inputPerMillion;
}

/**
 * A run's cost: its attempts' usages (attemptedUsage) priced one by one by costUsd and summed, in the
 * order given. Null without a price table, when the run's usage is unknown (null), or as soon as one
 * attempt cannot be priced. The one pricing rule: evaluations and consolidation both price by it, so
 * `reev eval` and a run's consolidated `cost_usd` cannot disagree.
 */
export function runCostUsd(usages: readonly TokenUsage[] | null, prices: PriceTable | null): number | null {
  if (prices === null || usages === null) return null;
  return sumKnown(usages.map((u) => costUsd(u, prices))).total;
}
