import type { DatabaseWriter, SessionLog } from "@reev/db";
import type { FlowPlan } from "../flow-plan.js";
import { checkExpectations, type ExpectResult } from "./check-expectations.js";

export type RecordedChecks = { flow: ExpectResult | null; steps: { stepIndex: number; result: ExpectResult }[] };

/** The mean of the recorded step scores: what a flow's minScore is judged on; null when no step recorded one. */
function meanScore(steps: readonly SessionLog[]): number | null {
  const scores = steps.map((s) => s.score).filter((s): s is number => s !== null);
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
}

/**
 * Judges a plan's `expect` blocks against what was STORED for the run — the committed steps and their
 * tool calls, read back — and stores the verdicts with the steps and the execution in one
 * transaction. Reading back rather than using the agent's in-memory result means a verdict can only
 * describe what the database holds. A step with an `expect` block that was not stored (rolled back,
 * never reached) gets no verdict: there is nothing to judge, and readers count it as not passed.
 *
 * Returns null, writing nothing, when the plan has no `expect` block at all.
 */
export async function recordStoredChecks(writer: DatabaseWriter, executionId: string, plan: FlowPlan): Promise<RecordedChecks | null> {
  if (!plan.expect && !plan.steps.some((s) => s.expect)) return null;
  const stored = await writer.getSessionsForConsolidation(executionId);
  const byIndex = new Map(stored.map((s) => [s.stepIndex, s]));
  const steps = plan.steps.flatMap((step, stepIndex) => {
    const row = byIndex.get(stepIndex);
    return step.expect && row ? [{ stepIndex, result: checkExpectations(step.expect, row.toolCalls, row.score) }] : [];
  });
  const flow = plan.expect
    ? checkExpectations(
        plan.expect,
        stored.flatMap((s) => s.toolCalls),
        meanScore(stored),
      )
    : null;
  const checks = { flow, steps };
  await writer.recordChecks(executionId, checks);
  return checks;
}
