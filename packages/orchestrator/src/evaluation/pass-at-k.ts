import { z } from "zod";
import { parseInput } from "./parse-input.js";
import { passCountShape, refinePassCount } from "./pass-rate.js";

/** n runs, c passes, and the number of attempts k asked about. */
export const ZPassAtKInput = refinePassCount(
  z.strictObject({ ...passCountShape, k: z.int("must be a whole number").min(1, "must be 1 or more") }),
);
export type PassAtKInput = z.infer<typeof ZPassAtKInput>;

/**
 * pass@k: the probability that at least one of k attempts, drawn without replacement from the n runs,
 * passes. The unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on
 * Code", eq. 1), 1 − C(n−c, k) / C(n, k), computed as their product 1 − ∏_{i=n−c+1}^{n} (1 − k/i):
 * the binomials overflow a double from n ≈ 1030 on, the product never leaves [0, 1].
 *
 * - k > n: null. The estimator needs k distinct runs; with fewer there is no unbiased value, and any
 *   extrapolation would be a guess.
 * - c = 0: 0. c = n: 1. n − c < k: 1 (every draw of k contains a pass).
 * - n = 0 falls under k > n (k is at least 1).
 */
export function passAtK(input: PassAtKInput): number | null {
  const { runs: n, passes: c, k } = parseInput(ZPassAtKInput, input, "pass@k input");
  if (k > n) return null;
  if (n - c < k) return 1;
  let allFail = 1;
  for (let i = n - c + 1; i <= n; i++) allFail *= 1 - k / i;
  return 1 - allFail;
}

/**
 * pass^k: the probability that all k attempts, drawn without replacement from the n runs, pass;
 * C(c, k) / C(n, k) as in τ-bench (Yao et al. 2024), computed as ∏_{i=0}^{k−1} (c−i)/(n−i) for the
 * same reason as passAtK. It is the reliability figure: pass@k rewards one lucky run, pass^k does not.
 *
 * - k > n: null (as for passAtK). c < k: 0. c = n: 1.
 */
export function passHatK(input: PassAtKInput): number | null {
  const { runs: n, passes: c, k } = parseInput(ZPassAtKInput, input, "pass^k input");
  if (k > n) return null;
  if (c < k) return 0;
  let allPass = 1;
  for (let i = 0; i < k; i++) allPass *= (c - i) / (n - i);
  return allPass;
}
