import { z } from "zod";
import { parseInput } from "./parse-input.js";

const ZCount = z.int("must be a whole number").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER, "is too large");

/** Adds the one rule every pass count obeys; a separate step because zod cannot extend a refined object. */
export function refinePassCount<S extends z.ZodType<{ runs: number; passes: number }>>(schema: S) {
  return schema.refine((v) => v.passes <= v.runs, { path: ["passes"], message: "must not exceed runs" });
}

export const passCountShape = { runs: ZCount, passes: ZCount };

/** How many runs there were and how many of them passed. */
export const ZPassCount = refinePassCount(z.strictObject(passCountShape));
export type PassCount = z.infer<typeof ZPassCount>;

/** The 97.5th percentile of the standard normal distribution (R: `qnorm(0.975)`): a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** A pass rate and its 95% Wilson score interval, all in [0, 1]. */
export type PassRate = { rate: number; low: number; high: number };

/**
 * passes / runs with its 95% Wilson score interval (Wilson 1927; Newcombe 1998, method 3). Wilson
 * rather than the textbook p ± z·√(p(1−p)/n) because agents are run 5 or 10 times, not thousands:
 * the textbook interval collapses to [1, 1] at 5/5 and [0, 0] at 0/5, claiming certainty that five
 * runs cannot give, and near them it reaches below 0 or above 1.
 *
 * Null when there are no runs: a rate of nothing is undefined, not 0.
 */
export function passRate(counts: PassCount): PassRate | null {
  const { runs: n, passes: c } = parseInput(ZPassCount, counts, "pass count");
  if (n === 0) return null;
  const p = c / n;
  const z2 = Z_95 * Z_95;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (Z_95 / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n passes the bound is exactly 0 or 1; floating point would give ±1e-17 instead.
  return { rate: p, low: c === 0 ? 0 : centre - halfWidth, high: c === n ? 1 : centre + halfWidth };
}
