// Per-execution transactions: isolation, pending/committed visibility, no database transaction held
// between calls, state errors, and 20 concurrent executions interleaving begin/store/commit/rollback.
import { describe, expect } from "vitest";
import type { DatabaseWriter } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, rowCounts, stepRows, toolCallCount, uid, visibleSteps, within } from "./helpers.js";

/** Executions a and b, each with a transaction of its own open and one pending step in it ("a0", "b0"). */
async function twoOpenTransactions(w: DatabaseWriter): Promise<{ a: string; b: string }> {
  const a = await createExecution(w);
  const b = await createExecution(w);
  await w.beginTransaction(a);
  await w.beginTransaction(b);
  await w.storeStepSession(a, 0, "a0");
  await w.storeStepSession(b, 0, "b0");
  return { a, b };
}

describe.each(testBackends())("execution transactions on $name", (backend) => {
  test.override({ backend });

  describe("isolation between executions", () => {
    test("two open transactions never see, commit or undo each other's steps", async ({ db }) => {
      const w = db.writer;
      const { a, b } = await twoOpenTransactions(w);
      await w.storeStepSession(a, 1, "a1");
      await w.storeStepSession(b, 1, "b1");

      // Both are pending: neither execution sees anything yet.
      expect(await visibleSteps(w, a)).toEqual([]);
      expect(await visibleSteps(w, b)).toEqual([]);

      // Committing A makes exactly A's steps visible; B's stay pending.
      await w.commitTransaction(a);
      expect((await w.getSessionsForConsolidation(a)).map((s) => s.content)).toEqual(["a0", "a1"]);
      expect(await visibleSteps(w, b)).toEqual([]);
      expect((await stepRows(db, b)).map((r) => r.state)).toEqual(["pending", "pending"]);
      expect((await w.getExecutionSession(b))?.openTransaction).not.toBeNull();

      // Rolling back B removes only B's steps.
      await w.rollbackTransaction(b);
      expect(await stepRows(db, b)).toEqual([]);
      expect((await w.getSessionsForConsolidation(a)).map((s) => s.content)).toEqual(["a0", "a1"]);
      expect((await w.getExecutionSession(a))?.openTransaction).toBeNull();
      expect((await w.getExecutionSession(b))?.openTransaction).toBeNull();
    });

    test("rolling back one execution leaves another execution's open transaction and pending steps alone", async ({ db }) => {
      const w = db.writer;
      const { a, b } = await twoOpenTransactions(w);
      const bTx = (await w.getExecutionSession(b))?.openTransaction?.transactionId;

      await w.rollbackTransaction(a);
      expect(await stepRows(db, a)).toEqual([]);
      expect(await stepRows(db, b)).toMatchObject([{ stepIndex: 0, state: "pending", transactionId: bTx }]);
      // B's transaction is still open and still B's: committing it works and shows b0.
      expect((await w.getExecutionSession(b))?.openTransaction?.transactionId).toBe(bTx);
      await w.commitTransaction(b);
      expect((await w.getSessionsForConsolidation(b)).map((s) => s.content)).toEqual(["b0"]);
    });
  });

  describe("pending steps", () => {
    test("are durable but invisible while open, and all appear together on commit", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStepSession(id, 0, "before the transaction");
      await w.beginTransaction(id);
      for (const i of [1, 2, 3]) {
        const stored = await w.storeStep(id, { stepIndex: i, content: `pending ${i}`, toolCalls: [{ toolName: `tool_${i}` }] });
        expect(stored).toEqual({ sessionId: `${id}_step_${i}`, state: "pending", created: true });
      }
      // In the table (durable), but consolidation sees only the step stored before begin.
      expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state])).toEqual([
        [0, "committed"],
        [1, "pending"],
        [2, "pending"],
        [3, "pending"],
      ]);
      expect(await visibleSteps(w, id)).toEqual([0]);

      await w.commitTransaction(id);
      const visible = await w.getSessionsForConsolidation(id);
      expect(visible.map((s) => s.stepIndex)).toEqual([0, 1, 2, 3]);
      expect(visible.map((s) => s.toolCalls.map((t) => t.toolName))).toEqual([[], ["tool_1"], ["tool_2"], ["tool_3"]]);
      // Committed together: one commit timestamp for all three.
      expect(new Set(visible.slice(1).map((s) => s.timestamp.getTime())).size).toBe(1);
      expect((await stepRows(db, id)).every((r) => r.state === "committed")).toBe(true);
    });

    test("rollback deletes the pending steps and their tool calls, and keeps the committed ones", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStep(id, { stepIndex: 0, content: "kept", toolCalls: [{ toolName: "kept_tool" }] });
      await w.beginTransaction(id);
      await w.storeStep(id, { stepIndex: 1, content: "gone 1", toolCalls: [{ toolName: "a" }, { toolName: "b" }] });
      await w.storeStep(id, { stepIndex: 2, content: "gone 2", toolCalls: [{ toolName: "c" }] });
      expect(await toolCallCount(db, id)).toBe(4);

      await w.rollbackTransaction(id);
      expect((await stepRows(db, id)).map((r) => r.stepIndex)).toEqual([0]);
      expect(await toolCallCount(db, id)).toBe(1);
      expect(await prismaClientOf(db).toolCall.count({ where: { executionId: id, stepIndex: { in: [1, 2] } } })).toBe(0);
      expect((await w.getSessionsForConsolidation(id)).map((s) => s.content)).toEqual(["kept"]);

      // The rolled-back indexes are free again, with different content.
      await w.storeStepSession(id, 1, "a new step 1");
      expect((await w.getSessionsForConsolidation(id)).map((s) => s.content)).toEqual(["kept", "a new step 1"]);
    });

    test("outside a transaction storeStepSession commits at once", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStepSession(id, 0, "step zero");
      expect(await stepRows(db, id)).toMatchObject([{ stepIndex: 0, state: "committed", transactionId: null }]);
      expect(await w.getSessionsForConsolidation(id)).toMatchObject([{ stepIndex: 0, content: "step zero" }]);
      // A rollback later cannot take it back: there is nothing open to roll back.
      await expectDbError(w.rollbackTransaction(id), "TRANSACTION_STATE", "executionId");
      expect(await visibleSteps(w, id)).toEqual([0]);
    });

    test("a transaction with no steps commits and rolls back cleanly, and can be begun again after each", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.commitTransaction(id);
      await w.beginTransaction(id);
      await w.rollbackTransaction(id);
      await w.beginTransaction(id);
      await w.storeStepSession(id, 0, "third time");
      await w.commitTransaction(id);
      expect(await visibleSteps(w, id)).toEqual([0]);
    });
  });

  describe("no database transaction is held between calls", () => {
    test("while one execution's transaction is open, other executions write and read, and the same execution is readable", async ({
      db,
    }) => {
      const w = db.writer;
      const a = await createExecution(w);
      await w.beginTransaction(a);
      await w.storeStepSession(a, 0, "a pending");

      // On PGlite (one connection, one transaction at a time) each of these would wait for A's
      // transaction (and fail at maxWait) if begin had left a database transaction open.
      // PGlite's maxWait is 30 s: a held transaction would stall these until then.
      await within(
        20_000,
        (async () => {
          const b = await createExecution(w);
          await w.storeStepSession(b, 0, "b committed");
          await w.beginTransaction(b);
          await w.storeStepSession(b, 1, "b pending");
          await w.commitTransaction(b);
          expect(await visibleSteps(w, b)).toEqual([0, 1]);
          expect(await visibleSteps(w, a)).toEqual([]);
          expect(await prismaClientOf(db).executionSession.count({ where: { executionId: { in: [a, b] } } })).toBe(2);
          expect(await prismaClientOf(db).$queryRaw<{ one: number }[]>`SELECT 1 AS one`).toEqual([{ one: 1 }]);
        })(),
        "work on other executions while A's transaction is open",
      );

      // Time passes between A's calls (an agent thinking); A's transaction is still there.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await w.storeStepSession(a, 1, "a pending 2");
      await w.commitTransaction(a);
      expect(await visibleSteps(w, a)).toEqual([0, 1]);
    });
  });

  describe("transaction state errors write nothing", () => {
    test("beginTransaction twice → TRANSACTION_STATE and the first transaction is untouched", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.storeStepSession(id, 0, "pending");
      const first = (await w.getExecutionSession(id))?.openTransaction;
      const err = await expectDbError(w.beginTransaction(id), "TRANSACTION_STATE", "executionId");
      expect(err.message).toContain(id);
      expect((await w.getExecutionSession(id))?.openTransaction).toEqual(first);
      expect(await stepRows(db, id)).toMatchObject([{ state: "pending", transactionId: first?.transactionId }]);
      await w.commitTransaction(id);
      expect(await visibleSteps(w, id)).toEqual([0]);
    });

    test("commit or rollback without begin → TRANSACTION_STATE and nothing written", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStepSession(id, 0, "committed");
      const before = await rowCounts(db);
      const rowBefore = await prismaClientOf(db).executionSession.findUnique({ where: { executionId: id } });
      await expectDbError(w.commitTransaction(id), "TRANSACTION_STATE", "executionId");
      await expectDbError(w.rollbackTransaction(id), "TRANSACTION_STATE", "executionId");
      expect(await rowCounts(db)).toEqual(before);
      expect(await prismaClientOf(db).executionSession.findUnique({ where: { executionId: id } })).toEqual(rowBefore);
      expect(await visibleSteps(w, id)).toEqual([0]);
    });

    test("commit after commit, and rollback after rollback → TRANSACTION_STATE", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.commitTransaction(id);
      await expectDbError(w.commitTransaction(id), "TRANSACTION_STATE");
      await w.beginTransaction(id);
      await w.rollbackTransaction(id);
      await expectDbError(w.rollbackTransaction(id), "TRANSACTION_STATE");
    });

    test("any call for an unknown execution → NOT_FOUND and nothing written", async ({ db }) => {
      const w = db.writer;
      const missing = uid("missing");
      const before = await rowCounts(db);
      await expectDbError(w.storeStepSession(missing, 0, "x"), "NOT_FOUND", "executionId");
      await expectDbError(w.storeStep(missing, { stepIndex: 0, toolCalls: [{ toolName: "t" }] }), "NOT_FOUND", "executionId");
      await expectDbError(w.beginTransaction(missing), "NOT_FOUND", "executionId");
      await expectDbError(w.commitTransaction(missing), "NOT_FOUND", "executionId");
      await expectDbError(w.rollbackTransaction(missing), "NOT_FOUND", "executionId");
      await expectDbError(w.finishExecutionSession(missing, { status: "completed" }), "NOT_FOUND", "executionId");
      await expectDbError(w.storeConsolidatedSession(uid("c"), missing, "x", {}), "NOT_FOUND", "executionId");
      expect(await rowCounts(db)).toEqual(before);
      expect(await w.getExecutionSession(missing)).toBeNull();
      expect(await w.getSessionsForConsolidation(missing)).toEqual([]);
    });

    test("finishExecutionSession with an open transaction, or twice → TRANSACTION_STATE", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.beginTransaction(id);
      await w.storeStepSession(id, 0, "pending");
      const err = await expectDbError(w.finishExecutionSession(id, { status: "completed" }), "TRANSACTION_STATE", "executionId");
      expect(err.message).toMatch(/open transaction/);
      expect((await w.getExecutionSession(id))?.status).toBe("running");

      await w.commitTransaction(id);
      const finished = await w.finishExecutionSession(id, { status: "failed", error: "step 0 failed", durationMs: 1234 });
      expect(finished).toMatchObject({ status: "failed", error: "step 0 failed", durationMs: 1234, openTransaction: null });
      expect(finished.finishedAt).toBeInstanceOf(Date);

      await expectDbError(w.finishExecutionSession(id, { status: "completed" }), "TRANSACTION_STATE", "executionId");
      expect(await w.getExecutionSession(id)).toMatchObject({ status: "failed", error: "step 0 failed", durationMs: 1234 });
    });

    test("finishExecutionSession: no duration given is finish − start; null is unknown and stays null", async ({ db }) => {
      const w = db.writer;
      const startedAt = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
      const finishedAt = new Date(Date.UTC(2026, 0, 1, 12, 0, 7));
      const start = async (executionId: string) => {
        await w.createExecutionSession({ executionId, flowId: "flow-test", agent: "test-agent", prompt: "p", startedAt });
        return executionId;
      };
      const measured = await start(uid("measured"));
      expect(await w.finishExecutionSession(measured, { status: "completed", finishedAt })).toMatchObject({ durationMs: 7000 });
      const unknown = await start(uid("unknown"));
      expect(await w.finishExecutionSession(unknown, { status: "failed", finishedAt, durationMs: null })).toMatchObject({
        durationMs: null,
      });
      expect((await w.getExecutionSession(unknown))?.durationMs).toBeNull();
    });
  });

  describe("20 concurrent executions", () => {
    test("interleave begin/store/commit/rollback and each ends with exactly its own steps", async ({ db }) => {
      const w = db.writer;
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => createExecution(w, uid(`conc${i}`))));
      // Yield to the event loop between calls so the executions really interleave.
      const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
      const content = (id: string, step: number, tag: string) => `${id}:${step}:${tag}`;

      const run = async (id: string, i: number) => {
        const commits = i % 2 === 0;
        // Step 0 outside any transaction: committed at once, survives everything.
        await w.storeStepSession(id, 0, content(id, 0, "outside"));
        await tick();
        await w.beginTransaction(id);
        // Pending steps stored out of order, each with one tool call per index.
        for (const step of [3, 1, 2]) {
          await tick();
          await w.storeStep(id, {
            stepIndex: step,
            content: content(id, step, "tx"),
            toolCalls: Array.from({ length: step }, (_, k) => ({ toolName: `t${k}` })),
          });
        }
        await tick();
        if (commits) await w.commitTransaction(id);
        else await w.rollbackTransaction(id);
        await tick();
        // Then a step outside the transaction: step 4 for committers; odd ones reuse index 1, now free.
        await w.storeStepSession(id, commits ? 4 : 1, content(id, commits ? 4 : 1, "after"));
      };
      await Promise.all(ids.map((id, i) => run(id, i)));

      for (const [i, id] of ids.entries()) {
        const sessions = await w.getSessionsForConsolidation(id);
        const expected =
          i % 2 === 0
            ? [
                [0, content(id, 0, "outside"), 0],
                [1, content(id, 1, "tx"), 1],
                [2, content(id, 2, "tx"), 2],
                [3, content(id, 3, "tx"), 3],
                [4, content(id, 4, "after"), 0],
              ]
            : [
                [0, content(id, 0, "outside"), 0],
                [1, content(id, 1, "after"), 0],
              ];
        expect(
          sessions.map((s) => [s.stepIndex, s.content, s.toolCalls.length]),
          `execution ${i}`,
        ).toEqual(expected);
        // Nothing extra hiding in the table either: no pending rows, no stray tool calls.
        expect(await stepRows(db, id)).toHaveLength(expected.length);
        expect(await toolCallCount(db, id)).toBe(i % 2 === 0 ? 6 : 0);
        expect((await w.getExecutionSession(id))?.openTransaction).toBeNull();
      }
      const open = await w.listOpenTransactions();
      expect(open.filter((o) => ids.includes(o.executionId))).toEqual([]);
    });
  });

  describe("transaction guards and finished executions", () => {
    test("beginTransaction returns the id; a write pinned to it fails once that transaction was recovered, and nothing is committed by it", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const transactionId = await w.beginTransaction(id);
      expect((await w.getExecutionSession(id))?.openTransaction?.transactionId).toBe(transactionId);
      await w.storeStepSession(id, 0, "s0", { transactionId });
      // Someone recovers it while the run is still going (an agent thinking between steps).
      expect((await w.recoverOpenTransactions()).map((t) => t.executionId)).toContain(id);
      const before = await rowCounts(db);
      await expectDbError(w.storeStepSession(id, 1, "s1", { transactionId }), "TRANSACTION_STATE", "transactionId");
      // A new transaction by someone else does not satisfy the old guard either.
      const other = await w.beginTransaction(id);
      await expectDbError(w.storeStep(id, { stepIndex: 1, content: "s1" }, { transactionId }), "TRANSACTION_STATE", "transactionId");
      const refused = await expectDbError(w.commitTransaction(id, { transactionId }), "TRANSACTION_STATE", "transactionId");
      expect(refused.message).toContain("was already rolled back");
      // Rolling the old one back asks for what already happened: a no-op that leaves the new one alone.
      await w.rollbackTransaction(id, { transactionId });
      expect((await w.getExecutionSession(id))?.openTransaction?.transactionId).toBe(other);
      expect(await rowCounts(db)).toEqual(before);
      await w.rollbackTransaction(id, { transactionId: other });
      expect(await stepRows(db, id)).toEqual([]);
    });

    test("a finished execution takes no new steps or transactions, but a retry of a stored step still succeeds", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStepSession(id, 0, "done");
      await w.finishExecutionSession(id, { status: "failed", error: "boom" });
      const before = await rowCounts(db);
      await expectDbError(w.storeStepSession(id, 1, "late"), "TRANSACTION_STATE", "executionId");
      await expectDbError(w.beginTransaction(id), "TRANSACTION_STATE", "executionId");
      await w.storeStepSession(id, 0, "done"); // the same write again: a retry, acknowledged
      expect(await rowCounts(db)).toEqual(before);
      expect(await visibleSteps(w, id)).toEqual([0]);
    });

    test("transactionId: null commits at once and refuses to slip into a transaction someone else opened", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      expect(await w.storeStep(id, { stepIndex: 0, content: "direct" }, { transactionId: null })).toMatchObject({
        state: "committed",
        created: true,
      });
      const theirs = await w.beginTransaction(id);
      const before = await rowCounts(db);
      await expectDbError(
        w.storeStep(id, { stepIndex: 1, content: "mine" }, { transactionId: null }),
        "TRANSACTION_STATE",
        "transactionId",
      );
      await expectDbError(w.storeStepSession(id, 1, "mine", { transactionId: null }), "TRANSACTION_STATE", "transactionId");
      await expectDbError(
        w.storeSteps(id, [{ stepIndex: 1, content: "mine" }], { transactionId: null }),
        "TRANSACTION_STATE",
        "transactionId",
      );
      // Ending a transaction needs its id: null names none.
      await expectDbError(w.commitTransaction(id, { transactionId: null }), "VALIDATION", "guard.transactionId");
      expect(await rowCounts(db)).toEqual(before);
      await w.rollbackTransaction(id, { transactionId: theirs });
      // A retry of the committed step is still a no-op under the same guard.
      expect(await w.storeStep(id, { stepIndex: 0, content: "direct" }, { transactionId: null })).toMatchObject({
        state: "committed",
        created: false,
      });
    });
  });
});
