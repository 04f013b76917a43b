import type { Database } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { consolidateAgain, getConsolidationStatus } from "../src/consolidation.js";
import { type ExecutionEvent, type ExecutionResult, PingPongExecutor } from "../src/ping-pong-executor.js";
import { eventsOf, plan, recordingAgent, uid } from "./fixtures/executor/support.js";

describe.each(testBackends())("PingPongExecutor atomic runs and concurrency on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  const countSteps = (executionId: string, state?: "pending" | "committed") =>
    prismaClientOf(db).stepSession.count({ where: { executionId, ...(state ? { state } : {}) } });

  describe("atomic: true", () => {
    it("a transaction recovered by someone else mid-run: later steps are refused, not committed, and the run ends rolled back", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("atomic-recovered"),
        atomic: true,
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
          { stepId: "c", prompt: "p", critical: true },
        ],
      });
      const agent = recordingAgent(async (step, context, signal) => {
        // While step b's agent thinks, an operator runs `reev recover --older-than 0`.
        if (step.stepId === "b") await db.writer.recoverOpenTransactions();
        return new ScriptedAgent().run(step, context, signal);
      });
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId });
      // The recovery rolled the transaction back; the executor's own rollback, pinned to it, finds it
      // already rolled back — so the record says what happened to the run's steps: all undone.
      expect(result.status).toBe("rolled_back");
      expect(result.error).toMatch(/could not record step 1 \(b\): .*no longer open/);
      expect(result.stepResults.map((s) => s.status)).toEqual(["success", "success", "skipped"]);
      expect(await countSteps(executionId)).toBe(0);
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({ status: "rolled_back", openTransaction: null });
    });

    it("a critical failure rolls every step back: nothing committed, nothing pending, execution rolled_back, consolidation skipped", async () => {
      const executionId = uid("exec");
      const pendingSeenByAgent: number[] = [];
      const flow = plan({
        flowId: uid("atomic-fail"),
        atomic: true,
        steps: [
          { stepId: "balance", prompt: "p", requiredTools: ["get_balance"] },
          { stepId: "approve", prompt: "p" },
          {
            stepId: "swap",
            prompt: "p",
            critical: true,
            requiredTools: ["jupiter_swap"],
            script: [{ toolCalls: [{ toolName: "jupiter_swap", success: false, error: "Invalid parameters" }] }],
          },
          { stepId: "lend", prompt: "p" },
        ],
      });
      const agent = recordingAgent(async (step, context, signal) => {
        pendingSeenByAgent.push(await countSteps(executionId, "pending"));
        return new ScriptedAgent().run(step, context, signal);
      });
      const events: ExecutionEvent[] = [];
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, onEvent: (e) => events.push(e) });

      // During the run the steps were stored, as pending.
      expect(pendingSeenByAgent).toEqual([0, 1, 2]);
      expect(eventsOf(events, "step-finished").map((e) => e.step.status)).toEqual(["success", "success", "failed", "skipped"]);

      expect(result.status).toBe("rolled_back");
      expect(result.error).toBe("Stopped: critical step swap failed: Invalid parameters; every step was rolled back");
      expect(result.completedSteps).toBe(2);
      expect(result.consolidatedSessionId).toBeNull();
      expect(result.consolidation).toEqual({
        status: "skipped",
        error: "the execution was rolled back, so it has no steps to consolidate",
        metadata: null,
        costGaps: [],
      });

      expect(await countSteps(executionId)).toBe(0);
      expect(await prismaClientOf(db).toolCall.count({ where: { executionId } })).toBe(0);
      expect(await db.writer.getSessionsForConsolidation(executionId)).toEqual([]);
      expect(await db.writer.getConsolidatedSessionsByExecution(executionId)).toEqual([]);
      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({ status: "rolled_back", error: result.error, openTransaction: null });
      expect(execution!.consolidation.status).toBe("pending");
      expect(execution!.metadata).toMatchObject({ atomic: true });
      // Stored as never consolidated; read as the run said it: skipped, for the same reason, never
      // "pending" (a consolidation that will never come).
      const report = await getConsolidationStatus(db, executionId);
      expect({ status: report.status, error: report.error }).toEqual({ status: "skipped", error: result.consolidation.error });
      // Asked to consolidate it anyway, it refuses and stores nothing: the views keep saying skipped.
      await expect(consolidateAgain(db, executionId)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringContaining("was rolled back: every step was undone, so there is nothing to consolidate"),
      });
      expect(await db.writer.getConsolidatedSessionsByExecution(executionId)).toEqual([]);
      expect((await getConsolidationStatus(db, executionId)).status).toBe("skipped");
    });

    it("a critical timeout in an atomic run also rolls back", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("atomic-to"),
        atomic: true,
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p", critical: true, timeoutMs: 40, script: [{ hang: true }] },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId });
      expect(result.status).toBe("rolled_back");
      expect(result.error).toMatch(/^Stopped: critical step b timed out: .*; every step was rolled back$/);
      expect(await countSteps(executionId)).toBe(0);
    });

    it("an atomic success commits everything at the end, and nothing is visible during the run", async () => {
      const executionId = uid("exec");
      const visibleDuringRun: number[][] = [];
      const checks: Promise<unknown>[] = [];
      const flow = plan({
        flowId: uid("atomic-ok"),
        atomic: true,
        steps: [
          { stepId: "a", prompt: "p", requiredTools: ["t"] },
          { stepId: "b", prompt: "p" },
          { stepId: "c", prompt: "p", script: [{ fail: "non-critical" }] },
          { stepId: "d", prompt: "p" },
        ],
      });
      const agent = recordingAgent(async (step, context, signal) => {
        await Promise.all(checks); // the checks started at the previous step-finished have run
        visibleDuringRun.push((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.stepIndex));
        return new ScriptedAgent().run(step, context, signal);
      });
      const atFinish: number[][] = [];
      const result = await new PingPongExecutor(db).execute(flow, agent, {
        executionId,
        onEvent: (e) => {
          if (e.type === "step-finished" && e.step.stepIndex < 3) {
            checks.push(db.writer.getSessionsForConsolidation(executionId).then((s) => atFinish.push(s.map((x) => x.stepIndex))));
          }
        },
      });
      expect(visibleDuringRun).toEqual([[], [], [], []]);
      expect(atFinish).toEqual([[], [], []]);

      // Non-critical failure: everything is kept (committed), the run ends failed, not rolled back.
      expect(result.status).toBe("failed");
      expect(await countSteps(executionId, "committed")).toBe(4);
      expect(await countSteps(executionId, "pending")).toBe(0);
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => [s.stepIndex, s.status])).toEqual([
        [0, "success"],
        [1, "success"],
        [2, "failed"],
        [3, "success"],
      ]);
      // Committed together: one commit time for all.
      expect(new Set(stored.map((s) => s.timestamp.getTime())).size).toBe(1);
      expect(result.consolidation.status).toBe("completed");
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({ status: "failed", openTransaction: null });
    });

    it("an atomic run in which every step succeeds is completed", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("atomic-all"),
        atomic: true,
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      expect(result.status).toBe("completed");
      expect(await countSteps(executionId, "committed")).toBe(2);
    });

    it("a cancelled atomic run rolls back, ends cancelled, and consolidates its (no) committed steps", async () => {
      const executionId = uid("exec");
      const run = new AbortController();
      const flow = plan({
        flowId: uid("atomic-cancel"),
        atomic: true,
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p", script: [{ hang: true }] },
          { stepId: "c", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), {
        executionId,
        signal: run.signal,
        onEvent: (e) => {
          if (e.type === "step-started" && e.stepId === "b") setTimeout(() => run.abort(), 20);
        },
      });
      expect(result.status).toBe("cancelled");
      expect(result.error).toBe("Stopped: cancelled; every step was rolled back");
      expect(await countSteps(executionId)).toBe(0);
      // Finished with nothing committed: the consolidation says so, instead of staying pending.
      expect(result.consolidation).toMatchObject({ status: "completed", metadata: { totalTools: 0 } });
      const [consolidated] = await db.writer.getConsolidatedSessionsByExecution(executionId);
      expect(consolidated?.originalSessionIds).toEqual([]);
    });
  });

  describe("concurrency", () => {
    it("20 runs at once on one database all complete, each with its own steps and consolidation", async () => {
      const executor = new PingPongExecutor(db, { consolidationTimeoutMs: 30_000 });
      const runs = Array.from({ length: 20 }, (_, i) => {
        const executionId = uid(`conc${i}`);
        const steps = Array.from({ length: 2 + (i % 3) }, (_, j) => ({
          stepId: `r${i}_s${j}`,
          prompt: j === 0 ? `run ${i} {{context.n}}` : "after {{previous.response}}",
          requiredTools: [`tool_${i}`],
          script: [
            {
              delayMs: (i * 7 + j * 3) % 11,
              response: `run ${i} step ${j}`,
              toolCalls: [{ toolName: `tool_${i}`, input: { run: i, step: j }, output: { v: i * 100 + j } }],
            },
          ],
        }));
        const flow = plan({ flowId: uid(`flow${i}`), context: { n: i }, steps, atomic: i % 4 === 0 });
        return { i, executionId, flow };
      });
      const agent = recordingAgent((step, context, signal) => new ScriptedAgent().run(step, context, signal));
      const results: ExecutionResult[] = await Promise.all(
        runs.map((r) => executor.execute(r.flow, agent, { executionId: r.executionId })),
      );

      expect(agent.calls).toHaveLength(runs.reduce((n, r) => n + r.flow.steps.length, 0));
      for (const [k, { i, executionId, flow }] of runs.entries()) {
        const result = results[k]!;
        expect(result).toMatchObject({
          executionId,
          flowId: flow.flowId,
          status: "completed",
          totalSteps: flow.steps.length,
          completedSteps: flow.steps.length,
        });
        expect(result.consolidation.status).toBe("completed");
        expect(result.stepResults.map((s) => s.stepId)).toEqual(flow.steps.map((s) => s.stepId));
        expect(result.stepResults[0]!.prompt).toBe(`run ${i} ${i}`);
        expect(result.stepResults[1]!.prompt).toBe(`after run ${i} step 0`);

        const stored = await db.writer.getSessionsForConsolidation(executionId);
        expect(stored.map((s) => s.stepId)).toEqual(flow.steps.map((s) => s.stepId));
        expect(stored.every((s) => s.executionId === executionId && s.status === "success")).toBe(true);
        expect(stored.flatMap((s) => s.toolCalls.map((c) => c.toolName))).toEqual(flow.steps.map(() => `tool_${i}`));
        expect(stored.map((s) => s.toolCalls[0]!.output)).toEqual(flow.steps.map((_, j) => ({ v: i * 100 + j })));

        // Each agent call saw only its own run's history.
        const calls = agent.calls.filter((c) => c.context.executionId === executionId);
        expect(calls.map((c) => c.stepId)).toEqual(flow.steps.map((s) => s.stepId));
        for (const call of calls) {
          expect(call.context.previousResults.map((p) => p.stepId)).toEqual(
            flow.steps.slice(0, call.context.stepIndex).map((s) => s.stepId),
          );
        }

        const [consolidated] = await db.writer.getConsolidatedSessionsByExecution(executionId);
        expect(consolidated!.consolidatedSessionId).toBe(result.consolidatedSessionId);
        expect(consolidated!.originalSessionIds).toEqual(stored.map((s) => s.sessionId));
        expect(consolidated!.totalTools).toBe(flow.steps.length);
        const execution = await db.writer.getExecutionSession(executionId);
        expect(execution).toMatchObject({ status: "completed", openTransaction: null, consolidation: { status: "completed" } });
      }
    });
  });
});
