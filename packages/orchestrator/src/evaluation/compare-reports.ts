import { counted } from "../counted.js";
import type { FlowReport } from "./aggregate-flow.js";
import type { StepReport } from "./aggregate-steps.js";
import { type ComparisonVerdict, comparePassCounts, PASS_COUNT_TEST, type PassComparison } from "./compare-pass-counts.js";
import type { KnownSum } from "./summary-statistics.js";

/** B − A, or null when either side is unknown: a delta is never computed from a guess. */
const delta = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : b - a);

/**
 * A run's mean of a sum over runs: evaluations with different --repeat (or cut short) hold different
 * numbers of runs, so their totals are not comparable and their means are. Null when any run's is unknown.
 */
const perRun = (sum: KnownSum | undefined) => (sum == null || sum.total === null || sum.known === 0 ? null : sum.total / sum.known);

/**
 * The delta of two means, to 12 decimals: dividing equal per-run costs by different run counts leaves
 * float noise (1e-18 dollars) that would read as a change. Nothing real is that small.
 */
const perRunDelta = (a: KnownSum | undefined, b: KnownSum | undefined) => {
  const d = delta(perRun(a), perRun(b));
  if (d === null) return null;
  const rounded = Math.round(d * 1e12) / 1e12;
  return rounded === 0 ? 0 : rounded; // 0, not the -0 a rounded small negative gives
};

/** A step's failures over the runs where it ran (passed or failed; skipped runs say nothing about it). */
export type FailureCount = { failed: number; ran: number };

export type StepComparison = {
  stepId: string;
  /** The counts behind the failure rates; null on a side without the step. */
  failuresA: FailureCount | null;
  failuresB: FailureCount | null;
  /** Failure rates (failed / ran) of A and B, and B − A. */
  failureRateA: number | null;
  failureRateB: number | null;
  failureRateDelta: number | null;
  /** The step's passes over the runs where it ran, compared like the flows' (null when it ran on neither side). */
  passes: PassComparison | null;
};

export type FlowComparison = {
  flowId: string;
  /** Present on one side only: nothing to compare. */
  only: "a" | "b" | null;
  passes: PassComparison | null;
  /** The k of pass^k on each side (null where the flow is absent). */
  kA: number | null;
  kB: number | null;
  /** Null unless both sides used the same k: pass^3 and pass^5 measure different things. */
  passHatKDelta: number | null;
  meanScoreDelta: number | null;
  p50DurationDelta: number | null;
  p95DurationDelta: number | null;
  /** Per run (see perRun), not totals. */
  inputTokensPerRunDelta: number | null;
  outputTokensPerRunDelta: number | null;
  cachedInputTokensPerRunDelta: number | null;
  costUsdPerRunDelta: number | null;
  steps: StepComparison[];
};

export type ReportComparison = {
  test: typeof PASS_COUNT_TEST;
  flows: FlowComparison[];
  /** Flows and steps with a credible regression or improvement; everything else is "no credible difference". */
  flagged: { flowId: string; stepId: string | null; verdict: Exclude<ComparisonVerdict, "no credible difference"> }[];
  /** What the reader must know to read the deltas: which figures could not be compared, and why. */
  notes: string[];
};

type ComparableFlow = Pick<
  FlowReport,
  "flowId" | "k" | "runs" | "passes" | "passHatK" | "score" | "durationMs" | "inputTokens" | "outputTokens" | "costUsd" | "steps"
> &
  // Optional: summaries stored before cached tokens were counted do not have it.
  Partial<Pick<FlowReport, "cachedInputTokens">>;

function compareSteps(a: readonly StepReport[], b: readonly StepReport[]): StepComparison[] {
  const ids = [...new Set([...a.map((s) => s.stepId), ...b.map((s) => s.stepId)])];
  return ids.map((stepId) => {
    const sa = a.find((s) => s.stepId === stepId);
    const sb = b.find((s) => s.stepId === stepId);
    const counts = (s: StepReport | undefined) => ({ runs: s ? s.passed + s.failed : 0, passes: s?.passed ?? 0 });
    const ca = counts(sa);
    const cb = counts(sb);
    const failures = (s: StepReport | undefined) => (s ? { failed: s.failed, ran: s.passed + s.failed } : null);
    return {
      stepId,
      failuresA: failures(sa),
      failuresB: failures(sb),
      failureRateA: sa?.failureRate ?? null,
      failureRateB: sb?.failureRate ?? null,
      failureRateDelta: delta(sa?.failureRate, sb?.failureRate),
      // A side where the step never ran has no rate: nothing to judge (see comparePassCounts).
      passes: ca.runs === 0 || cb.runs === 0 ? null : comparePassCounts({ baseline: ca, candidate: cb }),
    };
  });
}

