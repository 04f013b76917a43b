import type { FlowComparison, StepComparison } from "./compare-reports.js";

/** A rate as the evaluation tables print it: one decimal, "—" when unknown. */
export const percent = (v: number | null | undefined): string => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);

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

/** A flow's "A → B" cell: its pass rates ("—" for a flow on one side only). */
export const passRateChange = (f: FlowComparison): string =>
  f.passes ? `pass ${percent(f.passes.baselineRate)} → ${percent(f.passes.candidateRate)}` : "—";

/** A step's "A → B" cell: its failure rates. */
export const failureRateChange = (s: StepComparison): string => `failure ${percent(s.failureRateA)} → ${percent(s.failureRateB)}`;
