import { z } from "zod";
import { type KnownSum, sumKnown } from "./summary-statistics.js";

const ZTokenCount = z.int("must be a whole number of tokens").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER, "is too large");

/**
 * What one agent attempt (or one step, its attempts summed) consumed, as the provider reported it.
 * A count the provider did not give is null, never 0: a step that used no tokens and a step whose
 * usage is unknown must not look alike. `cachedInputTokens` is the part of `inputTokens` served from
 * the provider's prompt cache (OpenAI's `prompt_tokens_details.cached_tokens`), not extra tokens.
 */
export const ZTokenUsage = z
  .strictObject({
    model: z.string().min(1, "must not be empty").nullable().default(null),
    inputTokens: ZTokenCount.nullable().default(null),
    outputTokens: ZTokenCount.nullable().default(null),
    cachedInputTokens: ZTokenCount.nullable().default(null),
  })
  .refine((u) => u.inputTokens === null || u.cachedInputTokens === null || u.cachedInputTokens <= u.inputTokens, {
    path: ["cachedInputTokens"],
    message: "must not exceed inputTokens (cached tokens are part of the input)",
  });
export type TokenUsage = z.infer<typeof ZTokenUsage>;

export type UsageTotals = { inputTokens: KnownSum; outputTokens: KnownSum; cachedInputTokens: KnownSum };

/** Sums each kind of token on its own; each total is null when one usage lacks that count (see sumKnown). */
export function sumUsage(usages: readonly TokenUsage[]): UsageTotals {
  return {
    inputTokens: sumKnown(usages.map((u) => u.inputTokens)),
    outputTokens: sumKnown(usages.map((u) => u.outputTokens)),
    cachedInputTokens: sumKnown(usages.map((u) => u.cachedInputTokens)),
  };
}

/**
 * The attempts of a run's attempted steps (a skipped step used nothing), or null when the run's usage
 * is unknown: no step was attempted, or one recorded no attempts. Consolidation's token totals and the
 * evaluation's usage both follow this one rule, so `reev show` and `reev eval` cannot drift apart.
 */
export function attemptedUsage<S extends { status: string | null }, A>(
  steps: readonly S[],
  attemptsOf: (step: S) => readonly A[],
): A[] | null {
  const attempted = steps.filter((s) => s.status !== "skipped");
  if (!attempted.length || attempted.some((s) => attemptsOf(s).length === 0)) return null;
  return attempted.flatMap(attemptsOf);
}