function compareFlow(flowId: string, a: ComparableFlow | undefined, b: ComparableFlow | undefined): FlowComparison {
  return {
    flowId,
    only: a && b ? null : a ? "a" : "b",
    passes:
      a && b && a.runs > 0 && b.runs > 0
        ? comparePassCounts({ baseline: { runs: a.runs, passes: a.passes }, candidate: { runs: b.runs, passes: b.passes } })
        : null,
    kA: a?.k ?? null,
    kB: b?.k ?? null,
    passHatKDelta: a?.k === b?.k ? delta(a?.passHatK, b?.passHatK) : null,
    meanScoreDelta: delta(a?.score.mean, b?.score.mean),
    p50DurationDelta: delta(a?.durationMs.p50, b?.durationMs.p50),
    p95DurationDelta: delta(a?.durationMs.p95, b?.durationMs.p95),
    inputTokensPerRunDelta: perRunDelta(a?.inputTokens, b?.inputTokens),
    outputTokensPerRunDelta: perRunDelta(a?.outputTokens, b?.outputTokens),
    cachedInputTokensPerRunDelta: perRunDelta(a?.cachedInputTokens, b?.cachedInputTokens),
    costUsdPerRunDelta: perRunDelta(a?.costUsd, b?.costUsd),
    steps: a && b ? compareSteps(a.steps, b.steps) : [],
  };
}

/**
 * A (the baseline) against B (the candidate), flows and steps aligned by id, in A's order then B's
 * new ones. Pass rates are judged by Fisher's exact test on the pass counts (comparePassCounts): a
 * regression or improvement is flagged only at p < 0.05, every other difference is "no credible
 * difference". The other figures are plain deltas, B − A, null when either side is unknown; tokens and
 * cost per run, and pass^k only between equal k.
 */
export function compareReports(a: readonly ComparableFlow[], b: readonly ComparableFlow[]): ReportComparison {
  const ids = [...new Set([...a.map((f) => f.flowId), ...b.map((f) => f.flowId)])];
  const pairs = ids.map((flowId) => ({ flowId, fa: a.find((f) => f.flowId === flowId), fb: b.find((f) => f.flowId === flowId) }));
  const flows = pairs.map(({ flowId, fa, fb }) => compareFlow(flowId, fa, fb));
  // Flows on both sides that a side counted no run of (an evaluation interrupted before it got there).
  const uncounted = pairs.flatMap(({ flowId, fa, fb }) => {
    const empty = fa && fb ? [fa.runs === 0 ? "A" : "", fb.runs === 0 ? "B" : ""].filter(Boolean) : [];
    return empty.length ? [{ flowId, empty }] : [];
  });
  // Sides that counted some runs of a flow, but fewer than their k (cut short): their k is what was
  // configured, not what was measured, and their pass^k is "—".
  const short = pairs.flatMap(({ flowId, fa, fb }) =>
    fa && fb
      ? [
          { side: "A", f: fa },
          { side: "B", f: fb },
        ].flatMap(({ side, f }) => (f.runs > 0 && f.runs < f.k ? [{ flowId, side, runs: f.runs, k: f.k }] : []))
      : [],
  );
  const flagged: ReportComparison["flagged"] = [];
  for (const flow of flows) {
    if (flow.passes && flow.passes.verdict !== "no credible difference")
      flagged.push({ flowId: flow.flowId, stepId: null, verdict: flow.passes.verdict });
    for (const step of flow.steps) {
      if (step.passes && step.passes.verdict !== "no credible difference")
        flagged.push({ flowId: flow.flowId, stepId: step.stepId, verdict: step.passes.verdict });
    }
  }
  // Per run and totals differ only where the sides counted different numbers of runs of a flow.
  const unequalRuns = pairs.some(({ fa, fb }) => fa && fb && fa.runs !== fb.runs);
  return { test: PASS_COUNT_TEST, flows, flagged, notes: comparisonNotes(flows, uncounted, short, unequalRuns) };
}

function comparisonNotes(
  flows: readonly FlowComparison[],
  uncounted: readonly { flowId: string; empty: readonly string[] }[],
  short: readonly { flowId: string; side: string; runs: number; k: number }[],
  unequalRuns: boolean,
): string[] {
  const kPairs = new Set(flows.filter((f) => f.kA !== null && f.kB !== null && f.kA !== f.kB).map((f) => `A k = ${f.kA}, B k = ${f.kB}`));
  // Every row says "only in A" or "only in B" then, and its dashes would look like missing data.
  const nothingShared = flows.length > 0 && flows.every((f) => f.only !== null);
  return [
    ...(nothingShared ? ["A and B have no flow in common, so nothing is compared: pick two evaluations or runs of the same flows."] : []),
    ...uncounted.map(
      ({ flowId, empty }) =>
        `${empty.join(" and ")} counted no run of ${flowId}, so its pass rates are not compared (no verdict, no p): a side interrupted before the flow ran has nothing to judge.`,
    ),
    ...[...kPairs].map(
      (pair) => `Δ pass^k is not compared where k differs (${pair}): pass^k of different k are different measures. Compare the pass rates.`,
    ),
    ...short.map(
      ({ flowId, side, runs, k }) =>
        `${side} counted ${counted(runs, "run")} of ${flowId}, fewer than its k = ${k} (it was cut short), so its pass^k is "—" and Δ pass^k is not compared there.`,
    ),
    ...(unequalRuns ? ["Tokens and cost are compared per run, as the two sides hold different numbers of runs."] : []),
  ];
}
