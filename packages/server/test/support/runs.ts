import type { Database } from "@reev/db";
import { consolidateExecution, type FlowPlan, PingPongExecutor, parseFlowPlan, ScriptedAgent } from "@reev/orchestrator";

/** A flow of `steps` steps, each one tool call; `failAt` fails that (critical) step. */
export function flowPlan(flowId: string, steps: number, options: { delayMs?: number; failAt?: number; prompt?: string } = {}): FlowPlan {
  return parseFlowPlan(
    JSON.stringify({
      flowId,
      prompt: options.prompt ?? `prompt of ${flowId}`,
      steps: Array.from({ length: steps }, (_, i) => ({
        stepId: `step_${i}`,
        prompt: `do step ${i}`,
        requiredTools: ["tool"],
        critical: i === options.failAt,
        script: [
          i === options.failAt
            ? { delayMs: options.delayMs ?? 0, fail: `step ${i} broke` }
            : {
                delayMs: options.delayMs ?? 0,
                score: 0.5,
                toolCalls: [{ toolName: "tool", input: { step: i, text: "ünïcode <b>&</b>" }, output: { ok: true }, durationMs: 3 }],
              },
        ],
      })),
    }),
  );
}

/** Runs a flow to the end with the scripted agent; returns its execution id. */
export async function runFlow(db: Database, plan: FlowPlan, options: { consolidate?: boolean } = {}): Promise<string> {
  const result = await new PingPongExecutor(db).execute(plan, new ScriptedAgent(), { consolidate: options.consolidate ?? true });
  return result.executionId;
}

/**
 * A finished, consolidated run written with the writer rather than run step by step (a 3,000-step
 * run takes seconds this way): each step two successful tool calls, except the `failed` ones.
 */
export async function storeRun(
  db: Database,
  options: { executionId: string; flowId: string; steps: number; stepId?: (i: number) => string; failed?: readonly number[] },
): Promise<void> {
  const { executionId, steps } = options;
  await db.writer.createExecutionSession({ executionId, flowId: options.flowId, agent: "scripted", prompt: `prompt of ${options.flowId}` });
  const at = new Date();
  const inputs = Array.from({ length: steps }, (_, i) => {
    const failed = options.failed?.includes(i) === true;
    return {
      stepIndex: i,
      stepId: options.stepId?.(i) ?? `step_${i}`,
      status: failed ? ("failed" as const) : ("success" as const),
      error: failed ? `step ${i} broke` : null,
      score: failed ? 0 : 1,
      durationMs: 5,
      startedAt: at,
      finishedAt: at,
      toolCalls: ["read", "write"].map((toolName) => ({
        attempt: 1,
        toolName,
        input: { step: i },
        output: { ok: !failed },
        success: !failed,
        durationMs: 2,
        error: failed ? `step ${i} broke` : null,
      })),
    };
  });
  // In batches, as a long run commits its steps over time.
  for (let i = 0; i < steps; i += 500) await db.writer.storeSteps(executionId, inputs.slice(i, i + 500));
  const failed = (options.failed?.length ?? 0) > 0;
  await db.writer.finishExecutionSession(executionId, {
    status: failed ? "failed" : "completed",
    error: failed ? "a step failed" : null,
    durationMs: 1_000,
    finishedAt: new Date(),
  });
  await consolidateExecution({ writer: db.writer }, executionId, {});
}
