// A call whose reply was lost (the network, a crash) is retried by its caller: the retry must find
// that the first call already happened and succeed without doing it twice — and a call that merely
// looks like a retry but asks for something else must still be refused. (fault-injection.test.ts
// loses real replies; this file states the rules directly.)
import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, rowCounts, stepRows } from "./helpers.js";

describe.each(testBackends())("retried writer calls on $name", (backend) => {
  test.override({ backend });

  test("beginTransaction with a caller-chosen id: again while open returns it; once ended, or not a UUID, is refused", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const chosen = randomUUID();
    expect(await w.beginTransaction(id, { transactionId: chosen })).toBe(chosen);
    expect(await w.beginTransaction(id, { transactionId: chosen })).toBe(chosen);
    await expectDbError(w.beginTransaction(id, { transactionId: randomUUID() }), "TRANSACTION_STATE", "executionId");
    await w.storeStep(id, { stepIndex: 0, content: "in it" }, { transactionId: chosen });
    await w.commitTransaction(id, { transactionId: chosen });
    const ended = await expectDbError(w.beginTransaction(id, { transactionId: chosen }), "TRANSACTION_STATE", "transactionId");
    expect({ retryable: ended.retryable, httpStatus: ended.httpStatus }).toEqual({ retryable: false, httpStatus: 409 });
    expect(ended.message).toContain("already ended (committed)");
    await expectDbError(w.beginTransaction(id, { transactionId: "not-a-uuid" }), "VALIDATION", "options.transactionId");
    expect((await w.getExecutionSession(id))?.openTransaction).toBeNull();
  });

  test("commit and rollback again with the same guard are no-ops; the opposite outcome is refused and says what happened", async ({
    db,
  }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const committed = await w.beginTransaction(id);
    await w.storeStep(id, { stepIndex: 0, content: "a" }, { transactionId: committed });
    await w.commitTransaction(id, { transactionId: committed });
    await w.commitTransaction(id, { transactionId: committed });
    const wrong = await expectDbError(w.rollbackTransaction(id, { transactionId: committed }), "TRANSACTION_STATE", "transactionId");
    expect(wrong.message).toContain("was already committed");

    const rolledBack = await w.beginTransaction(id);
    await w.storeStep(id, { stepIndex: 1, content: "b" }, { transactionId: rolledBack });
    await w.rollbackTransaction(id, { transactionId: rolledBack });
    await w.rollbackTransaction(id, { transactionId: rolledBack });
    expect(
      (await expectDbError(w.commitTransaction(id, { transactionId: rolledBack }), "TRANSACTION_STATE", "transactionId")).message,
    ).toContain("was already rolled back");
    expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state])).toEqual([[0, "committed"]]);
    // Without a guard there is nothing to recognise a retry by: "no open transaction".
    await expectDbError(w.commitTransaction(id), "TRANSACTION_STATE", "executionId");
  });

  test("finishExecutionSession again with the same outcome returns the record; another outcome is refused", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const first = await w.finishExecutionSession(id, { status: "failed", error: "step 2 failed" });
    expect(await w.finishExecutionSession(id, { status: "failed", error: "step 2 failed" })).toEqual(first);
    await expectDbError(w.finishExecutionSession(id, { status: "completed" }), "TRANSACTION_STATE", "executionId");
    await expectDbError(w.finishExecutionSession(id, { status: "failed", error: "another reason" }), "TRANSACTION_STATE", "executionId");
    expect(await w.getExecutionSession(id)).toEqual(first);
  });

  test("createExecutionSession and storeConsolidatedSession again with the same fields write nothing more", async ({ db }) => {
    const w = db.writer;
    const input = {
      executionId: `retry-${randomUUID()}`,
      flowId: "f",
      agent: "a",
      prompt: "p",
      metadata: { b: [1, 2], a: { y: 1, x: 2 } },
    };
    const created = await w.createExecutionSession(input);
    // jsonb reorders keys; the retry is recognised whatever the order.
    expect(await w.createExecutionSession({ ...input, metadata: { a: { x: 2, y: 1 }, b: [1, 2] } })).toEqual(created);
    await expectDbError(w.createExecutionSession({ ...input, metadata: { b: [2, 1], a: { y: 1, x: 2 } } }), "CONFLICT", "executionId");
    await w.storeStep(input.executionId, { stepIndex: 0, content: "s" });
    const before = await rowCounts(db);
    await w.storeConsolidatedSession("c-retry", input.executionId, "doc", { avgScore: 0.5, totalTools: 0 });
    await w.storeConsolidatedSession("c-retry", input.executionId, "doc", { avgScore: 0.5, totalTools: 0 });
    await expectDbError(
      w.storeConsolidatedSession("c-retry", input.executionId, "doc", { avgScore: 0.25, totalTools: 0 }),
      "CONFLICT",
      "consolidatedId",
    );
    expect(await rowCounts(db)).toEqual({ ...before, consolidated: before.consolidated + 1 });
  });

  test("a transaction id in capitals is the same transaction (the uuid column reads back lower case)", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const upper = randomUUID().toUpperCase();
    const opened = await w.beginTransaction(id, { transactionId: upper });
    expect(opened).toBe(upper.toLowerCase());
    expect(await w.beginTransaction(id, { transactionId: upper })).toBe(opened);
    await w.storeStep(id, { stepIndex: 0, content: "x" }, { transactionId: upper });
    await w.commitTransaction(id, { transactionId: upper });
    expect((await stepRows(db, id)).map((r) => r.state)).toEqual(["committed"]);
  });

  test("a step read back (jsonb reorders keys) and written again is the same step: a no-op, not a CONFLICT", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const toolCalls = [{ toolName: "t", input: { zz: 1, a: { y: 2, b: [{ q: 1, c: 2 }] } }, output: { z: true, a: null }, success: true }];
    await w.storeStep(id, { stepIndex: 0, content: "c", toolCalls });
    const [read] = await w.getSessionsForConsolidation(id);
    expect(Object.keys(read!.toolCalls[0]!.input as object)).not.toEqual(["zz", "a"]);
    const again = read!.toolCalls.map(({ toolName, input, output, success }) => ({ toolName, input, output, success }));
    expect(await w.storeStep(id, { stepIndex: 0, content: "c", toolCalls: again })).toMatchObject({ created: false });
  });
});
