import { z } from "zod";
import { parseInput } from "./parse-input.js";

// The support of the distribution is walked once, so the cost grows with the counts; ten million runs
// is far beyond any evaluation and still answers in well under a second.
const MAX_TABLE_TOTAL = 10_000_000;
const ZCell = z.int("must be a whole number").min(0, "must be 0 or more").max(MAX_TABLE_TOTAL, "is too large");

/** A 2×2 contingency table, rows first: `[[aPassed, aFailed], [bPassed, bFailed]]`. */
export const ZTable2x2 = z
  .tuple([z.tuple([ZCell, ZCell]), z.tuple([ZCell, ZCell])])
  .refine(([[a, b], [c, d]]) => a + b + c + d <= MAX_TABLE_TOTAL, `must hold at most ${MAX_TABLE_TOTAL} counts in all`);
export type Table2x2 = z.infer<typeof ZTable2x2>;

/**
 * R's tolerance (`fisher.test`, relErr = 1 + 1e-7): tables exactly as likely as the observed one
 * must count, and floating point would otherwise drop some of them (the symmetric tea-tasting table).
 */
const LOG_TIE_TOLERANCE = Math.log1p(1e-7);

/**
 * Fisher's exact test, two-sided: with the table's margins fixed, the top-left cell follows the
 * hypergeometric distribution; the p-value is the probability of every table no more likely than
 * the observed one (the definition R's `fisher.test` and SciPy's `fisher_exact` use).
 *
 * Exact, not an approximation: a chi-squared test misleads at the 5–10 runs an agent evaluation
 * has. The probabilities are walked in log space through the ratio of consecutive terms,
 * P(x+1)/P(x) = (r1−x)(c1−x) / ((x+1)(r2−c1+x+1)), then normalised by their sum, so neither
 * factorials nor binomials of thousands of runs are ever formed.
 */
export function fisherExactTest(table: Table2x2): number {
  const [[a, b], [c, d]] = parseInput(ZTable2x2, table, "2×2 table");
  const r1 = a + b;
  const r2 = c + d;
  const c1 = a + c;
  const lo = Math.max(0, c1 - r2);
  const hi = Math.min(r1, c1);
  const logWeights = new Float64Array(hi - lo + 1);
  let maxLog = 0;
  for (let x = lo; x < hi; x++) {
    const step = Math.log(r1 - x) + Math.log(c1 - x) - Math.log(x + 1) - Math.log(r2 - c1 + x + 1);
    logWeights[x - lo + 1] = logWeights[x - lo]! + step;
    maxLog = Math.max(maxLog, logWeights[x - lo + 1]!);
  }
  const observed = logWeights[a - lo]!;
  let total = 0;
  let asExtreme = 0;
  for (const logWeight of logWeights) {
    const weight = Math.exp(logWeight - maxLog);
    total += weight;
    if (logWeight <= observed + LOG_TIE_TOLERANCE) asExtreme += weight;
  }
  return Math.min(1, asExtreme / total);
}
