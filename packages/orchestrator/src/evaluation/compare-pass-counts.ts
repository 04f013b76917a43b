import { z } from "zod";
import { OrchestratorError } from "../errors.js";
import { fisherExactTest } from "./fisher-exact-test.js";
import { parseInput } from "./parse-input.js";
import { type PassCount, ZPassCount } from "./pass-rate.js";

/** A difference is flagged only below this p-value; above it, chance explains it too well. */
export const SIGNIFICANCE_LEVEL = 0.05;
export const PASS_COUNT_TEST = "Fisher's exact test (two-sided)";

export type ComparisonVerdict = "regression" | "improvement" | "no credible difference";

export type PassComparison = {
  verdict: ComparisonVerdict;
  /** The test behind the verdict, named in every report. */
  test: typeof PASS_COUNT_TEST;
  pValue: number;
  /** The counts the rates and p are computed from: without them 3/3 → 4/4 reads as 100% → 100%, p = 1, from nowhere. */
  baseline: PassCount;
  candidate: PassCount;
  baselineRate: number;
  candidateRate: number;
  /** candidateRate − baselineRate. */
  delta: number;
  /** The verdict in plain words, with what to do when it is inconclusive. */
  reason: string;
};

/** A comparison's p-value as the CLI and HTML tables print it; "—" where none was computed (a flow or step on one side only). */
export const pValueText = (passes: PassComparison | null | undefined): string => (passes ? passes.pValue.toFixed(4) : "—");

const ZComparisonInput = z.strictObject({ baseline: ZPassCount, candidate: ZPassCount });
export type ComparisonInput = z.infer<typeof ZComparisonInput>;

const rateOf = ({ runs, passes }: PassCount) => passes / runs;

/**
 * Compares the pass counts of a baseline and a candidate (two evaluation runs of one flow, or one
 * step's passes over the runs where it ran). A regression or an improvement is flagged only when
 * Fisher's exact test gives p < 0.05; any other difference is reported as "no credible difference",
 * because 4/5 against 3/5 says nothing about which agent is better. A side without runs has no rate,
 * and a test over it would give p = 1, a verdict made of nothing: it is refused (the reports leave
 * such a flow or step uncompared, and say why).
 */
export function comparePassCounts(input: ComparisonInput): PassComparison {
  const { baseline, candidate } = parseInput(ZComparisonInput, input, "pass count comparison");
  for (const [side, count] of [
    ["baseline", baseline],
    ["candidate", candidate],
  ] as const) {
    if (count.runs === 0)
      throw new OrchestratorError("INVALID_ARGUMENT", `The ${side} has no runs: there is no pass rate to compare`, {
        path: `${side}.runs`,
      });
  }
  const pValue = fisherExactTest([
    [baseline.passes, baseline.runs - baseline.passes],
    [candidate.passes, candidate.runs - candidate.passes],
  ]);
  const baselineRate = rateOf(baseline);
  const candidateRate = rateOf(candidate);
  const delta = candidateRate - baselineRate;
  const { verdict, reason } = judgeDifference(baseline, candidate, delta, pValue);
  return { verdict, test: PASS_COUNT_TEST, pValue, baseline, candidate, baselineRate, candidateRate, delta, reason };
}

function judgeDifference(
  baseline: PassCount,
  candidate: PassCount,
  delta: number,
  pValue: number,
): { verdict: ComparisonVerdict; reason: string } {
  const counts = `${baseline.passes}/${baseline.runs} → ${candidate.passes}/${candidate.runs} passed`;
  const evidence = `${PASS_COUNT_TEST}, ${pValue < 0.0001 ? "p < 0.0001" : `p = ${pValue.toFixed(4)}`}`;
  if (pValue < SIGNIFICANCE_LEVEL) {
    const verdict = delta < 0 ? "regression" : "improvement";
    return { verdict, reason: `${counts}: a credible ${verdict} (${evidence} < ${SIGNIFICANCE_LEVEL})` };
  }
  // "Could be chance" would have the reader hunt for a difference that is not there.
  if (delta === 0) return { verdict: "no credible difference", reason: `${counts}: the same pass rate on both sides (${evidence})` };
  return {
    verdict: "no credible difference",
    reason: `${counts}: the difference could be chance (${evidence} ≥ ${SIGNIFICANCE_LEVEL}); more runs of both would tell`,
  };
}
