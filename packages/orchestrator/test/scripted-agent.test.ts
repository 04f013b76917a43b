import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import type { StepContext } from "../src/agents/agent.js";
import { pickAttempt, ScriptedAgent, unscriptedProblem, unscriptedSteps } from "../src/agents/scripted-agent.js";
import { abortableSleep } from "../src/clock.js";
import { OrchestratorError } from "../src/errors.js";
import { type FlowStep, ZFlowPlan, ZFlowStep } from "../src/flow-plan.js";

const step = (input: Record<string, unknown>): FlowStep => ZFlowStep.parse({ stepId: "swap", prompt: "swap", ...input });

const context = (attempt: number): StepContext => ({
  executionId: "exec-1",
  flowId: "flow-1",
  flowPrompt: "p",
  stepIndex: 0,
  attempt,
  prompt: "swap",
  context: {},
  previousResults: [],
});

const never = new AbortController().signal;

/** A sleep that records what it was asked and returns at once, moving its clock on by as much. */
function recordingSleep() {
  const calls: number[] = [];
  let clock = 1_000;
  const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
    signal.throwIfAborted();
    calls.push(ms);
    clock += ms;
  };
  return { calls, sleep, now: () => clock };
}

describe("ScriptedAgent", () => {
  it("is named scripted", () => {
    expect(new ScriptedAgent().name).toBe("scripted");
  });

  it("succeeds by default with one call per required tool", async () => {
    const result = await new ScriptedAgent().run(step({ requiredTools: ["get_account_balance", "jupiter_swap"] }), context(1), never);
    expect(result).toEqual({
      response: "ok: swap",
      toolCalls: [
        { toolName: "get_account_balance", input: {}, output: { ok: true }, success: true, durationMs: 0 },
        { toolName: "jupiter_swap", input: {}, output: { ok: true }, success: true, durationMs: 0 },
      ],
    });
  });

  it("plays the entry of the attempt and repeats the last one", async () => {
    const { calls, sleep, now } = recordingSleep();
    const agent = new ScriptedAgent({ sleep, now });
    const flaky = step({
      requiredTools: ["jupiter_swap"],
      script: [
        { fail: "rpc unavailable", delayMs: 7 },
        { response: "second", score: 0.5, toolCalls: [{ toolName: "jupiter_swap", input: { amount: 2 }, durationMs: 3 }] },
        { response: "third and later", toolCalls: [] },
      ],
    });

    const first = await agent.run(flaky, context(1), never).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(OrchestratorError);
    expect(first).toMatchObject({ code: "AGENT_FAILED", message: "rpc unavailable" });
    expect(calls).toEqual([7]);

    expect(await agent.run(flaky, context(2), never)).toEqual({
      response: "second",
      score: 0.5,
      toolCalls: [{ toolName: "jupiter_swap", input: { amount: 2 }, output: null, success: true, durationMs: 3 }],
    });
    for (const attempt of [3, 4, 10]) {
      expect(await agent.run(flaky, context(attempt), never)).toEqual({ response: "third and later", toolCalls: [] });
    }
    // The failure's delay, then the second attempt's tool call taking its 3 ms.
    expect(calls).toEqual([7, 3]);
  });

  it("plays tool calls in their time, within the attempt's delay, and measures them: no call outlasts its attempt", async () => {
    const { calls, sleep, now } = recordingSleep();
    const agent = new ScriptedAgent({ sleep, now });
    const timed = (delayMs: number) =>
      step({
        script: [
          {
            delayMs,
            toolCalls: [
              { toolName: "a", durationMs: 40 },
              { toolName: "b", durationMs: 30 },
            ],
          },
        ],
      });
    const start = now();
    const within = await agent.run(timed(100), context(1), never);
    expect(within.toolCalls.map((c) => c.durationMs)).toEqual([40, 30]);
    expect(calls).toEqual([40, 30, 30]); // the calls, then what is left of delayMs
    expect(now() - start).toBe(100);
    // A script whose calls add up to more than its delay: the attempt takes as long as its calls.
    calls.length = 0;
    const before = now();
    const over = await agent.run(timed(50), context(1), never);
    expect(over.toolCalls.map((c) => c.durationMs)).toEqual([40, 30]);
    expect(calls).toEqual([40, 30]);
    expect(now() - before).toBe(70);
  });

  it("reports the usage its script gives, and none when it gives none", async () => {
    const usage = { model: "gpt-x", inputTokens: 120, outputTokens: 30, cachedInputTokens: 100 };
    const scripted = step({
      script: [
        { response: "r", toolCalls: [], usage },
        { response: "r2", toolCalls: [] },
      ],
    });
    expect((await new ScriptedAgent().run(scripted, context(1), never)).usage).toEqual(usage);
    expect((await new ScriptedAgent().run(scripted, context(2), never)).usage).toBeUndefined();
  });

  it("a failing attempt plays its tool calls first and carries them and its usage on the error", async () => {
    const usage = { model: "gpt-x", inputTokens: 80, outputTokens: 5 };
    const error = await new ScriptedAgent()
      .run(
        step({ script: [{ fail: "rpc unavailable", toolCalls: [{ toolName: "get_balance", input: { a: 1 } }], usage }] }),
        context(1),
        never,
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "AGENT_FAILED",
      message: "rpc unavailable",
      spent: {
        toolCalls: [{ toolName: "get_balance", input: { a: 1 }, success: true }],
        usage: { ...usage, cachedInputTokens: null },
      },
    });
  });

  it("fills what an attempt leaves out from the defaults", async () => {
    const result = await new ScriptedAgent().run(
      step({
        requiredTools: ["get_account_balance"],
        script: [{ toolCalls: [{ toolName: "jupiter_swap", success: false, error: "slippage", output: { code: 6001 } }] }],
      }),
      context(1),
      never,
    );
    expect(result).toEqual({
      response: "ok: swap",
      toolCalls: [{ toolName: "jupiter_swap", input: {}, output: { code: 6001 }, success: false, durationMs: 0, error: "slippage" }],
    });
    const unscripted = await new ScriptedAgent().run(step({ script: [{ score: 1 }] }), context(1), never);
    expect(unscripted).toEqual({ response: "ok: swap", toolCalls: [], score: 1 });
  });

  it("really waits delayMs with the default sleep", async () => {
    const started = performance.now();
    const result = await new ScriptedAgent().run(step({ script: [{ delayMs: 60 }] }), context(1), never);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(result.response).toBe("ok: swap");
  });

  it("rejects promptly with the signal's reason when aborted during a delay", async () => {
    const controller = new AbortController();
    const reason = new Error("step timed out");
    const run = new ScriptedAgent().run(step({ script: [{ delayMs: 60_000 }] }), context(1), controller.signal);
    let abortedAt = Number.POSITIVE_INFINITY;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort(reason);
    }, 20);
    await expect(run).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(5_000); // far below the 60 s delay: the abort ended it, with slack for a loaded machine
  });

  it("hangs until aborted, then rejects promptly with the reason", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    let settled = false;
    const run = new ScriptedAgent()
      .run(step({ script: [{ hang: true, response: "never" }] }), context(1), controller.signal)
      .finally(() => {
        settled = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(5_000); // far below the 60 s delay: the abort ended it, with slack for a loaded machine
  });

  it("rejects at once when the signal is already aborted", async () => {
    const reason = new Error("already cancelled");
    const signal = AbortSignal.abort(reason);
    const agent = new ScriptedAgent();
    await expect(agent.run(step({}), context(1), signal)).rejects.toBe(reason);
    await expect(agent.run(step({ script: [{ hang: true }] }), context(1), signal)).rejects.toBe(reason);
  });

  it("fails after its delay, not before", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const error = await new ScriptedAgent()
      .run(step({ script: [{ delayMs: 40, fail: "boom" }] }), context(1), controller.signal)
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(error).toMatchObject({ code: "AGENT_FAILED", message: "boom" });
  });

  it("is deterministic", async () => {
    const agent = new ScriptedAgent();
    const scripted = step({ requiredTools: ["a"], script: [{ response: "r", score: 0.25 }] });
    const runs = await Promise.all([1, 2, 3].map(() => agent.run(scripted, context(1), never)));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe("unscriptedSteps", () => {
  const plan = (...steps: Record<string, unknown>[]) =>
    ZFlowPlan.parse({ flowId: "f", prompt: "p", steps: steps.map((s, i) => ({ stepId: `s${i}`, prompt: "x", ...s })) });

  it("names each step left without a script, and the first run it leaves empty when other runs have one", () => {
    const flow = plan(
      { script: [{}] },
      {},
      { scriptByRun: { "1": [{}], "3": [{}] } },
      { script: [{}], scriptByRun: { "4": [], "2": [] } },
      { script: [], scriptByRun: { "2": [{}] } },
    );
    expect(unscriptedSteps(flow)).toEqual([
      { index: 1, stepId: "s1", run: null },
      { index: 4, stepId: "s4", run: null },
    ]);
    expect(unscriptedSteps(flow, 4)).toEqual([
      { index: 1, stepId: "s1", run: null },
      { index: 2, stepId: "s2", run: 2 },
      { index: 3, stepId: "s3", run: 2 },
      { index: 4, stepId: "s4", run: 1 },
    ]);
  });

  it("agrees with what the agent replays in each run", () => {
    const flow = plan(
      { scriptByRun: { "1": [{}], "2": [{}] } },
      { script: [{}], scriptByRun: { "3": [] } },
      { scriptByRun: { "2": [{}] } },
      { script: [{}] },
    );
    for (let runs = 1; runs <= 4; runs++) {
      // What ScriptedAgent plays in run n: scriptByRun[n], else script.
      const expected = flow.steps.flatMap((s, index) => {
        const empty = Array.from({ length: runs }, (_, i) => i + 1).filter((n) => !(s.scriptByRun?.[String(n)] ?? s.script)?.length);
        if (!empty.length) return [];
        return [{ index, stepId: s.stepId, run: empty.length === runs ? null : empty[0] }];
      });
      expect(unscriptedSteps(flow, runs), `runs ${runs}`).toEqual(expected);
    }
  });
});

describe("unscriptedProblem", () => {
  const plan = (...steps: Record<string, unknown>[]) =>
    ZFlowPlan.parse({ flowId: "f", prompt: "p", steps: steps.map((s, i) => ({ stepId: `s${i}`, prompt: "x", ...s })) });

  it("words the first unscripted step in the caller's terms, with the field to fix; nothing when every step has a script", () => {
    expect(unscriptedProblem(plan({ script: [{}] }), { source: "f.yaml", agent: "--agent scripted" })).toBeUndefined();
    expect(unscriptedProblem(plan({ script: [{}] }, {}, {}), { source: "the request body", agent: "the scripted agent" })).toEqual({
      message:
        'Step "s1" (steps[1]) (and "s2") of the request body has no script, and the scripted agent can only replay what a script says; nothing was run.',
      path: "steps[1].script",
      run: null,
    });
    expect(
      unscriptedProblem(plan({ script: [{}], scriptByRun: { "2": [] } }), { source: "f.yaml", agent: "--agent scripted", runs: 2 }),
    ).toEqual({
      message:
        'Step "s0" (steps[0]) of f.yaml has no script for run 2, and --agent scripted can only replay what a script says; nothing was run.',
      path: "steps[0].script",
      run: 2,
    });
  });
});

describe("pickAttempt", () => {
  it("is 1-based, clamps, and is undefined without a script", () => {
    const script = [{ response: "a" }, { response: "b" }];
    expect(pickAttempt(script, 1)).toBe(script[0]);
    expect(pickAttempt(script, 2)).toBe(script[1]);
    expect(pickAttempt(script, 99)).toBe(script[1]);
    expect(pickAttempt(script, 0)).toBe(script[0]);
    expect(pickAttempt([], 1)).toBeUndefined();
  });
});

describe("abortableSleep", () => {
  it("removes its abort listener once it resolves", async () => {
    const controller = new AbortController();
    await abortableSleep(1, controller.signal);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});
