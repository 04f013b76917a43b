import { type Database, DatabaseWriter } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { ZConsolidatedContent } from "../src/consolidated-content.js";
import { consolidateExecution } from "../src/consolidation.js";
import { type ExecutionEvent, PingPongExecutor, type StepResult } from "../src/ping-pong-executor.js";
import { eventsOf, loggingWriter, plan, recordingAgent, uid } from "./fixtures/executor/support.js";

describe.each(testBackends())("PingPongExecutor on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  describe("ping-pong order and context", () => {
    it("runs the steps in order, each seeing the results of the steps before it, rendered into its prompt", async () => {
      const flow = plan({
        flowId: uid("ctx"),
        prompt: "use my 50% sol",
        context: { wallet: "W1", pct: 50 },
        steps: [
          { stepId: "balance", prompt: "check {{context.wallet}} for {{prompt}}", requiredTools: ["get_balance"] },
          { stepId: "swap", prompt: "swap {{steps.balance.toolCalls[0].output.sol}} SOL after '{{previous.response}}'" },
          { stepId: "lend", prompt: "lend {{context.pct}}% of {{steps.swap.response}}; missing {{context.wallet.nope}}" },
        ],
      });
      const agent = recordingAgent((step, context) => ({
        response: `${step.stepId} answered at ${context.stepIndex}`,
        toolCalls:
          step.stepId === "balance"
            ? [{ toolName: "get_balance", input: { wallet: "W1" }, output: { sol: 4, usdc: 20 }, success: true, durationMs: 7 }]
            : [],
      }));
      const executionId = uid("exec");
      const result = await new PingPongExecutor(db, { consolidationTimeoutMs: 20_000 }).execute(flow, agent, { executionId });

      expect(agent.calls.map((c) => c.stepId)).toEqual(["balance", "swap", "lend"]);
      const [c0, c1, c2] = agent.calls.map((c) => c.context);
      expect(c0).toMatchObject({
        executionId,
        flowId: flow.flowId,
        flowPrompt: "use my 50% sol",
        stepIndex: 0,
        attempt: 1,
        context: { wallet: "W1", pct: 50 },
      });
      expect(c0!.previousResults).toEqual([]);
      expect(c0!.prompt).toBe("check W1 for use my 50% sol");

      expect(c1).toMatchObject({ stepIndex: 1, attempt: 1 });
      expect(c1!.previousResults).toEqual([
        {
          stepIndex: 0,
          stepId: "balance",
          status: "success",
          response: "balance answered at 0",
          toolCalls: [{ toolName: "get_balance", input: { wallet: "W1" }, output: { sol: 4, usdc: 20 }, success: true, durationMs: 7 }],
          error: null,
        },
      ]);
      expect(c1!.prompt).toBe("swap 4 SOL after 'balance answered at 0'");

      expect(c2!.previousResults.map((r) => r.stepId)).toEqual(["balance", "swap"]);
      expect(c2!.prompt).toBe("lend 50% of swap answered at 1; missing <missing: context.wallet.nope>");

      expect(result).toMatchObject({
        executionId,
        flowId: flow.flowId,
        status: "completed",
        completedSteps: 3,
        totalSteps: 3,
        error: null,
      });
      expect(result.stepResults.map((s) => [s.stepIndex, s.stepId, s.status, s.attempts, s.prompt])).toEqual([
        [0, "balance", "success", 1, "check W1 for use my 50% sol"],
        [1, "swap", "success", 1, "swap 4 SOL after 'balance answered at 0'"],
        [2, "lend", "success", 1, "lend 50% of swap answered at 1; missing <missing: context.wallet.nope>"],
      ]);
    });

    it("passes a failed step's error on, and skipped steps are not offered as previous results", async () => {
      const flow = plan({
        flowId: uid("ctx-fail"),
        steps: [
          { stepId: "a", prompt: "a", script: [{ fail: "rpc down" }] },
          { stepId: "b", prompt: "b saw {{previous.status}}: {{previous.error}}" },
        ],
      });
      const agent = recordingAgent((step, context, signal) => new ScriptedAgent().run(step, context, signal));
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId: uid("exec"), consolidate: false });
      expect(agent.calls[1]!.context.previousResults).toEqual([
        { stepIndex: 0, stepId: "a", status: "failed", response: null, toolCalls: [], error: "rpc down" },
      ]);
      expect(agent.calls[1]!.context.prompt).toBe("b saw failed: rpc down");
      expect(result.status).toBe("failed");
    });
  });

  describe("recording", () => {
    it("stores every step as it completes: step n is committed and visible when step-finished fires", async () => {
      const { writer, log } = loggingWriter(db.writer);
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("rec"),
        steps: [
          { stepId: "s0", prompt: "p0", requiredTools: ["t0"] },
          { stepId: "s1", prompt: "p1", requiredTools: ["t1"] },
          { stepId: "s2", prompt: "p2", requiredTools: ["t2"] },
        ],
      });
      const logAtFinish: string[][] = [];
      const visibleWhenAgentRuns: number[][] = [];
      const agent = recordingAgent(async (step, context) => {
        // Step n's agent call runs after step n-1 finished: everything before it must be visible.
        visibleWhenAgentRuns.push((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.stepIndex));
        return {
          response: `r${context.stepIndex}`,
          toolCalls: [
            {
              toolName: step.requiredTools[0]!,
              input: { n: context.stepIndex },
              output: { v: context.stepIndex * 10 },
              success: true,
              durationMs: 3,
            },
          ],
        };
      });
      const events: ExecutionEvent[] = [];
      const result = await new PingPongExecutor({ writer }).execute(flow, agent, {
        executionId,
        consolidate: false,
        onEvent: (event) => {
          events.push(event);
          if (event.type === "step-finished") logAtFinish.push([...log]);
        },
      });
      expect(result.status).toBe("completed");
      // At step-finished n the step's write (one statement, committed at once) has completed already,
      // and no execution transaction was needed for it.
      for (const [n, snapshot] of logAtFinish.entries()) {
        expect(snapshot.slice(-1), `writer calls before step-finished ${n}`).toEqual([`storeStep:${n}`]);
        expect(snapshot.filter((c) => c.startsWith("storeStep:"))).toHaveLength(n + 1);
      }
      expect(log.filter((c) => c === "beginTransaction" || c === "commitTransaction")).toEqual([]);
      expect(visibleWhenAgentRuns).toEqual([[], [0], [0, 1]]);
      expect(eventsOf(events, "step-finished").map((e) => e.step.stepIndex)).toEqual([0, 1, 2]);
      expect(events.map((e) => e.type)).toEqual([
        "execution-started",
        "step-started",
        "step-finished",
        "step-started",
        "step-finished",
        "step-started",
        "step-finished",
        "execution-finished",
      ]);
    });

    it("stores the structured fields: status, score, tool calls with input and output, timings, error", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("fields"),
        steps: [
          {
            stepId: "balance_check",
            prompt: "p",
            requiredTools: ["get_account_balance"],
            script: [
              {
                response: "4 SOL",
                score: 0.75,
                toolCalls: [
                  {
                    toolName: "get_account_balance",
                    input: { wallet: "W1", tokens: ["SOL"] },
                    output: { sol: 4, nested: { a: [1, 2] } },
                    durationMs: 12,
                  },
                  { toolName: "price_lookup", input: { mint: "USDC" }, success: false, error: "no route", durationMs: 5 },
                ],
              },
            ],
          },
          { stepId: "swap", prompt: "p", requiredTools: ["jupiter_swap"], script: [{ response: "nope", toolCalls: [] }] },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored).toHaveLength(2);
      const [s0, s1] = stored;
      expect(s0).toMatchObject({
        sessionId: `${executionId}_step_0`,
        stepIndex: 0,
        stepId: "balance_check",
        status: "success",
        success: true,
        score: 0.75,
        error: null,
      });
      expect(s0!.toolCalls).toEqual([
        {
          callIndex: 0,
          attempt: 1,
          toolName: "get_account_balance",
          input: { wallet: "W1", tokens: ["SOL"] },
          output: { sol: 4, nested: { a: [1, 2] } },
          success: true,
          durationMs: expect.any(Number),
          error: null,
        },
        {
          callIndex: 1,
          attempt: 1,
          toolName: "price_lookup",
          input: { mint: "USDC" },
          output: null,
          success: false,
          durationMs: expect.any(Number),
          error: "no route",
        },
      ]);
      const r0 = result.stepResults[0]!;
      // The scripted calls took their time (12 ms and 5 ms, measured), inside the step that made them.
      const [d0, d1] = s0!.toolCalls.map((c) => c.durationMs!);
      expect(d0).toBeGreaterThanOrEqual(12);
      expect(d1).toBeGreaterThanOrEqual(5);
      expect(d0! + d1!).toBeLessThanOrEqual(r0.durationMs!);
      expect(s0!.startedAt?.toISOString()).toBe(r0.startedAt);
      expect(s0!.finishedAt?.toISOString()).toBe(r0.finishedAt);
      expect(s0!.durationMs).toBe(r0.durationMs);
      expect(s0!.finishedAt!.getTime() - s0!.startedAt!.getTime()).toBe(r0.durationMs);
      // The content is only the agent's response: the tool calls are stored once, in tool_calls.
      expect(s0!.content).toBe(r0.response);

      expect(s1).toMatchObject({
        stepIndex: 1,
        stepId: "swap",
        status: "failed",
        success: false,
        score: null,
        error: "Required tool jupiter_swap was not called",
      });
      expect(s1!.toolCalls).toEqual([]);

      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({
        flowId: flow.flowId,
        agent: "scripted",
        prompt: flow.prompt,
        status: "failed",
        openTransaction: null,
      });
      expect(execution!.metadata).toEqual({ atomic: false, steps: ["balance_check", "swap"] });
    });
  });

  describe("one typed path for a step", () => {
    it("the consolidated document is what the seed's JSON path gave, field for field, except content: the response only", async () => {
      const flow = plan({
        flowId: uid("typed"),
        steps: [
          { stepId: "balance", prompt: "p", requiredTools: ["get_balance"] },
          { stepId: "swap", prompt: "p", requiredTools: ["swap"] },
          { stepId: "idle", prompt: "p" },
        ],
      });
      const agent = recordingAgent((step) => {
        if (step.stepId === "idle") throw new Error("no answer");
        return {
          response: `${step.stepId} done`,
          score: step.stepId === "balance" ? 0.5 : undefined,
          toolCalls: [
            {
              toolName: step.requiredTools[0]!,
              input: { z: 1, a: { y: 2, b: 3 } },
              output: { ok: step.stepId },
              success: true,
              durationMs: 4,
            },
            { toolName: "log", input: "text", output: null, success: false, durationMs: 2, error: "disk full" },
          ],
        };
      });
      const typedId = uid("exec");
      const typed = await new PingPongExecutor(db).execute(flow, agent, { executionId: typedId });
      // The seed's path for the very same results: each StepResult as a JSON string.
      const seedId = uid("exec");
      await db.writer.createExecutionSession({ executionId: seedId, flowId: flow.flowId, agent: "recording", prompt: flow.prompt });
      for (const r of typed.stepResults) await db.writer.storeStepSession(seedId, r.stepIndex, JSON.stringify(r));
      const seed = await consolidateExecution(db, seedId);

      const documentOf = async (id: string) =>
        ZConsolidatedContent.parse(JSON.parse((await db.writer.getConsolidatedSession(id)) ?? "null"));
      const typedDoc = await documentOf(typed.consolidatedSessionId!);
      const seedDoc = await documentOf(seed.consolidatedSessionId);
      expect(typed.consolidation.metadata).toEqual(seed.metadata);
      // The fields the seed's path gives; what attempts added (attempt numbers, the attempt log) comes on top.
      const comparable = (doc: typeof typedDoc, id: string) =>
        doc.steps.map((step) => ({
          step_index: step.step_index,
          session_id: step.session_id.replace(id, "EXEC"),
          step_id: step.step_id,
          status: step.status,
          success: step.success,
          score: step.score,
          tool_count: step.tool_count,
          started_at: step.started_at,
          finished_at: step.finished_at,
          duration_ms: step.duration_ms,
          error: step.error,
          tool_calls: step.tool_calls.map(({ attempt: _attempt, ...call }) => call),
        }));
      expect(comparable(typedDoc, typedId)).toEqual(comparable(seedDoc, seedId));
      expect(Object.keys(typedDoc.steps[0]!)).toEqual(expect.arrayContaining(Object.keys(seedDoc.steps[0]!)));
      // Apart from what only the typed path records: its attempts, and so their usage (the seed's
      // string path records none: its cost is unknown for want of attempts, the typed one's for want of counts).
      const {
        infrastructure_errors: _i,
        total_input_tokens: _in,
        total_output_tokens: _out,
        cost_unknown: seedGaps,
        ...seedMetrics
      } = seedDoc.metadata;
      expect(typedDoc.metadata).toMatchObject(seedMetrics);
      expect([seedGaps, typedDoc.metadata.cost_unknown]).toEqual([
        [{ reason: "no_usage", reported: "no_attempts" }],
        [{ reason: "no_usage", reported: "none" }],
      ]);
      expect(typedDoc.steps.map((s) => s.content)).toEqual(["balance done", "swap done", ""]);
      // The seed's content repeated every tool call; the typed one names none of them.
      expect(seedDoc.steps[0]!.content).toContain("get_balance");
      expect(typedDoc.steps.some((s) => s.content.includes("disk full"))).toBe(false);
      expect(typedDoc.steps[0]!.tool_calls.map((t) => t.tool_name)).toEqual(["get_balance", "log"]);
    });
  });

  describe("judging from structured tool calls", () => {
    const run = async (requiredTools: string[], toolCalls: Record<string, unknown>[]): Promise<StepResult> => {
      const flow = plan({
        flowId: uid("judge"),
        steps: [{ stepId: "s", prompt: "p", requiredTools, script: [{ response: "error error error", toolCalls }] }],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId: uid("exec"), consolidate: false });
      return result.stepResults[0]!;
    };

    it("a required tool that failed fails the step with the tool's error", async () => {
      const step = await run(["swap"], [{ toolName: "swap", success: false, error: "Invalid parameters" }]);
      expect(step).toMatchObject({ status: "failed", success: false, error: "Invalid parameters" });
    });

    it("a failed required tool without an error message still fails, naming the tool", async () => {
      const step = await run(["swap"], [{ toolName: "swap", success: false }]);
      expect(step).toMatchObject({ status: "failed", error: "swap failed" });
    });

    it("a required tool never called fails the step", async () => {
      const step = await run(["balance", "swap"], [{ toolName: "balance" }, { toolName: "other" }]);
      expect(step).toMatchObject({ status: "failed", error: "Required tool swap was not called" });
    });

    it("a later successful call of the same tool makes the step a success; the failed call stays recorded", async () => {
      const step = await run(
        ["swap"],
        [
          { toolName: "swap", success: false, error: "slippage" },
          { toolName: "swap", output: { tx: "abc" } },
        ],
      );
      expect(step).toMatchObject({ status: "success", success: true, error: null });
      expect(step.toolCalls.map((c) => [c.toolName, c.success, c.error])).toEqual([
        ["swap", false, "slippage"],
        ["swap", true, undefined],
      ]);
    });

    it("the words of the response never decide: 'error' in the text with every tool succeeding is a success", async () => {
      const step = await run(["swap"], [{ toolName: "swap" }]);
      expect(step.response).toBe("error error error");
      expect(step.status).toBe("success");
    });

    it("a failed optional tool does not fail the step", async () => {
      const step = await run([], [{ toolName: "lookup", success: false, error: "down" }]);
      expect(step.status).toBe("success");
    });
  });

  describe("malformed agent results", () => {
    it.each([
      ["toolCalls not an array", { response: "x", toolCalls: "get_balance" }, /^Agent returned a malformed result: toolCalls: /],
      ["no response", { toolCalls: [] }, /^Agent returned a malformed result: response: /],
      [
        "a tool call without a name",
        { response: "x", toolCalls: [{ input: {}, output: {}, success: true, durationMs: 1 }] },
        /^Agent returned a malformed result: toolCalls\.0\.toolName: /,
      ],
      ["a score over 1", { response: "x", toolCalls: [], score: 7 }, /^Agent returned a malformed result: score: /],
      ["nothing at all", undefined, /^Agent returned a malformed result: result: /],
    ])("%s → the step fails with a clear error, the run goes on", async (_name, answer, message) => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("bad"),
        steps: [
          { stepId: "bad", prompt: "p" },
          { stepId: "next", prompt: "p" },
        ],
      });
      const agent = recordingAgent((step) => (step.stepId === "bad" ? answer : { response: "ok", toolCalls: [] }));
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });
      expect(result.stepResults[0]).toMatchObject({ status: "failed", success: false, response: null, toolCalls: [] });
      expect(result.stepResults[0]!.error).toMatch(message);
      expect(result.stepResults[1]!.status).toBe("success");
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => [s.status, s.error])).toEqual([
        ["failed", result.stepResults[0]!.error],
        ["success", null],
      ]);
    });

    it("an agent that throws synchronously fails the step instead of the run", async () => {
      const flow = plan({ flowId: uid("throw"), steps: [{ stepId: "s", prompt: "p" }] });
      const agent = {
        name: "thrower",
        run: () => {
          throw new TypeError("boom");
        },
      };
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId: uid("exec"), consolidate: false });
      expect(result.stepResults[0]).toMatchObject({ status: "failed", error: "boom" });
    });

    it("tool inputs and outputs that JSON cannot hold are normalised before storing", async () => {
      const executionId = uid("exec");
      const flow = plan({ flowId: uid("json"), steps: [{ stepId: "s", prompt: "p", requiredTools: ["t"] }] });
      const agent = recordingAgent(() => ({
        response: "ok",
        toolCalls: [
          {
            toolName: "t",
            input: { when: new Date("2025-01-01T00:00:00Z"), gone: undefined },
            output: undefined,
            success: true,
            durationMs: 2.6,
          },
        ],
      }));
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });
      expect(result.status).toBe("completed");
      const [stored] = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored!.toolCalls[0]).toMatchObject({ input: { when: "2025-01-01T00:00:00.000Z" }, output: null, durationMs: 3 });
    });
  });

  describe("critical failures and the final status", () => {
    it("`stop` lets the step under way finish and ends the run failed with the stop's reason in its own words", async () => {
      for (const [reason, words] of [
        [new Error("shutting down"), "shutting down"],
        ["server shutting down", "server shutting down"],
        [undefined, "the run was stopped"],
      ] as const) {
        const stop = new AbortController();
        const agent = recordingAgent(async (step, context, signal) => {
          if (step.stepId === "first") stop.abort(reason);
          return new ScriptedAgent().run(step, context, signal);
        });
        const flow = plan({
          flowId: uid("stop"),
          steps: [
            { stepId: "first", prompt: "p" },
            { stepId: "second", prompt: "p" },
          ],
        });
        const result = await new PingPongExecutor(db).execute(flow, agent, { consolidate: false, stop: stop.signal });
        expect({ words, result }).toMatchObject({ words, result: { status: "failed", completedSteps: 1, error: `Stopped: ${words}` } });
        expect(result.stepResults.map((s) => [s.stepId, s.status])).toEqual([
          ["first", "success"],
          ["second", "skipped"],
        ]);
      }
    });

    it("a critical failure stops the run: the remaining steps are stored as skipped and the execution ends failed", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("crit"),
        steps: [
          { stepId: "balance", prompt: "p" },
          {
            stepId: "swap",
            prompt: "p",
            critical: true,
            requiredTools: ["jupiter_swap"],
            script: [{ toolCalls: [{ toolName: "jupiter_swap", success: false, error: "Invalid parameters" }] }],
          },
          { stepId: "lend", prompt: "p" },
          { stepId: "position", prompt: "p" },
        ],
      });
      const agent = recordingAgent((step, context, signal) => new ScriptedAgent().run(step, context, signal));
      const events: ExecutionEvent[] = [];
      const result = await new PingPongExecutor(db).execute(flow, agent, {
        executionId,
        consolidate: false,
        onEvent: (e) => events.push(e),
      });

      expect(agent.calls.map((c) => c.stepId)).toEqual(["balance", "swap"]);
      const why = "critical step swap failed: Invalid parameters";
      expect(result).toMatchObject({ status: "failed", completedSteps: 1, totalSteps: 4, error: `Stopped: ${why}` });
      expect(result.stepResults.map((s) => [s.stepId, s.status, s.attempts, s.error])).toEqual([
        ["balance", "success", 1, null],
        ["swap", "failed", 1, "Invalid parameters"],
        ["lend", "skipped", 0, `Skipped: ${why}`],
        ["position", "skipped", 0, `Skipped: ${why}`],
      ]);
      expect(result.stepResults[2]).toMatchObject({
        prompt: null,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        response: null,
        toolCalls: [],
        success: false,
      });

      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => [s.stepIndex, s.status, s.error])).toEqual([
        [0, "success", null],
        [1, "failed", "Invalid parameters"],
        [2, "skipped", `Skipped: ${why}`],
        [3, "skipped", `Skipped: ${why}`],
      ]);
      // Skipped steps are reported as finished too, but never started.
      expect(eventsOf(events, "step-finished").map((e) => e.step.status)).toEqual(["success", "failed", "skipped", "skipped"]);
      expect(eventsOf(events, "step-started").map((e) => e.stepId)).toEqual(["balance", "swap"]);

      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({ status: "failed", error: `Stopped: ${why}`, durationMs: result.durationMs });
      expect(execution!.finishedAt!.getTime() - execution!.startedAt.getTime()).toBe(result.durationMs);
    });

    it("non-critical failures continue, and a run with one failure ends failed, not completed", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("noncrit"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p", script: [{ fail: "flaky tool" }] },
          { stepId: "c", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      expect(result.stepResults.map((s) => s.status)).toEqual(["success", "failed", "success"]);
      expect(result).toMatchObject({ status: "failed", completedSteps: 2, totalSteps: 3, error: "1 of 3 steps did not succeed" });
      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({ status: "failed", error: "1 of 3 steps did not succeed" });
      expect((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.status)).toEqual(["success", "failed", "success"]);
    });

    it("completed only when every step succeeded; the stored execution agrees", async () => {
      const executionId = uid("exec");
      const clock = {
        now: (() => {
          let t = Date.UTC(2025, 5, 1);
          return () => (t += 250);
        })(),
        sleep: async () => {},
      };
      const flow = plan({
        flowId: uid("ok"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
        ],
      });
      const result = await new PingPongExecutor(db, { clock }).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      expect(result).toMatchObject({ status: "completed", completedSteps: 2, error: null });
      // Durations come from the injected clock (every reading 250 ms after the last), not from the wall.
      expect(result.stepResults.map((s) => s.durationMs)).toEqual([250, 250]);
      expect(result.durationMs % 250).toBe(0);
      expect(result.durationMs).toBeGreaterThanOrEqual(4 * 250); // two steps, each started and finished
      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({ status: "completed", error: null, durationMs: result.durationMs });
      expect(execution!.startedAt.toISOString()).toBe(new Date(Date.UTC(2025, 5, 1) + 250).toISOString());
      expect(execution!.finishedAt!.getTime() - execution!.startedAt.getTime()).toBe(result.durationMs);
    });

    it("a critical step that fails on its last step still leaves nothing to skip", async () => {
      const flow = plan({
        flowId: uid("lastcrit"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p", critical: true, script: [{ fail: "x" }] },
        ],
      });
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId: uid("exec"), consolidate: false });
      expect(result.stepResults.map((s) => s.status)).toEqual(["success", "failed"]);
      expect(result).toMatchObject({ status: "failed", error: "Stopped: critical step b failed: x" });
    });

    it("an execution id already taken is refused before any agent call, leaving the first execution alone", async () => {
      const executionId = uid("exec");
      const flow = plan({ flowId: uid("dup"), steps: [{ stepId: "a", prompt: "p" }] });
      await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId, consolidate: false });
      const agent = recordingAgent();
      await expect(new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false })).rejects.toMatchObject({
        code: "CONFLICT",
      });
      expect(agent.calls).toEqual([]);
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({ status: "completed" });
      expect(await db.writer.getSessionsForConsolidation(executionId)).toHaveLength(1);
    });

    it("a step that cannot be stored stops the run and says so", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("too-big"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
          { stepId: "c", prompt: "p" },
        ],
      });
      // A writer with a small content cap: step b's result is too large to store, a real VALIDATION refusal.
      const writer = new DatabaseWriter(prismaClientOf(db), { maxContentBytes: 4096 });
      const agent = recordingAgent((step) => ({ response: step.stepId === "b" ? "x".repeat(10_000) : "ok", toolCalls: [] }));
      const result = await new PingPongExecutor({ writer }).execute(flow, agent, { executionId, consolidate: false });
      expect(result.status).toBe("failed");
      expect(result.error).toMatch(/^Stopped: could not record step 1 \(b\): .*byte cap/);
      expect(agent.calls.map((c) => c.stepId)).toEqual(["a", "b"]);
      const execution = await db.writer.getExecutionSession(executionId);
      expect(execution).toMatchObject({ status: "failed", openTransaction: null });
      expect((await db.writer.getSessionsForConsolidation(executionId)).map((s) => s.stepId)).toEqual(["a"]);
    });

    it("U+0000 and lone surrogates in an agent's result, which PostgreSQL cannot store, are recorded as U+FFFD rather than lost", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("nul"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
        ],
      });
      const agent = recordingAgent((step) => {
        if (step.stepId === "b") throw new Error("bad\u0000byte\ud800");
        return {
          response: "nul\u0000here",
          toolCalls: [{ toolName: "t", input: { k: "v\u0000", half: "\udc00" }, output: null, success: true, durationMs: 1 }],
        };
      });
      const result = await new PingPongExecutor(db).execute(flow, agent, { executionId, consolidate: false });
      expect(result.stepResults.map((s) => s.status)).toEqual(["success", "failed"]);
      const stored = await db.writer.getSessionsForConsolidation(executionId);
      expect(stored.map((s) => s.stepId)).toEqual(["a", "b"]);
      expect(stored[0]?.toolCalls[0]?.input).toEqual({ k: "v\ufffd", half: "\ufffd" });
      expect(stored[0]?.content).toBe("nul\ufffdhere");
      expect(stored[1]?.error).toBe("bad\ufffdbyte\ufffd");
    });

    it("a progress listener that throws does not break the run or its recording", async () => {
      const executionId = uid("exec");
      const flow = plan({
        flowId: uid("listener"),
        steps: [
          { stepId: "a", prompt: "p" },
          { stepId: "b", prompt: "p" },
        ],
      });
      let seen = 0;
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), {
        executionId,
        consolidate: false,
        onEvent: () => {
          seen += 1;
          throw new Error("listener bug");
        },
      });
      expect(seen).toBeGreaterThanOrEqual(6);
      expect(result.status).toBe("completed");
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({ status: "completed", openTransaction: null });
      expect(await db.writer.getSessionsForConsolidation(executionId)).toHaveLength(2);
    });
  });
});
