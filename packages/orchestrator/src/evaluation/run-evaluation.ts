import { randomBytes } from "node:crypto";
import type { Database } from "@reev/db";
import type { Agent } from "../agents/agent.js";
import { errorMessage } from "../errors.js";
import type { FlowPlan } from "../flow-plan.js";
import { fitId } from "../ids.js";
import { type ExecutionEvent, type ExecutionResult, PingPongExecutor } from "../ping-pong-executor.js";
import type { FlowExpectations } from "./evaluation-configuration.js";

export type EvaluationRunOutcome =
  | { flowId: string; run: number; executionId: string; result: ExecutionResult; error: null }
  /** The run could not be recorded to its end (the database failed): it is counted as not passed if it was stored at all. */
  | { flowId: string; run: number; executionId: string; result: null; error: string };

export type RunEvaluationOptions = {
  evaluationId: string;
  plans: readonly FlowPlan[];
  /** Runs per flow (`--repeat`). */
  repeat: number;
  /** Runs at once, and so agent calls at once (`--concurrency`). */
  concurrency: number;
  /** The agent of repetition `run` (1-based): the scripted agent varies its script by it. */
  agentFor: (run: number) => Agent;
  /** Aborted on Ctrl-C: no run starts after it, and the running ones are cancelled. */
  signal?: AbortSignal;
  onEvent?: (event: ExecutionEvent) => void;
  /** Called as each run starts, so a Ctrl-C notice can say whether any has. */
  onRunStart?: () => void;
  onRunSettled?: (outcome: EvaluationRunOutcome) => void;
  /** The executor's own options (a test's clock, say). */
  executor?: ConstructorParameters<typeof PingPongExecutor>[1];
};

/** What a plan's expect blocks require of each run, kept in the evaluation's configuration. */
export function expectationsOfPlan(plan: FlowPlan): FlowExpectations {
  return { flowId: plan.flowId, flow: plan.expect !== undefined, steps: plan.steps.filter((s) => s.expect).map((s) => s.stepId) };
}

/**
 * Runs every plan `repeat` times, at most `concurrency` at once, through one executor over one
 * database handle, each execution pointing to the evaluation. One run's failure (even one the
 * database refused) never stops the others. Tasks are interleaved by repetition (all flows' run 1,
 * then run 2, …) so an interrupted evaluation has spread its runs over every flow.
 *
 * `completedBeforeAbort` lists the runs that ended before the signal fired: those, and only those,
 * can be counted when the evaluation was interrupted; a run the interrupt cancelled says nothing
 * about the agent.
 */
export async function runEvaluation(
  db: Pick<Database, "writer">,
  options: RunEvaluationOptions,
): Promise<{ outcomes: EvaluationRunOutcome[]; completedBeforeAbort: Set<string>; interrupted: boolean }> {
  const executor = new PingPongExecutor(db, options.executor);
  const tasks = Array.from({ length: options.repeat }, (_, i) => options.plans.map((plan) => ({ plan, run: i + 1 }))).flat();
  const outcomes: EvaluationRunOutcome[] = [];
  const completedBeforeAbort = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !options.signal?.aborted) {
      const { plan, run } = tasks[next++]!;
      const executionId = fitId(`exec_${plan.flowId}`, `_r${run}_${Date.now()}_${randomBytes(3).toString("hex")}`);
      let outcome: EvaluationRunOutcome;
      options.onRunStart?.();
      try {
        const result = await executor.execute(plan, options.agentFor(run), {
          executionId,
          evaluationId: options.evaluationId,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        });
        outcome = { flowId: plan.flowId, run, executionId, result, error: null };
      } catch (error) {
        outcome = { flowId: plan.flowId, run, executionId, result: null, error: errorMessage(error) };
      }
      if (!options.signal?.aborted) completedBeforeAbort.add(executionId);
      outcomes.push(outcome);
      try {
        options.onRunSettled?.(outcome);
      } catch {
        // A progress listener is an observer: its failure must not stop the evaluation.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, tasks.length) }, worker));
  return { outcomes, completedBeforeAbort, interrupted: options.signal?.aborted ?? false };
}
