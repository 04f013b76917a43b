import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import type { Agent } from "../src/agents/agent.js";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { OrchestratorError } from "../src/errors.js";
import { type ExecutionEvent, PingPongExecutor } from "../src/ping-pong-executor.js";
import { eventsOf, fakeClock, gate, plan, recordingAgent, sleep, uid, untilAborted } from "./fixtures/executor/support.js";

describe.each(testBackends())("PingPongExecutor timeouts and cancellation on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  describe("per-step timeout", () => {
    it("aborts the agent's signal with an AGENT_TIMEOUT error and records the step timed_out", async () => {
      const executionId = uid("exec");
      let abortedWith: unknown;
      let sawAbort = false;
      const agent: Agent = {
        name: "hanger",
        run: async (step, _context, signal) => {
          if (step.stepId !== "oracle") return { response: "ok", toolCalls: [] };
          try {
            return await untilAborted(signal);
          } finally {
            sawAbort = signal.aborted;
            abortedWith = signal.reason;
          }
        },
      };
      const flow = plan({
        flowId: uid("to"),
        steps: [
          { stepId: "oracle", prompt: "p", timeoutMs: 80 },
          { stepId: "after", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });

      expect(sawAbort).toBe(true);
      expect(abortedWith).toBeInstanceOf(OrchestratorError);
      expect((abortedWith as OrchestratorError).code).toBe("AGENT_TIMEOUT");
      expect((abortedWith as OrchestratorError).message).toBe("Step 0 (oracle) timed out after 80ms");

      expect(result.stepResults[0]).toMatchObject({
        status: "timed_out",
        success: false,
        attempts: 1,
        error: "Step 0 (oracle) timed out after 80ms",
        response: null,
      });
      // Non-critical: the run goes on, and ends failed.
      expect(result.stepResults[1]!.status).toBe("success");
      expect(result.status).toBe("failed");
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => [s.stepId, s.status, s.success, s.error])).toEqual([
        ["oracle", "timed_out", false, "Step 0 (oracle) timed out after 80ms"],
        ["after", "success", true, null],
      ]);
    });

    it("an agent that ignores its signal does not hold the run: the step times out and the run finishes without it", async () => {
      const executionId = uid("exec");
      const stuck = gate<{ response: string; toolCalls: never[] }>();
      let signalOfStuck: AbortSignal | undefined;
      const agent: Agent = {
        name: "deaf",
        run: (step, _context, signal) => {
          if (step.stepId !== "deaf") return Promise.resolve({ response: "ok", toolCalls: [] });
          signalOfStuck = signal;
          return stuck.promise; // settles only when the test says so, whatever the signal does
        },
      };
      const flow = plan({
        flowId: uid("deaf"),
        steps: [
          { stepId: "deaf", prompt: "p", timeoutMs: 60 },
          { stepId: "after", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });
      expect(signalOfStuck?.aborted).toBe(true);
      expect(result.stepResults.map((s) => s.status)).toEqual(["timed_out", "success"]);
      expect(result.stepResults[0]!.error).toBe("Step 0 (deaf) timed out after 60ms");

      // The late answer changes nothing that was recorded.
      stuck.release({ response: "too late", toolCalls: [] });
      await sleep(20);
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => s.status)).toEqual(["timed_out", "success"]);
      expect(stored[0]!.content).toBe("");
    });

    it("the ScriptedAgent's hang really stops at the timeout; a timed-out attempt is retried", async () => {
      const clock = fakeClock();
      const flow = plan({
        flowId: uid("hang-retry"),
        steps: [
          {
            stepId: "flaky",
            prompt: "p",
            timeoutMs: 50,
            retry: { attempts: 2, backoffMs: 10, maxBackoffMs: 10 },
            script: [{ hang: true }, { response: "second try" }],
          },
        ],
      });
      const events: ExecutionEvent[] = [];
      const result = await new PingPongExecutor(db, { clock, random: () => 0 }).execute(flow, new ScriptedAgent(), {
        executionId: uid("exec"),
        consolidate: false,
        onEvent: (e) => events.push(e),
      });
      expect(result.stepResults[0]).toMatchObject({ status: "success", attempts: 2, response: "second try", error: null });
      expect(eventsOf(events, "step-retrying")).toMatchObject([{ attempt: 1, delayMs: 5, error: "Step 0 (flaky) timed out after 50ms" }]);
      expect(result.status).toBe("completed");
    });

    it("a step whose every attempt times out is recorded timed_out after its last attempt", async () => {
      const clock = fakeClock();
      const flow = plan({
        flowId: uid("hang-all"),
        steps: [
          { stepId: "stuck", prompt: "p", timeoutMs: 40, retry: { attempts: 3, backoffMs: 0, maxBackoffMs: 0 }, script: [{ hang: true }] },
        ],
      });
      const result = await new PingPongExecutor(db, { clock }).execute(flow, new ScriptedAgent(), {
        executionId: uid("exec"),
        consolidate: false,
      });
      expect(result.stepResults[0]).toMatchObject({ status: "timed_out", attempts: 3, error: "Step 0 (stuck) timed out after 40ms" });
      expect(clock.sleeps).toEqual([0, 0]);
    });

    it("a critical step that times out stops the run with status timed_out; the rest is skipped", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("crit-to"),
        steps: [
          { stepId: "balance", prompt: "p" },
          { stepId: "oracle", prompt: "p", critical: true, timeoutMs: 50, script: [{ hang: true }] },
          { stepId: "swap", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      const why = "critical step oracle timed out: Step 1 (oracle) timed out after 50ms";
      expect(result).toMatchObject({ status: "timed_out", completedSteps: 1, error: `Stopped: ${why}` });
      expect(result.stepResults.map((s) => [s.status, s.error])).toEqual([
        ["success", null],
        ["timed_out", "Step 1 (oracle) timed out after 50ms"],
        ["skipped", `Skipped: ${why}`],
      ]);
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({ status: "timed_out", error: `Stopped: ${why}` });
      expect((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.status)).toEqual(["success", "timed_out", "skipped"]);
    });

    it("defaultStepTimeoutMs applies to steps without their own timeout", async () => {
      const flow = plan({ flowId: uid("default-to"), steps: [{ stepId: "s", prompt: "p", script: [{ hang: true }] }] });
      const result = await new PingPongExecutor(db, { defaultStepTimeoutMs: 40 }).execute(flow, new ScriptedAgent(), {
        executionId: uid("exec"),
        consolidate: false,
      });
      expect(result.stepResults[0]).toMatchObject({ status: "timed_out", error: "Step 0 (s) timed out after 40ms" });
    });

    it("an agent failing on its own before the timeout is failed, not timed_out", async () => {
      const flow = plan({
        flowId: uid("own-fail"),
        steps: [{ stepId: "s", prompt: "p", timeoutMs: 5_000, script: [{ delayMs: 5, fail: "bad gateway" }] }],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId: uid("exec"), consolidate: false });
      expect(result.stepResults[0]).toMatchObject({ status: "failed", error: "bad gateway" });
    });

    it("an answer that came past the limit is timed out although its timer fired late (a blocked event loop)", async () => {
      // The answer falls due at 10 ms, but the thread is busy for 150 ms (as when PGlite, on this
      // thread, stores other runs' steps): both timers are overdue, and the answer's, due first, wins.
      const call = { toolName: "quote", input: {}, output: { price: 1 }, success: true, durationMs: 1 };
      const agent: Agent = {
        name: "late",
        run: () =>
          new Promise((resolve) => {
            setTimeout(() => resolve({ response: "in time, by the agent's clock", toolCalls: [call] }), 10);
            const busyUntil = Date.now() + 150;
            while (Date.now() < busyUntil);
          }),
      };
      const executionId = uid("exec");
      const flow = plan({ flowId: uid("late"), steps: [{ stepId: "quote", prompt: "p", timeoutMs: 50 }] });
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });
      const step = result.stepResults[0];
      expect(step).toMatchObject({ status: "timed_out", response: null, error: "Step 0 (quote) timed out after 50ms" });
      // The stored outcome agrees with the stored duration, and what the attempt did is kept.
      expect(step?.durationMs).toBeGreaterThan(50);
      expect(step?.attemptLog[0]).toMatchObject({ status: "timed_out", toolCalls: [{ toolName: "quote", success: true }] });
      const [stored] = await db.writer.getSessionsForConsolidation(executionId);
      expect([stored?.status, stored?.error]).toEqual(["timed_out", "Step 0 (quote) timed out after 50ms"]);
    });

    it("a step timeout beyond setTimeout's 32-bit range does not fire at once", async () => {
      // Node turns a delay over 2^31−1 ms into 1 ms; a long (valid) timeout must not time the step out immediately.
      const flow = plan({ flowId: uid("huge-to"), steps: [{ stepId: "s", prompt: "p", timeoutMs: 2 ** 32, script: [{ delayMs: 30 }] }] });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId: uid("exec"), consolidate: false });
      expect(result.stepResults[0]).toMatchObject({ status: "success", error: null });
    });
  });

  describe("cancellation through ExecuteOptions.signal", () => {
    it("aborts the current agent call, records the step failed, skips the rest, ends failed", async () => {
      const executionId = uid("exec");
      const run = new AbortController();
      let agentSignal: AbortSignal | undefined;
      const agent = recordingAgent(async (step, _context, signal) => {
        if (step.stepId !== "long") return { response: "ok", toolCalls: [] };
        agentSignal = signal;
        setTimeout(() => run.abort(new Error("user pressed ctrl-c")), 30);
        return untilAborted(signal);
      });
      const flow = plan({
        flowId: uid("cancel"),
        steps: [
          { stepId: "first", prompt: "p" },
          { stepId: "long", prompt: "p", timeoutMs: 10_000 },
          { stepId: "never", prompt: "p" },
        ],
      });
      const started = Date.now();
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, signal: run.signal, consolidate: false });
      expect(Date.now() - started).toBeLessThan(5_000); // not the 10 s step timeout
      expect(agentSignal?.aborted).toBe(true);
      expect(agentSignal?.reason).toBeInstanceOf(OrchestratorError);
      const reason = agentSignal?.reason as OrchestratorError;
      expect(reason.code).toBe("AGENT_FAILED");
      expect((reason.cause as Error).message).toBe("user pressed ctrl-c");

      expect(agent.calls.map((c) => c.stepId)).toEqual(["first", "long"]);
      // The abort reason is said once, by the step that it stopped and by the run (issue 8 §10).
      expect(result.status).toBe("cancelled");
      expect(result.error).toBe("Stopped: user pressed ctrl-c");
      expect(result.stepResults.map((s) => [s.status, s.error])).toEqual([
        ["success", null],
        ["failed", "user pressed ctrl-c"],
        ["skipped", "Skipped: user pressed ctrl-c"],
      ]);
      expect((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.status)).toEqual(["success", "failed", "skipped"]);
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({
        status: "cancelled",
        error: "Stopped: user pressed ctrl-c",
        openTransaction: null,
      });
    });

    it("a signal aborted before the run starts calls no agent and records every step as skipped", async () => {
      const run = new AbortController();
      run.abort();
      const flow = plan({
        flowId: uid("pre-cancel"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
        ],
      });
      const agent = recordingAgent(() => ({ response: "ok", toolCalls: [] }));
      const result = await new PingPongExecutor(db).execute(flow, agent, {
        executionId: uid("exec"),
        signal: run.signal,
        consolidate: false,
      });
      // abort() without a reason: DOMException's "This operation was aborted" says nothing, so "cancelled".
      expect(result.status).toBe("cancelled");
      expect(result.error).toBe("Stopped: cancelled");
      expect(agent.calls).toEqual([]);
      expect(result.stepResults.map((s) => s.status)).toEqual(["skipped", "skipped"]);
    });

    it("cancelling during a retry backoff stops waiting and stops retrying", async () => {
      const run = new AbortController();
      const sleeps: number[] = [];
      const clock = {
        now: () => Date.now(),
        // A backoff that would last forever unless the run is cancelled.
        sleep: (ms: number, signal?: AbortSignal) => {
          sleeps.push(ms);
          setTimeout(() => run.abort(), 10);
          return signal ? untilAborted(signal) : new Promise<never>(() => {});
        },
      };
      const flow = plan({
        flowId: uid("cancel-backoff"),
        steps: [
          { stepId: "flaky", prompt: "p", retry: { attempts: 5, backoffMs: 1000, maxBackoffMs: 1000 }, script: [{ fail: "try again" }] },
          { stepId: "next", prompt: "p" },
        ],
      });
      const agent = recordingAgent((step, context, signal) => new ScriptedAgent().run(step, context, signal));
      const result = await new PingPongExecutor(db, { clock, random: () => 0 }).execute(flow, agent, {
        executionId: uid("exec"),
        signal: run.signal,
        consolidate: false,
      });
      expect(sleeps).toEqual([500]);
      expect(agent.calls.map((c) => c.stepId)).toEqual(["flaky"]);
      // Stopped in its backoff: the step failed because the run was cancelled, not for its last error.
      expect(result.stepResults.map((s) => [s.status, s.attempts, s.error])).toEqual([
        ["failed", 1, "cancelled"],
        ["skipped", 0, "Skipped: cancelled"],
      ]);
      expect(result.status).toBe("cancelled");
    });
  });
});
