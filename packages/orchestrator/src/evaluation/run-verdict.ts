// One run's `expect` verdicts taken together: the flow's own and every step's. `reev run`, `reev show`,
// the HTML report and the viewer judge a single run by it, in the words `reev eval` uses for its runs,
// so a check that failed in a step is never hidden behind a flow verdict that held.
import type { RunChecks } from "../mermaid/check-notes.js";
import { type CheckRef, checkLabel, failedInVerdict, runOutcomeText } from "./check-failures.js";

/** A failed check of one run, with the reason stored with its verdict. */
export type FailedRunCheck = CheckRef & { reason: string };

/** Every check of a run at once: how many there were, and which failed (the flow's first, then each step's in step order). */
export type RunVerdict = { passed: boolean; total: number; failed: FailedRunCheck[] };

/**
 * The whole run's verdict from its stored verdicts; null when it has none (its flow file had no
 * `expect`). `stepIdOf` names a step by its index (the stored step's id), as the eval report does.
 */
export function runVerdict(checks: RunChecks, stepIdOf: (stepIndex: number) => string | null | undefined): RunVerdict | null {
  const steps = [...checks.steps].sort(([a], [b]) => a - b);
  if (checks.flow === null && steps.length === 0) return null;
  const failed: FailedRunCheck[] = [
    ...failedInVerdict(checks.flow).map(({ check, reason }) => ({ stepId: null, check, reason })),
    ...steps.flatMap(([index, verdict]) =>
      failedInVerdict(verdict).map(({ check, reason }) => ({ stepId: stepIdOf(index) ?? `step ${index}`, check, reason })),
    ),
  ];
  const total = (checks.flow?.checks.length ?? 0) + steps.reduce((n, [, v]) => n + v.checks.length, 0);
  return { passed: failed.length === 0, total, failed };
}

/** The verdict in a line: "✓ 3 checks", or "✗ 1 of 3 failed: swap › args" (each failed check named as the eval report names it). */
export function runVerdictText(verdict: RunVerdict): string {
  if (verdict.passed) return `✓ ${verdict.total === 1 ? "1 check" : `${verdict.total} checks`}`;
  return `✗ ${verdict.failed.length} of ${verdict.total} failed: ${verdict.failed.map(checkLabel).join(", ")}`;
}

/**
 * How a run ended, its checks counted: its status alone when no check failed ("completed"), else
 * `reev eval`'s words for such a run ("completed, failed a check (✗ swap › args)", "failed (✗ args)").
 */
export function runOutcomeWithChecks(status: string, verdict: RunVerdict | null): string {
  if (!verdict || verdict.passed) return status;
  return runOutcomeText({ passed: false, status, failedChecks: verdict.failed });
}
