import type { Database } from "@reev/db";
import { type FlowPlan, PingPongExecutor, parseFlowPlan, ScriptedAgent } from "@reev/orchestrator";

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
