// Consolidated sessions, and atomicity of multi-statement writes (a failure in the middle leaves nothing).
import { describe, expect } from "vitest";
import { DatabaseError } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, rowCounts, stepRows, toolCallCount, uid, visibleSteps } from "./helpers.js";

describe.each(testBackends())("consolidated sessions and atomicity on $name", (backend) => {
  test.override({ backend });

  describe("storeConsolidatedSession", () => {
    test("a session recorded elsewhere keeps its row number, creation time and listed steps; its status keeps its time", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      await w.storeStep(id, { stepIndex: 0, stepId: "a" });
      const cid = uid("c");
      const createdAt = "2020-02-03T04:05:06.789Z";
      const listed = [`${id}_step_0`, "elsewhere_step_3"];
      await w.storeConsolidatedSession(cid, id, "imported", { totalTools: 0 }, { id: 4242, createdAt, originalSessionIds: listed });
      expect(await w.getConsolidatedSessionsByExecution(id)).toMatchObject([
        { id: 4242, consolidatedSessionId: cid, timestamp: new Date(createdAt), originalSessionIds: listed },
      ]);
      // Without `recorded`, the next row number and now, as before.
      const other = uid("c");
      const before = Date.now();
      await w.storeConsolidatedSession(other, id, "made here", {});
      const [made] = await w.getConsolidatedSessionsByExecution(id);
      expect(made?.consolidatedSessionId).toBe(other);
      expect(made?.id).not.toBe(4242);
      expect(made?.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(made?.originalSessionIds).toEqual([`${id}_step_0`]);
      await expectDbError(w.storeConsolidatedSession(uid("c"), id, "x", {}, { id: 0 }), "VALIDATION", "recorded.id");

      const updatedAt = "2020-02-03T04:05:07.000Z";
      expect(await w.setConsolidationStatus(id, "failed", { error: "it broke there", updatedAt })).toBe(true);
      expect((await w.getExecutionSession(id))?.consolidation).toEqual({
        status: "failed",
        error: "it broke there",
        updatedAt: new Date(updatedAt),
      });
    });

    test("getNewestConsolidatedSession: the list's first, by creation time then row number; without its document when asked; null without one", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      expect(await w.getNewestConsolidatedSession(id)).toBeNull();
      expect(await w.getNewestConsolidatedSession(id, { content: false })).toBeNull();
      const sameTime = "2021-05-06T07:08:09.010Z";
      await w.storeConsolidatedSession("newest-lower-id", id, "made second", { costUsd: 0.5 }, { id: 7, createdAt: sameTime });
      await w.storeConsolidatedSession("older-higher-id", id, "made first", {}, { id: 9, createdAt: "2021-05-06T07:08:08.000Z" });
      await w.storeConsolidatedSession("same-time-higher-id", id, "the newest", { totalTools: 3 }, { id: 8, createdAt: sameTime });
      const all = await w.getConsolidatedSessionsByExecution(id);
      expect(all.map((s) => s.consolidatedSessionId)).toEqual(["same-time-higher-id", "newest-lower-id", "older-higher-id"]);
      expect(await w.getNewestConsolidatedSession(id)).toEqual(all[0]);
      const head = await w.getNewestConsolidatedSession(id, { content: false });
      const { consolidatedContent, ...rest } = all[0]!;
      expect(consolidatedContent).toBe("the newest");
      expect(head).toEqual(rest);
      expect(head).not.toHaveProperty("consolidatedContent");
      await expectDbError(w.getNewestConsolidatedSession(id, { content: "no" } as never), "VALIDATION", "options.content");
      await expectDbError(w.getNewestConsolidatedSession(""), "VALIDATION", "executionId");
    });

    test("requires the parent execution → NOT_FOUND, nothing written", async ({ db }) => {
      const before = await rowCounts(db);
      const cid = uid("c");
      await expectDbError(
        db.writer.storeConsolidatedSession(cid, uid("missing"), "content", { avgScore: 0.5 }),
        "NOT_FOUND",
        "executionId",
      );
      expect(await rowCounts(db)).toEqual(before);
      expect(await db.writer.getConsolidatedSession(cid)).toBeNull();
    });

    test("rejects a duplicate consolidatedSessionId with other content with CONFLICT, and keeps the first", async ({ db }) => {
      const w = db.writer;
      const a = await createExecution(w);
      const b = await createExecution(w);
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, a, "first", { totalTools: 1 });
      await expectDbError(w.storeConsolidatedSession(cid, a, "second", { totalTools: 2 }), "CONFLICT", "consolidatedId");
      // Same id under another execution: still the same unique id.
      await expectDbError(w.storeConsolidatedSession(cid, b, "third", {}), "CONFLICT", "consolidatedId");
      // The identical call again is a retry (its reply lost): a no-op, the session is still written once.
      await w.storeConsolidatedSession(cid, a, "first", { totalTools: 1 });
      await expectDbError(w.storeConsolidatedSession(cid, a, "first", { totalTools: 2 }), "CONFLICT", "consolidatedId");
      expect(await w.getConsolidatedSession(cid)).toBe("first");
      expect(await w.getConsolidatedSessionsByExecution(a)).toMatchObject([{ consolidatedSessionId: cid, totalTools: 1 }]);
      expect(await w.getConsolidatedSessionsByExecution(b)).toEqual([]);
    });

    test("stores the cost as given; the same call with another cost is a CONFLICT; a cost that is no amount is refused, nothing written", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, id, "priced", { costUsd: 0.01295 });
      await w.storeConsolidatedSession(cid, id, "priced", { costUsd: 0.01295 });
      await expectDbError(w.storeConsolidatedSession(cid, id, "priced", { costUsd: 0.013 }), "CONFLICT", "consolidatedId");
      await expectDbError(w.storeConsolidatedSession(cid, id, "priced", { costUsd: null }), "CONFLICT", "consolidatedId");
      expect(await w.getConsolidatedSessionsByExecution(id)).toMatchObject([{ consolidatedSessionId: cid, costUsd: 0.01295 }]);
      for (const costUsd of [-0.01, Number.POSITIVE_INFINITY, Number.NaN]) {
        await expectDbError(w.storeConsolidatedSession(uid("c"), id, "bad cost", { costUsd }), "VALIDATION", "metadata.costUsd");
      }
      expect(await w.getConsolidatedSessionsByExecution(id)).toHaveLength(1);
    });

    test("stores originalSessionIds = the committed step session ids in numeric step order (pending ones excluded)", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      for (const i of [10, 2, 0, 1]) await w.storeStepSession(id, i, `s${i}`);
      await w.beginTransaction(id);
      await w.storeStepSession(id, 3, "pending, not consolidated");
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, id, "summary", { avgScore: 0.75, totalTools: 4, successRate: 50, executionDurationMs: 1200 });
      await w.rollbackTransaction(id);

      const [stored] = await w.getConsolidatedSessionsByExecution(id);
      expect(stored).toMatchObject({
        consolidatedSessionId: cid,
        executionId: id,
        consolidatedContent: "summary",
        originalSessionIds: [0, 1, 2, 10].map((i) => `${id}_step_${i}`),
        avgScore: 0.75,
        totalTools: 4,
        successRate: 50,
        executionDurationMs: 1200,
      });
      // The column really holds that JSON array (not "[]" as reev stored).
      const row = await prismaClientOf(db).consolidatedSession.findUnique({ where: { consolidatedSessionId: cid } });
      expect(row?.originalSessionIds).toEqual([0, 1, 2, 10].map((i) => `${id}_step_${i}`));
    });

    test("getConsolidatedSessionsByExecution is newest first; getConsolidatedSession of an unknown id is null", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const other = await createExecution(w);
      const cids = [uid("c1"), uid("c2"), uid("c3")];
      for (const cid of cids) await w.storeConsolidatedSession(cid, id, `content of ${cid}`, {});
      await w.storeConsolidatedSession(uid("other"), other, "other execution", {});
      const list = await w.getConsolidatedSessionsByExecution(id);
      expect(list.map((c) => c.consolidatedSessionId)).toEqual([...cids].reverse());
      expect(list.map((c) => c.consolidatedContent)).toEqual([...cids].reverse().map((c) => `content of ${c}`));
      const times = list.map((c) => c.timestamp.getTime());
      expect([...times].sort((x, y) => y - x)).toEqual(times);

      expect(await w.getConsolidatedSession(uid("never-stored"))).toBeNull();
      expect(await w.getConsolidatedSessionsByExecution(uid("no-such-execution"))).toEqual([]);
    });

    test("getConsolidatedSession by its key: the execution's own session, null under another execution, VALIDATION for a bad id", async ({
      db,
    }) => {
      const w = db.writer;
      const [id, other] = [await createExecution(w), await createExecution(w)];
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, id, "mine", {});
      expect(await w.getConsolidatedSession(cid, id)).toBe("mine");
      expect(await w.getConsolidatedSession(cid)).toBe("mine");
      expect(await w.getConsolidatedSession(cid, other)).toBeNull();
      await expectDbError(w.getConsolidatedSession(cid, ""), "VALIDATION", "executionId");
    });

    test("keeps the content exactly, including a large multi-line JSON document", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const content = JSON.stringify(
        { steps: Array.from({ length: 500 }, (_, i) => ({ i, text: 'ünïcødé 🚀 "quoted" \\ back' })) },
        null,
        2,
      );
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, id, content, {});
      expect(await w.getConsolidatedSession(cid)).toBe(content);
    });
  });

  describe("atomicity: a failure in the middle leaves nothing half-written", () => {
    test("withDatabaseTransaction: an exception after a step write undoes the step and its tool calls; the error comes back unchanged", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const boom = new Error("boom");
      const thrown = await w
        .withDatabaseTransaction(async (tx) => {
          await tx.storeStep(id, { stepIndex: 0, content: "doomed", toolCalls: [{ toolName: "t" }] });
          await tx.storeStep(id, { stepIndex: 1, content: "doomed too" });
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(thrown).toBe(boom); // the caller's own error, not disguised as a database error
      expect(await stepRows(db, id)).toEqual([]);
      expect(await toolCallCount(db, id)).toBe(0);

      // Thrown from a nested withDatabaseTransaction, it still undoes the outer writes and comes back as is.
      const nested = await w
        .withDatabaseTransaction(async (tx) => {
          await tx.storeStepSession(id, 0, "outer write");
          await tx.withDatabaseTransaction(async (inner) => {
            await inner.storeStepSession(id, 1, "inner write");
            throw boom;
          });
        })
        .catch((e: unknown) => e);
      expect(nested).toBe(boom);
      expect(await stepRows(db, id)).toEqual([]);
    });

    test("withDatabaseTransaction: a conflict in the second write (an execution id taken with other fields) undoes the first", async ({
      db,
    }) => {
      // (Failures the database itself decides, at every statement, are in fault-injection.test.ts.)
      const w = db.writer;
      const id = await createExecution(w);
      const err = await expectDbError(
        w.withDatabaseTransaction(async (tx) => {
          await tx.storeStep(id, { stepIndex: 0, content: "doomed", toolCalls: [{ toolName: "t" }] });
          await tx.createExecutionSession({ executionId: id, flowId: "f", agent: "a", prompt: "p" });
        }),
        "CONFLICT",
        "executionId",
      );
      expect(err.message).toContain("already exists with other fields");
      expect(await stepRows(db, id)).toEqual([]);
      expect(await toolCallCount(db, id)).toBe(0);
    });

    test("withDatabaseTransaction: a step and a consolidated session with a duplicate id → CONFLICT, neither the step nor a second row", async ({
      db,
    }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const cid = uid("c");
      await w.storeConsolidatedSession(cid, id, "first", {});
      const before = await rowCounts(db);
      await expectDbError(
        w.withDatabaseTransaction(async (tx) => {
          await tx.storeStepSession(id, 0, "doomed step");
          await tx.storeConsolidatedSession(cid, id, "second", {});
        }),
        "CONFLICT",
        "consolidatedId",
      );
      expect(await rowCounts(db)).toEqual(before);
      expect(await w.getConsolidatedSession(cid)).toBe("first");
    });

    test("withDatabaseTransaction commits everything together when nothing fails, and nested calls join it", async ({ db }) => {
      const w = db.writer;
      const id = await createExecution(w);
      const result = await w.withDatabaseTransaction(async (tx) => {
        await tx.storeStepSession(id, 0, "s0");
        await tx.withDatabaseTransaction(async (inner) => inner.storeStepSession(id, 1, "s1"));
        await tx.storeConsolidatedSession(uid("c"), id, "summary", {});
        return (await tx.getSessionsForConsolidation(id)).length;
      });
      expect(result).toBe(2);
      expect(await visibleSteps(w, id)).toEqual([0, 1]);
      expect((await w.getConsolidatedSessionsByExecution(id))[0]?.originalSessionIds).toEqual([`${id}_step_0`, `${id}_step_1`]);
    });

    test("storeStep: a tool-call insert that the database rejects leaves neither the step row nor any tool call", async ({ db }) => {
      // No valid input makes the tool-call insert fail, so the test database gets a CHECK constraint that
      // refuses one tool name: the step row is inserted first, then createMany fails at the database.
      await prismaClientOf(db).$executeRawUnsafe(
        `ALTER TABLE tool_calls ADD CONSTRAINT test_no_forbidden_tool CHECK (tool_name <> '__forbidden_tool__')`,
      );
      try {
        const w = db.writer;
        const id = await createExecution(w);
        const before = await rowCounts(db);
        const err = await w
          .storeStep(id, { stepIndex: 0, content: "step", toolCalls: [{ toolName: "fine" }, { toolName: "__forbidden_tool__" }] })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        // A CHECK violation has no code of its own: INTERNAL, with the database's message and the cause.
        expect(err).toBeInstanceOf(DatabaseError);
        expect(err).toMatchObject({ code: "INTERNAL", cause: expect.anything() });
        expect((err as DatabaseError).message).toMatch(/store step 0/);
        expect((err as DatabaseError).message).toMatch(/check constraint/);
        expect(await rowCounts(db)).toEqual(before);
        expect(await stepRows(db, id)).toEqual([]);

        // The same failure while replacing a pending step keeps the previous version intact.
        await w.beginTransaction(id);
        await w.storeStep(id, { stepIndex: 0, content: "v1", toolCalls: [{ toolName: "v1_tool" }] });
        await expect(
          w.storeStep(id, { stepIndex: 0, content: "v2", toolCalls: [{ toolName: "__forbidden_tool__" }] }),
        ).rejects.toBeInstanceOf(DatabaseError);
        await w.commitTransaction(id);
        expect(await w.getSessionsForConsolidation(id)).toMatchObject([{ content: "v1", toolCalls: [{ toolName: "v1_tool" }] }]);
      } finally {
        await prismaClientOf(db).$executeRawUnsafe(`ALTER TABLE tool_calls DROP CONSTRAINT test_no_forbidden_tool`);
      }
    });
  });
});
