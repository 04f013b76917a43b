import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { abortableSleep } from "../src/clock.js";
import { ZConsolidatedContent } from "../src/consolidated-content.js";
import { OrchestratorError } from "../src/errors.js";
import type { RetryPolicy } from "../src/flow-plan.js";
import { backoffDelay, type ExecutionEvent, PingPongExecutor } from "../src/ping-pong-executor.js";
import { eventsOf, fakeClock, plan, recordingAgent, sleep, uid } from "./fixtures/executor/support.js";

describe("backoffDelay", () => {
  const policy: RetryPolicy = { attempts: 10, backoffMs: 100, maxBackoffMs: 1_000 };

  it("doubles per failed attempt up to the cap, with equal jitter", () => {
    // nominal = min(1000, 100·2^(n−1)): 100, 200, 400, 800, 1000, 1000
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.5))).toEqual([75, 150, 300, 600, 750, 750]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("stays within [nominal/2, nominal] for any random value", () => {
    for (let n = 1; n <= 12; n++) {
      const nominal = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (n - 1));
      for (const r of [0, 0.1, 0.25, 0.333, 0.5, 0.77, 0.9, 0.999999]) {
        const delay = backoffDelay(policy, n, () => r);
        expect(delay).toBeGreaterThanOrEqual(nominal / 2);
        expect(delay).toBeLessThanOrEqual(nominal);
        expect(delay).toBeLessThanOrEqual(policy.maxBackoffMs);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it("never overflows for large attempt numbers, and a zero policy never waits", () => {
    expect(backoffDelay(policy, 2_000, () => 0.5)).toBe(750);
    expect(backoffDelay({ attempts: 3, backoffMs: 0, maxBackoffMs: 0 }, 2, () => 0.7)).toBe(0);
  });
});

describe("abortableSleep", () => {
  it("waits (and can be aborted) even when asked for more than setTimeout's 32-bit range", async () => {
    const controller = new AbortController();
    let settled: string | undefined;
    const pending = abortableSleep(2 ** 32, controller.signal).then(
      () => (settled = "resolved"),
      () => (settled = "aborted"),
    );
    await sleep(30);
    expect(settled).toBeUndefined();
    controller.abort(new Error("stop"));
    await pending;
    expect(settled).toBe("aborted");
  });
});

describe.each(testBackends())("PingPongExecutor retries on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  const retryPolicy = { attempts: 4, backoffMs: 100, maxBackoffMs: 300 };
  // random 0.5 → nominal/2 + nominal/4: nominal 100, 200, 300 (capped) → 75, 150, 225.
  const expectedDelays = [1, 2, 3].map((n) => backoffDelay(retryPolicy, n, () => 0.5));

  it("the expected delays are the ones written by hand", () => {
    expect(expectedDelays).toEqual([75, 150, 225]);
  });

  it("succeeds on attempt 3 after two backoffs with the policy's exact delays", async () => {
    const clock = fakeClock();
    const executionId = uid("exec");
    const flow = plan({
      flowId: uid("retry"),
      steps: [
        {
          stepId: "swap",
          prompt: "p",
          requiredTools: ["jupiter_swap"],
          retry: retryPolicy,
          script: [
            { fail: "rpc node unavailable" },
            { toolCalls: [{ toolName: "jupiter_swap", success: false, error: "slippage exceeded" }] },
            { response: "swapped", toolCalls: [{ toolName: "jupiter_swap", output: { tx: "sig" } }] },
          ],
        },
        { stepId: "after", prompt: "{{previous.response}}" },
      ],
    });
    const agent = recordingAgent((step, context, signal) => new ScriptedAgent().run(step, context, signal));
    const events: ExecutionEvent[] = [];
    const result = await new PingPongExecutor(db, { clock, random: () => 0.5 }).execute(flow, agent, {
      executionId,
      consolidate: false,
      onEvent: (e) => events.push(e),
    });

    expect(clock.sleeps).toEqual([75, 150]);
    expect(agent.calls.map((c) => [c.stepId, c.context.attempt])).toEqual([
      ["swap", 1],
      ["swap", 2],
      ["swap", 3],
      ["after", 1],
    ]);
    expect(eventsOf(events, "step-retrying")).toEqual([
      { type: "step-retrying", executionId, stepIndex: 0, stepId: "swap", attempt: 1, delayMs: 75, error: "rpc node unavailable" },
      { type: "step-retrying", executionId, stepIndex: 0, stepId: "swap", attempt: 2, delayMs: 150, error: "slippage exceeded" },
    ]);
    expect(eventsOf(events, "step-started").map((e) => [e.stepId, e.attempt])).toEqual([
      ["swap", 1],
      ["swap", 2],
      ["swap", 3],
      ["after", 1],
    ]);
    expect(result.stepResults[0]).toMatchObject({ status: "success", attempts: 3, response: "swapped", error: null });
    // Later steps see the successful attempt's tool calls.
    expect(result.stepResults[0]!.toolCalls.map((c) => [c.toolName, c.success])).toEqual([["jupiter_swap", true]]);
    expect(agent.calls[3]!.context.prompt).toBe("swapped");
    expect(result.status).toBe("completed");
    const [stored] = await db.writer.getSessionsForConsolidation(executionId);
    expect(stored).toMatchObject({ status: "success", error: null, errorKind: null });
    expect(stored!.content).toBe("swapped");
    // Every attempt is stored: its outcome, its error, and the tool calls it made (the failed one's too).
    expect(stored!.attempts.map((a) => [a.attempt, a.status, a.error, a.errorKind])).toEqual([
      [1, "failed", "rpc node unavailable", "agent"],
      [2, "failed", "slippage exceeded", "agent"],
      [3, "success", null, null],
    ]);
    expect(stored!.toolCalls.map((c) => [c.attempt, c.toolName, c.success])).toEqual([
      [2, "jupiter_swap", false],
      [3, "jupiter_swap", true],
    ]);
    for (const a of stored!.attempts) expect(a.finishedAt!.getTime() - a.startedAt!.getTime()).toBe(a.durationMs);
    // The step spans its attempts and the backoff waits between them.
    expect(stored!.startedAt).toEqual(stored!.attempts[0]!.startedAt);
    expect(stored!.finishedAt).toEqual(stored!.attempts[2]!.finishedAt);
  });

  it("a failed attempt keeps what it spent: its tool calls, tokens and cost are stored and counted", async () => {
    const executionId = uid("exec");
    const usage = (inputTokens: number) => ({ model: "gpt-a", inputTokens, outputTokens: 10, cachedInputTokens: 0 });
    const flow = plan({
      flowId: uid("spent"),
      steps: [
        {
          stepId: "swap",
          prompt: "p",
          retry: { attempts: 2, backoffMs: 0, maxBackoffMs: 0 },
          script: [
            { fail: "quote expired", toolCalls: [{ toolName: "get_quote", output: { price: 1 } }], usage: usage(300) },
            { response: "swapped", toolCalls: [{ toolName: "jupiter_swap" }], usage: usage(200) },
          ],
        },
      ],
    });
    const prices = { models: { "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10 } } };
    const result = await new PingPongExecutor(db, { clock: fakeClock(), prices }).execute(flow, new ScriptedAgent(), { executionId });
    expect(result.status).toBe("completed");
    const [stored] = await db.writer.getSessionsForConsolidation(executionId);
    expect(stored!.attempts.map((a) => [a.attempt, a.status, a.inputTokens])).toEqual([
      [1, "failed", 300],
      [2, "success", 200],
    ]);
    expect(stored!.toolCalls.map((c) => [c.attempt, c.toolName])).toEqual([
      [1, "get_quote"],
      [2, "jupiter_swap"],
    ]);
    const document = ZConsolidatedContent.parse(JSON.parse((await db.writer.getConsolidatedSession(result.consolidatedSessionId!))!));
    // Attempt 1 (failed): 300 × 2.5 + 10 × 10 = 850 per million; attempt 2: 200 × 2.5 + 10 × 10 = 600. $0.00085 + $0.0006 = $0.00145.
    expect(document.metadata).toMatchObject({ total_input_tokens: 500, total_output_tokens: 20, total_tools: 2, cost_usd: 0.00145 });
    expect(result.consolidation.metadata?.costUsd).toBe(0.00145);
  });

  it("an infrastructure error is recorded as such, on its attempt and its step, and consolidation counts it apart", async () => {
    const executionId = uid("exec");
    const flow = plan({
      flowId: uid("infra"),
      steps: [
        { stepId: "ask", prompt: "p", retry: { attempts: 2, backoffMs: 0, maxBackoffMs: 0 } },
        { stepId: "next", prompt: "p" },
      ],
    });
    const agent = recordingAgent((step, context) => {
      if (step.stepId === "ask" && context.attempt === 1) throw new OrchestratorError("AGENT_FAILED", "wrong answer");
      if (step.stepId === "ask") throw new OrchestratorError("INFRASTRUCTURE", "POST /v1/chat/completions answered 503");
      return { response: "ok", toolCalls: [] };
    });
    const result = await new PingPongExecutor(db, { clock: fakeClock() }).execute(flow, agent, { executionId });
    expect(result.stepResults[0]).toMatchObject({ status: "failed", errorKind: "infrastructure" });
    const [ask] = await db.writer.getSessionsForConsolidation(executionId);
    expect(ask!.errorKind).toBe("infrastructure");
    expect(ask!.attempts.map((a) => a.errorKind)).toEqual(["agent", "infrastructure"]);
    const document = ZConsolidatedContent.parse(JSON.parse((await db.writer.getConsolidatedSession(result.consolidatedSessionId!))!));
    expect(document.metadata).toMatchObject({ failed_steps: 1, infrastructure_errors: 1, avg_score: null });
    expect(document.steps[0]).toMatchObject({ attempts: 2, error_kind: "infrastructure" });
  });

  it("gives up after the policy's attempts, with every delay of the policy, and records the last error", async () => {
    const clock = fakeClock();
    const flow = plan({
      flowId: uid("retry-all"),
      steps: [
        {
          stepId: "swap",
          prompt: "p",
          retry: retryPolicy,
          script: [{ fail: "e1" }, { fail: "e2" }, { fail: "e3" }, { fail: "e4" }, { response: "never reached" }],
        },
      ],
    });
    const events: ExecutionEvent[] = [];
    const result = await new PingPongExecutor(db, { clock, random: () => 0.5 }).execute(flow, new ScriptedAgent(), {
      executionId: uid("exec"),
      consolidate: false,
      onEvent: (e) => events.push(e),
    });
    expect(clock.sleeps).toEqual([75, 150, 225]);
    expect(eventsOf(events, "step-retrying").map((e) => [e.attempt, e.delayMs, e.error])).toEqual([
      [1, 75, "e1"],
      [2, 150, "e2"],
      [3, 225, "e3"],
    ]);
    expect(result.stepResults[0]).toMatchObject({ status: "failed", attempts: 4, error: "e4" });
    expect(result.status).toBe("failed");
  });

  it("uses the injected randomness for jitter", async () => {
    const clock = fakeClock();
    const randoms = [0, 0.999999, 0.2];
    const flow = plan({ flowId: uid("jitter"), steps: [{ stepId: "s", prompt: "p", retry: retryPolicy, script: [{ fail: "x" }] }] });
    await new PingPongExecutor(db, { clock, random: () => randoms.shift()! }).execute(flow, new ScriptedAgent(), {
      executionId: uid("exec"),
      consolidate: false,
    });
    // nominal 100, 200, 300: r=0 → 50; r≈1 → 200; r=0.2 → 150 + 30 = 180.
    expect(clock.sleeps).toEqual([50, 200, 180]);
  });

  it("without a retry policy a step is tried once and never sleeps", async () => {
    const clock = fakeClock();
    const flow = plan({ flowId: uid("once"), steps: [{ stepId: "s", prompt: "p", script: [{ fail: "x" }, { response: "y" }] }] });
    const result = await new PingPongExecutor(db, { clock }).execute(flow, new ScriptedAgent(), {
      executionId: uid("exec"),
      consolidate: false,
    });
    expect(result.stepResults[0]).toMatchObject({ status: "failed", attempts: 1 });
    expect(clock.sleeps).toEqual([]);
  });

  it("a step that succeeds at once does not retry", async () => {
    const clock = fakeClock();
    const flow = plan({ flowId: uid("ok"), steps: [{ stepId: "s", prompt: "p", retry: retryPolicy }] });
    const result = await new PingPongExecutor(db, { clock, random: () => 0.5 }).execute(flow, new ScriptedAgent(), {
      executionId: uid("exec"),
      consolidate: false,
    });
    expect(result.stepResults[0]).toMatchObject({ status: "success", attempts: 1 });
    expect(clock.sleeps).toEqual([]);
  });

  it("the stored step duration spans every attempt and backoff (as measured by the injected clock)", async () => {
    const clock = fakeClock(Date.UTC(2025, 0, 1));
    const executionId = uid("exec");
    const flow = plan({
      flowId: uid("dur"),
      steps: [{ stepId: "s", prompt: "p", retry: retryPolicy, script: [{ fail: "x" }, { fail: "y" }, {}] }],
    });
    const result = await new PingPongExecutor(db, { clock, random: () => 0.5 }).execute(flow, new ScriptedAgent(), {
      executionId,
      consolidate: false,
    });
    // fakeClock: every now() adds 1 ms, every sleep adds its delay: start → finish = 75 + 150 + a few readings.
    const duration = result.stepResults[0]!.durationMs!;
    expect(duration).toBeGreaterThanOrEqual(225);
    expect(duration).toBeLessThan(225 + 10);
    const [stored] = await db.writer.getSessionsForConsolidation(executionId);
    expect(stored!.durationMs).toBe(duration);
    expect(stored!.finishedAt!.getTime() - stored!.startedAt!.getTime()).toBe(duration);
  });
});
