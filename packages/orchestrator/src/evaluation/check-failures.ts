import type { EvaluationExecutionRecord, StoredCheckResult } from "@reev/db";
import { counted } from "../counted.js";
import { MAX_TOP_ERRORS, rankOncePerRun } from "./aggregate-steps.js";
import type { ExpectResult } from "./check-expectations.js";
import type { FlowExpectations } from "./evaluation-configuration.js";
import type { RecordedChecks } from "./record-checks.js";

/** Which check: one of the flow's own `expect` (stepId null) or of a step's. */
export type CheckRef = { stepId: string | null; check: string };

/**
 * A check that failed in one run, with the reason stored with its verdict. `place` is where the check
 * sits: its step's index (-1 for the flow's own), then its place in the verdict, which lists checks
 * in one fixed order (checkExpectations).
 */
type FailedCheck = CheckRef & { reason: string; place: [number, number] };

/** A check that failed in some runs of a flow: the reason a completed run did not pass. */
export type CheckFailure = CheckRef & {
  /** Runs of the flow in which it failed. */
  runs: number;
  /** Its reasons, most common first, each counted once per run; at most MAX_TOP_ERRORS. */
  reasons: { reason: string; count: number }[];
  /** How many different reasons there were in all, so a report can say how many it did not show. */
  distinctReasons: number;
};

/** The check named for a completed run that should carry a verdict and carries none (its verdict was never stored). */
export const NO_VERDICT = { check: "expect", reason: "no verdict was recorded" } as const;

/** The failed checks of one stored verdict, with their stored reasons and their places in it. */
export const failedInVerdict = (verdict: StoredCheckResult | null): { check: string; reason: string; place: number }[] =>
  (verdict?.checks ?? []).flatMap((c, place) => (c.passed ? [] : [{ check: c.check, reason: c.reason ?? "failed", place }]));

/**
 * The checks a stored run failed, from its stored verdicts: the flow's first, then each step's in
 * step order. A completed run missing a verdict it must carry fails NO_VERDICT there: it cannot
 * pass without one (runPassed), and the report must say why.
 */
export function failedChecksOf(execution: EvaluationExecutionRecord, expected: FlowExpectations): FailedCheck[] {
  const completed = execution.status === "completed";
  const failed = (stepIndex: number, stepId: string | null, verdict: StoredCheckResult | null, required: boolean): FailedCheck[] =>
    verdict === null
      ? required && completed
        ? [{ stepId, ...NO_VERDICT, place: [stepIndex, 0] }]
        : []
      : failedInVerdict(verdict).map(({ place, ...c }) => ({ stepId, ...c, place: [stepIndex, place] }));
  return [
    ...failed(-1, null, execution.checks, expected.flow),
    ...execution.steps.flatMap((s) =>
      failed(s.stepIndex, s.stepId ?? `step ${s.stepIndex}`, s.checks, s.stepId !== null && expected.steps.includes(s.stepId)),
    ),
  ];
}

/**
 * Per check that failed in any of a flow's runs (one list per run): in how many, and why. The flow's
 * own checks first, then each step's in step order, each in its verdict's order: the same report
 * whichever run happened to be stored first.
 */
export function aggregateCheckFailures(runs: readonly (readonly FailedCheck[])[]): CheckFailure[] {
  const byCheck = new Map<string, { ref: CheckRef; place: [number, number]; reasons: string[][] }>();
  for (const failed of runs) {
    const mine = new Map<string, { ref: CheckRef; place: [number, number]; reasons: string[] }>();
    for (const { stepId, check, reason, place } of failed) {
      const key = JSON.stringify([stepId, check]);
      const seen = mine.get(key);
      if (seen) seen.reasons.push(reason);
      else mine.set(key, { ref: { stepId, check }, place, reasons: [reason] });
    }
    for (const [key, { ref, place, reasons }] of mine) {
      const all = byCheck.get(key);
      if (all) all.reasons.push(reasons);
      else byCheck.set(key, { ref, place, reasons: [reasons] });
    }
  }
  const sorted = [...byCheck.values()].sort((a, b) => a.place[0] - b.place[0] || a.place[1] - b.place[1]);
  return sorted.map(({ ref, reasons }) => {
    const ranked = rankOncePerRun(reasons);
    return {
      ...ref,
      runs: reasons.length,
      reasons: ranked.slice(0, MAX_TOP_ERRORS).map(({ error, count }) => ({ reason: error, count })),
      distinctReasons: ranked.length,
    };
  });
}

/** A check as the reports name it: `args` for the flow's own, `swap › args` for a step's. */
export const checkLabel = (ref: CheckRef): string => (ref.stepId === null ? ref.check : `${ref.stepId} › ${ref.check}`);

/**
 * A check failure in words, as every report says it: "args ✗ in 2 of 4 runs", and its reason when
 * there was one ("…: no successful swap call had …"); with several, `reasons` are the report's to list.
 */
export function checkFailureText(failure: CheckFailure, flowRuns: number): { headline: string; reasons: CheckFailure["reasons"] } {
  const headline = `${checkLabel(failure)} ✗ in ${failure.runs} of ${counted(flowRuns, "run")}`;
  const [only] = failure.reasons;
  if (only !== undefined && failure.distinctReasons === 1) return { headline: `${headline}: ${only.reason}`, reasons: [] };
  return { headline: `${headline}:`, reasons: failure.reasons };
}

/** How many reasons a report leaves out ("and 2 other reasons"); "" when it shows them all. */
export function otherReasons(failure: CheckFailure): string {
  const left = failure.distinctReasons - failure.reasons.length;
  return left > 0 ? `and ${counted(left, "other reason")}` : "";
}

/** The failed checks as a run's outcome lists them after its status: " (✗ args, ✗ swap › tools)"; "" for none. */
export const failedCheckMarks = (checks: readonly CheckRef[]): string =>
  checks.length ? ` (${checks.map((c) => `✗ ${checkLabel(c)}`).join(", ")})` : "";

/**
 * The checks a run failed, from the verdicts the executor just recorded (ExecutionResult.checks): the
 * flow's first, then each step's in step order, as failedChecksOf reads them back from the store. For
 * `reev eval`'s progress, before the report: a completed run that failed one does not pass.
 */
export function recordedFailedChecks(checks: RecordedChecks | null, stepIdOf: (stepIndex: number) => string): CheckRef[] {
  if (checks === null) return [];
  const failed = (stepId: string | null, verdict: ExpectResult) =>
    verdict.checks.flatMap((c) => (c.passed ? [] : [{ stepId, check: c.check }]));
  return [
    ...(checks.flow ? failed(null, checks.flow) : []),
    ...checks.steps.flatMap(({ stepIndex, result }) => failed(stepIdOf(stepIndex), result)),
  ];
}

/**
 * A run's outcome in the report's run list: "passed"; a completed run that failed checks says so and
 * which ("completed, failed a check (✗ args)"), as it did complete; any other its status, and the
 * checks it failed too. A report stored before statuses were kept says "did not pass".
 */
export function runOutcomeText(run: {
  passed: boolean;
  status?: string | undefined;
  failedChecks?: readonly CheckRef[] | undefined;
}): string {
  if (run.passed) return "passed";
  if (run.status === undefined) return "did not pass";
  const checks = run.failedChecks ?? [];
  const marks = failedCheckMarks(checks);
  if (run.status !== "completed") return `${run.status}${marks}`;
  return checks.length
    ? `completed, failed ${checks.length === 1 ? "a check" : `${checks.length} checks`}${marks}`
    : "completed, did not pass";
}
