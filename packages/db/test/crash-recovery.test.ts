// A crash with an execution transaction open: pending rows stay, a new writer ("the new process") lists
// and recovers them, on every backend. The real thing (a SIGKILLed process on a PGlite directory) is in
// pglite-directory.test.ts.
import { describe, expect } from "vitest";
import { DatabaseWriter } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, stepRows, toolCallCount, visibleSteps } from "./helpers.js";

describe.each(testBackends())("crash and recovery on $name", (backend) => {
  test.override({ backend });

  test("pending steps of an abandoned writer are found and rolled back by a new writer", async ({ db }) => {
    // "The old process": stores a committed step, begins, stores two pending steps, then is never heard of again.
    const crashed = new DatabaseWriter(prismaClientOf(db));
    const id = await createExecution(crashed);
    const bystander = await createExecution(crashed);
    await crashed.storeStep(id, { stepIndex: 0, content: "committed before the crash", toolCalls: [{ toolName: "kept" }] });
    await crashed.beginTransaction(id);
    await crashed.storeStep(id, { stepIndex: 1, content: "pending 1", toolCalls: [{ toolName: "a" }] });
    await crashed.storeStep(id, { stepIndex: 2, content: "pending 2", toolCalls: [{ toolName: "b" }, { toolName: "c" }] });
    await crashed.storeStepSession(bystander, 0, "another execution, committed");
    const transactionId = (await crashed.getExecutionSession(id))?.openTransaction?.transactionId;
    expect(transactionId).toMatch(/^[0-9a-f-]{36}$/);

    // "The new process".
    const w = new DatabaseWriter(prismaClientOf(db));
    expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state])).toEqual([
      [0, "committed"],
      [1, "pending"],
      [2, "pending"],
    ]);
    expect(await visibleSteps(w, id)).toEqual([0]);
    const open = await w.listOpenTransactions();
    expect(open).toEqual([{ executionId: id, transactionId, openedAt: expect.any(Date), pendingSteps: 2 }]);

    // Too young to be recovered.
    expect(await w.recoverOpenTransactions({ olderThanMs: 60 * 60_000 })).toEqual([]);
    expect((await stepRows(db, id)).length).toBe(3);

    const recovered = await w.recoverOpenTransactions({ olderThanMs: 0 });
    expect(recovered).toEqual([{ executionId: id, transactionId, openedAt: open[0]!.openedAt, pendingSteps: 2 }]);
    expect((await stepRows(db, id)).map((r) => r.stepIndex)).toEqual([0]);
    expect(await toolCallCount(db, id)).toBe(1);
    expect((await w.getExecutionSession(id))?.openTransaction).toBeNull();
    expect(await w.listOpenTransactions()).toEqual([]);
    expect(await visibleSteps(w, bystander)).toEqual([0]);
    // Recovering again finds nothing.
    expect(await w.recoverOpenTransactions({ olderThanMs: 0 })).toEqual([]);

    // The execution carries on: a new transaction works, indexes 1 and 2 are free.
    await w.beginTransaction(id);
    await w.storeStepSession(id, 1, "after recovery");
    await w.commitTransaction(id);
    expect((await w.getSessionsForConsolidation(id)).map((s) => s.content)).toEqual(["committed before the crash", "after recovery"]);
  });

  test("olderThanMs picks only the transactions opened before the cutoff", async ({ db }) => {
    const w = db.writer;
    const old = await createExecution(w);
    const recent = await createExecution(w);
    for (const id of [old, recent]) {
      await w.beginTransaction(id);
      await w.storeStepSession(id, 0, `pending of ${id}`);
    }
    // Backdate one transaction by an hour, as if its process had died long ago.
    await prismaClientOf(db).executionSession.update({
      where: { executionId: old },
      data: { transactionOpenedAt: new Date(Date.now() - 3_600_000) },
    });

    expect((await w.listOpenTransactions({ olderThanMs: 60_000 })).map((o) => o.executionId)).toEqual([old]);
    expect((await w.listOpenTransactions()).map((o) => o.executionId)).toEqual([old, recent]); // oldest first
    const recovered = await w.recoverOpenTransactions({ olderThanMs: 60_000 });
    expect(recovered.map((r) => [r.executionId, r.pendingSteps])).toEqual([[old, 1]]);
    expect(await stepRows(db, old)).toEqual([]);
    expect(await stepRows(db, recent)).toMatchObject([{ state: "pending" }]);
    // The recent transaction is still live and commits normally.
    await w.commitTransaction(recent);
    expect(await visibleSteps(w, recent)).toEqual([0]);
  });
});
