// Step writes: retry safety, conflicts, replacing a pending step, numeric order, structured steps,
// and the execution lifecycle reads.
import { describe, expect } from "vitest";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, stepRows, toolCallCount, uid, visibleSteps } from "./helpers.js";

describe.each(testBackends())("steps on $name", (backend) => {
  test.override({ backend });

  describe("retry-safe writes", () => {
    test("a step recorded elsewhere keeps when it was stored and committed; its times are not its content, so a retry at other times is a no-op", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const createdAt = "2020-01-01T00:00:01.000Z";
      const committedAt = "2020-01-01T00:00:02.500Z";
      const step = { stepIndex: 0, stepId: "s", success: true };
      expect(await w.storeSteps(id, [{ ...step, createdAt, committedAt }], { transactionId: null })).toEqual({ stored: 1, created: 1 });
      expect(await w.storeStep(id, { ...step, committedAt: "2021-01-01T00:00:00.000Z" })).toMatchObject({ created: false });
      const [read] = await w.getSessionsForConsolidation(id);
      expect([read?.createdAt, read?.timestamp]).toEqual([new Date(createdAt), new Date(committedAt)]);
      expect(JSON.parse(read?.content ?? "")).toEqual({ stepIndex: 0, stepId: "s", success: true });
      // Left out: now.
      const before = Date.now();
      await w.storeStep(id, { stepIndex: 1 });
      expect((await w.getSessionsForConsolidation(id))[1]?.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
      await expectDbError(w.storeStep(id, { stepIndex: 2, committedAt: "yesterday" }), "VALIDATION", "committedAt");
    });

    test("the same (executionId, stepIndex, content) twice leaves one row and no duplicated tool calls", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const yaml = "step_id: s\nsuccess: true\ntool_calls:\n- get_account_balance\n- jupiter_swap\n";
      await w.storeStepSession(id, 0, yaml);
      await w.storeStepSession(id, 0, yaml);
      expect(await stepRows(db, id)).toHaveLength(1);
      expect(await toolCallCount(db, id)).toBe(2);

      const step = { stepIndex: 1, stepId: "s1", success: true, toolCalls: [{ toolName: "a", input: { x: 1 } }] };
      expect(await w.storeStep(id, step)).toEqual({ sessionId: `${id}_step_1`, state: "committed", created: true });
      expect(await w.storeStep(id, step)).toEqual({ sessionId: `${id}_step_1`, state: "committed", created: false });
      expect(await stepRows(db, id)).toHaveLength(2);
      expect(await toolCallCount(db, id)).toBe(3);
      expect((await w.getSessionsForConsolidation(id)).map((s) => s.toolCalls.length)).toEqual([2, 1]);
    });

    test("a retry of a pending step in the open transaction is a no-op too, and the retry after commit as well", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      const step = { stepIndex: 0, content: "same", toolCalls: [{ toolName: "t" }] };
      expect(await w.storeStep(id, step)).toMatchObject({ state: "pending", created: true });
      expect(await w.storeStep(id, step)).toMatchObject({ state: "pending", created: false });
      await w.commitTransaction(id);
      expect(await w.storeStep(id, step)).toMatchObject({ state: "committed", created: false });
      expect(await stepRows(db, id)).toHaveLength(1);
      expect(await toolCallCount(db, id)).toBe(1);
    });

    test("different content for a committed step → CONFLICT naming stepIndex; the original is unchanged", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStep(id, { stepIndex: 0, content: "original", toolCalls: [{ toolName: "orig" }] });
      const err = await expectDbError(w.storeStepSession(id, 0, "overwrite attempt"), "CONFLICT", "stepIndex");
      expect(err.message).toContain(id);
      await expectDbError(
        w.storeStep(id, { stepIndex: 0, content: "other", toolCalls: [{ toolName: "x" }, { toolName: "y" }] }),
        "CONFLICT",
      );

      // Also from inside a later transaction: a committed step is not "pending in this transaction".
      await w.beginTransaction(id);
      await expectDbError(w.storeStepSession(id, 0, "overwrite inside tx"), "CONFLICT", "stepIndex");
      await w.commitTransaction(id);

      const [session] = await w.getSessionsForConsolidation(id);
      expect(session).toMatchObject({ content: "original", toolCalls: [{ toolName: "orig" }] });
      expect(await stepRows(db, id)).toHaveLength(1);
      expect(await toolCallCount(db, id)).toBe(1);
    });

    test("the same explicit content with other structured fields or tool calls is a CONFLICT, not a retry", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStep(id, { stepIndex: 0, content: "raw log", success: true, toolCalls: [{ toolName: "a" }] });
      await expectDbError(
        w.storeStep(id, { stepIndex: 0, content: "raw log", success: false, toolCalls: [{ toolName: "a" }] }),
        "CONFLICT",
        "stepIndex",
      );
      await expectDbError(
        w.storeStep(id, { stepIndex: 0, content: "raw log", success: true, toolCalls: [{ toolName: "b" }] }),
        "CONFLICT",
        "stepIndex",
      );
      const [stored] = await w.getSessionsForConsolidation(id);
      expect(stored).toMatchObject({ success: true, toolCalls: [{ toolName: "a" }] });
    });

    test("a pending step of the open transaction can be replaced: content, fields and tool calls all replaced", async ({ db }) => {
      // Documented behaviour (writer.storeStep): nobody has seen a pending step yet, so the agent may
      // redo it within the same transaction; the last write wins.
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.storeStep(id, {
        stepIndex: 0,
        content: "first try",
        success: false,
        error: "boom",
        toolCalls: [{ toolName: "a" }, { toolName: "b" }],
      });
      const replaced = await w.storeStep(id, {
        stepIndex: 0,
        content: "second try",
        success: true,
        score: 0.9,
        toolCalls: [{ toolName: "c" }],
      });
      expect(replaced).toEqual({ sessionId: `${id}_step_0`, state: "pending", created: true });
      expect(await stepRows(db, id)).toMatchObject([{ stepIndex: 0, state: "pending", content: "second try" }]);
      expect(await toolCallCount(db, id)).toBe(1);
      await w.commitTransaction(id);
      expect(await w.getSessionsForConsolidation(id)).toMatchObject([
        { content: "second try", status: "success", success: true, score: 0.9, error: null, toolCalls: [{ callIndex: 0, toolName: "c" }] },
      ]);
    });
  });

  describe("attempts", () => {
    const twoAttempts = {
      stepIndex: 0,
      content: "swapped",
      stepId: "swap",
      status: "success" as const,
      toolCalls: [
        { toolName: "jupiter_swap", attempt: 1, success: false, error: "rpc down" },
        { toolName: "jupiter_swap", attempt: 2, success: true, output: { out: 1 } },
      ],
      attempts: [
        {
          attempt: 1,
          status: "failed" as const,
          error: "rpc down",
          errorKind: "infrastructure" as const,
          startedAt: "2025-01-01T00:00:00.000Z",
          finishedAt: "2025-01-01T00:00:00.250Z",
          durationMs: 250,
          model: "m-1",
          inputTokens: 2 ** 40,
          outputTokens: 7,
          cachedInputTokens: null,
        },
        { attempt: 2, status: "success" as const, durationMs: 100, model: "m-1", inputTokens: 5, outputTokens: 3, cachedInputTokens: 2 },
      ],
    };

    test("every attempt is stored in step_attempts, with each tool call's attempt; BIGINT counts read back exactly", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStep(id, twoAttempts);
      expect(await w.storeStep(id, twoAttempts)).toMatchObject({ created: false });
      const [step] = await w.getSessionsForConsolidation(id);
      expect(step!.toolCalls.map((c) => [c.attempt, c.success, c.error])).toEqual([
        [1, false, "rpc down"],
        [2, true, null],
      ]);
      expect(step!.attempts).toEqual([
        {
          attempt: 1,
          status: "failed",
          error: "rpc down",
          errorKind: "infrastructure",
          startedAt: new Date("2025-01-01T00:00:00.000Z"),
          finishedAt: new Date("2025-01-01T00:00:00.250Z"),
          durationMs: 250,
          model: "m-1",
          inputTokens: 2 ** 40,
          outputTokens: 7,
          cachedInputTokens: null,
        },
        {
          attempt: 2,
          status: "success",
          error: null,
          errorKind: null,
          startedAt: null,
          finishedAt: null,
          durationMs: 100,
          model: "m-1",
          inputTokens: 5,
          outputTokens: 3,
          cachedInputTokens: 2,
        },
      ]);
      // Another attempt record for the committed step is other content: refused, never merged.
      await expectDbError(w.storeStep(id, { ...twoAttempts, attempts: twoAttempts.attempts.slice(1) }), "CONFLICT");
    });

    test("a step's attempts go with it: a rolled-back transaction leaves none behind", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.storeStep(id, twoAttempts);
      await w.rollbackTransaction(id);
      expect(await prismaClientOf(db).stepAttempt.count({ where: { executionId: id } })).toBe(0);
    });

    test("an attempt number given twice, or a bad token count, is refused naming the field; nothing is written", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const repeated = { ...twoAttempts, attempts: [twoAttempts.attempts[0]!, { ...twoAttempts.attempts[1]!, attempt: 1 }] };
      await expectDbError(w.storeStep(id, repeated), "VALIDATION", "attempts[1].attempt");
      const negative = { ...twoAttempts, attempts: [{ ...twoAttempts.attempts[1]!, outputTokens: -1 }] };
      await expectDbError(w.storeStep(id, negative), "VALIDATION", "attempts[0].outputTokens");
      expect(await stepRows(db, id)).toHaveLength(0);
    });
  });

  test("getSessionsForConsolidation returns committed steps in numeric stepIndex order (10 after 2)", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    for (const i of [10, 2, 1, 0]) await w.storeStepSession(id, i, `step ${i}`);
    // A pending step in between is not returned.
    await w.beginTransaction(id);
    await w.storeStepSession(id, 5, "pending 5");
    const sessions = await w.getSessionsForConsolidation(id);
    expect(sessions.map((s) => s.stepIndex)).toEqual([0, 1, 2, 10]);
    expect(sessions.map((s) => s.sessionId)).toEqual([0, 1, 2, 10].map((i) => `${id}_step_${i}`));
    expect(sessions.map((s) => s.content)).toEqual(["step 0", "step 1", "step 2", "step 10"]);
    await w.commitTransaction(id);
    expect(await visibleSteps(w, id)).toEqual([0, 1, 2, 5, 10]);
  });

  test("storeStep stores structured fields and ordered tool calls, and serialises the step as content when none is given", async ({
    db,
  }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const startedAt = new Date("2025-11-07T10:00:00.000Z");
    const step = {
      stepIndex: 0,
      stepId: "complex_swap",
      status: "timed_out" as const,
      score: 0.25,
      startedAt,
      finishedAt: "2025-11-07T10:00:30.000Z",
      durationMs: 30_000,
      error: "Step complex_swap timed out after 30000ms",
      toolCalls: [
        {
          toolName: "jupiter_swap",
          input: { amount: 1.5, mint: "SOL" },
          output: { tx: "abc", nested: [1, null, true] },
          success: true,
          durationMs: 12,
        },
        { toolName: "get_account_balance", success: false, error: "rpc down" },
      ],
    };
    await w.storeStep(id, step);
    const [s] = await w.getSessionsForConsolidation(id);
    expect(s).toMatchObject({
      stepId: "complex_swap",
      status: "timed_out",
      success: false,
      score: 0.25,
      startedAt: new Date("2025-11-07T10:00:00.000Z"),
      finishedAt: new Date("2025-11-07T10:00:30.000Z"),
      durationMs: 30_000,
      error: "Step complex_swap timed out after 30000ms",
      toolCalls: [
        {
          callIndex: 0,
          toolName: "jupiter_swap",
          input: { amount: 1.5, mint: "SOL" },
          output: { tx: "abc", nested: [1, null, true] },
          success: true,
          durationMs: 12,
          error: null,
        },
        { callIndex: 1, toolName: "get_account_balance", input: null, output: null, success: false, durationMs: null, error: "rpc down" },
      ],
    });
    expect(JSON.parse(s!.content)).toMatchObject({ stepIndex: 0, stepId: "complex_swap", toolCalls: [{ toolName: "jupiter_swap" }, {}] });
  });

  describe("execution lifecycle", () => {
    test("create, get, list by status with paging, finish", async ({ db }) => {
      const w = db.writer;
      const flowId = uid("flow");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const executionId = uid(`life${i}`);
        ids.push(executionId);
        await w.createExecutionSession({
          executionId,
          flowId,
          agent: "glm-4.6",
          prompt: "use my 50% sol to multiply usdc 1.5x on jup",
          metadata: { wallet: "abc", n: i },
          startedAt: new Date(Date.UTC(2025, 10, 7, 10, i)),
        });
      }
      expect(await w.getExecutionSession(ids[0]!)).toMatchObject({
        executionId: ids[0],
        flowId,
        status: "running",
        metadata: { wallet: "abc", n: 0 },
        finishedAt: null,
        openTransaction: null,
        consolidation: { status: "pending", error: null, updatedAt: null },
      });
      await w.finishExecutionSession(ids[1]!, { status: "completed", finishedAt: new Date(Date.UTC(2025, 10, 7, 10, 1, 5)) });
      expect((await w.getExecutionSession(ids[1]!))?.durationMs).toBe(5_000);

      // Newest first; filters; paging.
      expect((await w.listExecutionSessions({ flowId })).map((e) => e.executionId)).toEqual([ids[2], ids[1], ids[0]]);
      expect((await w.listExecutionSessions({ flowId, status: "running" })).map((e) => e.executionId)).toEqual([ids[2], ids[0]]);
      expect((await w.listExecutionSessions({ flowId, status: "completed" })).map((e) => e.executionId)).toEqual([ids[1]]);
      expect((await w.listExecutionSessions({ flowId, limit: 1, offset: 1 })).map((e) => e.executionId)).toEqual([ids[1]]);
      await expectDbError(w.listExecutionSessions({ limit: 0 }), "VALIDATION", "limit");
    });

    test("setConsolidationStatus is a compare-and-swap when `expected` is given", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      expect(await w.setConsolidationStatus(id, "in_progress", { expected: "pending" })).toBe(true);
      expect(await w.setConsolidationStatus(id, "completed", { expected: "pending" })).toBe(false);
      expect((await w.getExecutionSession(id))?.consolidation.status).toBe("in_progress");
      expect(await w.setConsolidationStatus(id, "failed", { expected: ["in_progress", "pending"], error: "llm down" })).toBe(true);
      expect((await w.getExecutionSession(id))?.consolidation).toMatchObject({ status: "failed", error: "llm down" });
      await expectDbError(w.setConsolidationStatus(uid("missing"), "failed"), "NOT_FOUND");
    });
  });
});
