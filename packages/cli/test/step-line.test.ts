import { test, testBackends } from "@reev/db/testing";
import { PingPongExecutor, ScriptedAgent, ZFlowPlan } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { stepLine } from "../src/format.js";

describe.each(testBackends())("a step's progress line on $name", (backend) => {
  test.override({ backend });

  test("counts the tool calls of every attempt, as they are stored, not only the last attempt's", async ({ db }) => {
    const executionId = `step-line-${backend.name}-${Date.now()}`;
    const flow = ZFlowPlan.parse({
      flowId: "step-line",
      prompt: "swap",
      steps: [
        {
          stepId: "swap",
          prompt: "{{prompt}}",
          requiredTools: ["jupiter_swap"],
          retry: { attempts: 2, backoffMs: 0, maxBackoffMs: 0 },
          script: [
            { toolCalls: [{ toolName: "jupiter_swap", success: false, error: "slippage exceeded" }] },
            {
              toolCalls: [
                { toolName: "jupiter_swap", output: { tx: "sig" } },
                { toolName: "jupiter_quote", output: {} },
              ],
            },
          ],
        },
      ],
    });
    const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
    const [step] = result.stepResults;
    const stored = await db.writer.getSessionsForConsolidation(executionId);
    expect(stored.map((s) => s.toolCalls.length)).toEqual([3]);
    expect(step?.attempts).toBe(2);
    expect(stepLine(step!)).toMatch(/^✅ success step 0 swap \(\d+ms after 2 attempts, 3 tool calls\)$/);
  });
});
