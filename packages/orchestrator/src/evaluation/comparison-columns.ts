import { formatPercent } from "../format-percent.js";
import type { FailureCount, FlowComparison, StepComparison } from "./compare-reports.js";

/** A rate (a fraction) as the evaluation tables print it: see formatPercent; "—" when unknown. */
export const percent = (v: number | null | undefined): string => formatPercent(v == null ? v : v * 100);

/**
 * The columns of a comparison's table, in the terminal (`reev compare`) and in HTML (the viewer and
 * `--format html`): one vocabulary, so a user who reads one can read the other.
 */
export const COMPARISON_COLUMNS = [
  "flow / step",
  "verdict",
  "A → B",
  "p",
  "Δ pass^k",
  "Δ mean score",
  "Δ p50",
  "Δ tokens in / out per run",
  "Δ cost per run",
] as const;

/** So many of so many: passes of runs, failures of the runs where a step ran. */
type Count = { n: number; of: number };

/** A change of a count and its rate, counts first: "pass 3/3 → 4/4 (100.0% → 100.0%)"; "—" for a side without one. */
function countChange(word: string, counts: readonly [Count | null, Count | null], rates: readonly [number | null, number | null]): string {
  const [a, b] = counts.map((count) => (count ? `${count.n}/${count.of}` : "—"));
  return `${word} ${a} → ${b} (${percent(rates[0])} → ${percent(rates[1])})`;
}

const failureCount = (f: FailureCount | null): Count | null => (f ? { n: f.failed, of: f.ran } : null);

/** A flow's "A → B" cell: its passes and pass rates, what its p is computed from ("—" for a flow on one side only). */
export const passRateChange = ({ passes: p }: FlowComparison): string =>
  p
    ? countChange(
        "pass",
        [
          { n: p.baseline.passes, of: p.baseline.runs },
          { n: p.candidate.passes, of: p.candidate.runs },
        ],
        [p.baselineRate, p.candidateRate],
      )
    : "—";

/** A step's "A → B" cell: its failures and failure rates. */
export const failureRateChange = (s: StepComparison): string =>
  countChange("failure", [failureCount(s.failuresA), failureCount(s.failuresB)], [s.failureRateA, s.failureRateB]);
