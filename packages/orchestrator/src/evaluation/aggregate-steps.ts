import { z } from "zod";

export const STEP_RUN_OUTCOMES = ["passed", "failed", "skipped"] as const;

/**
 * One step of one run, as the report needs it. `passed`: the step succeeded and its expect checks
 * held. `failed`: it failed, timed out, ended in an unknown state, or a check failed. `skipped`: it
 * never ran (an earlier critical step stopped the run, or the run was cancelled).
 */
export const ZStepRun = z.strictObject({
  stepId: z.string().min(1, "must not be empty"),
  outcome: z.enum(STEP_RUN_OUTCOMES),
  /**
   * Why it failed: the step's own error. Its failed checks are the report's `checkFailures`, with their
   * reasons; a step that failed only those says CHECKS_FAILED. Only failed steps' errors are counted.
   */
  errors: z.array(z.string()).default([]),
  /** A failed step that ran out of its time limit: counted among the failures, and said apart from them. */
  timedOut: z.boolean().default(false),
});
export type StepRun = z.infer<typeof ZStepRun>;

export type ErrorCount = { error: string; count: number };

export type StepReport = {
  stepId: string;
  /** Runs in which the step appears. */
  runs: number;
  passed: number;
  failed: number;
  /** Of the failed runs, those in which the step timed out (a slow tool or agent, not a wrong answer). */
  timedOut: number;
  skipped: number;
  /** failed / (passed + failed): skipped runs say nothing about the step. Null when it never ran. */
  failureRate: number | null;
  /** Passed in some runs and failed in others. */
  flaky: boolean;
  /** The most common errors of its failed runs, most frequent first, each counted once per run. */
  topErrors: ErrorCount[];
  /** How many different errors there were in all, so a report can say how many it did not show. */
  distinctErrors: number;
};

export const MAX_TOP_ERRORS = 5;
/** Counted in place of an error when a failed step recorded none, so the counts add up to the failures. */
export const NO_ERROR_RECORDED = "(no error recorded)";
/**
 * Counted in place of an error when a step succeeded but failed its `expect` checks: their reasons are
 * the report's checks that failed, and listed here too they said each failure twice.
 */
export const CHECKS_FAILED = "(no error: its expect checks failed; see the checks that failed)";

/**
 * Per step, over the runs of one flow: steps are aligned by stepId and listed in the order they first
 * appear. Errors are grouped by their exact text: rewriting them to merge "similar" ones would be a
 * guess at what the agent meant.
 */
export function aggregateSteps(runs: readonly (readonly StepRun[])[]): StepReport[] {
  const byStep = new Map<string, StepRun[]>();
  for (const steps of runs) {
    for (const step of steps) {
      const seen = byStep.get(step.stepId);
      if (seen) seen.push(step);
      else byStep.set(step.stepId, [step]);
    }
  }
  return [...byStep].map(([stepId, stepRuns]) => reportStep(stepId, stepRuns));
}

function reportStep(stepId: string, stepRuns: readonly StepRun[]): StepReport {
  const count = (outcome: StepRun["outcome"]) => stepRuns.filter((s) => s.outcome === outcome).length;
  const passed = count("passed");
  const failed = count("failed");
  const ranked = rankOncePerRun(
    stepRuns.filter((s) => s.outcome === "failed").map((s) => (s.errors.length ? s.errors : [NO_ERROR_RECORDED])),
  );
  return {
    stepId,
    runs: stepRuns.length,
    passed,
    failed,
    timedOut: stepRuns.filter((s) => s.outcome === "failed" && s.timedOut).length,
    skipped: count("skipped"),
    failureRate: passed + failed === 0 ? null : failed / (passed + failed),
    flaky: passed > 0 && failed > 0,
    topErrors: ranked.slice(0, MAX_TOP_ERRORS),
    distinctErrors: ranked.length,
  };
}

/**
 * Texts counted once per run they appear in (a run that says one thing twice says it once), most
 * frequent first, ties in text order so a report reads the same every time.
 */
export function rankOncePerRun(runs: readonly (readonly string[])[]): ErrorCount[] {
  const counts = new Map<string, number>();
  for (const texts of runs) for (const text of new Set(texts)) counts.set(text, (counts.get(text) ?? 0) + 1);
  return [...counts]
    .map(([error, count]) => ({ error, count }))
    .sort((a, b) => b.count - a.count || (a.error < b.error ? -1 : a.error > b.error ? 1 : 0));
}
