// A step write is one statement whose snapshot is taken before it gets the execution's row lock. What
// happens while it waits for that lock — a rollback, a commit, another writer replacing the pending
// step — must be seen as it is once the lock is granted, never judged from the stale snapshot.
// PostgreSQL only: a second connection holds the lock so that each interleaving happens for sure
// (PGlite has one connection and runs one statement at a time).
import pg from "pg";
import { describe, expect } from "vitest";
import type { Database, StepInput, TransactionGuard } from "../src/index.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, lockWaiters, stepRows } from "./helpers.js";

// A suite of its own even when skipped: a file that registers none fails vitest's run ("No test suite
// found"), and `pnpm test` without REEV_TEST_DATABASE_URL must pass on PGlite alone.
const postgres = testBackends().filter((b) => b.name === "postgres");
describe.skipIf(postgres.length === 0)("PostgreSQL only: set REEV_TEST_DATABASE_URL", () => {
  describe.each(postgres)("step writes queued behind the execution lock on $name", (backend) => {
    test.override({ backend });
    let holder: pg.Client;

    test.beforeAll(async ({ databases }) => {
      const db = await databases.get(backend);
      if (db.target.kind !== "postgres") throw new Error("expected a PostgreSQL test database");
      holder = new pg.Client({ connectionString: db.target.url });
      await holder.connect();
    });
    test.afterAll(async () => {
      await holder?.end();
    });

    /**
     * Holds the execution's lock, queues `first` and then `write` behind it (in that order — each seen
     * waiting on the lock before the next starts — so the write's snapshot predates `first`), releases
     * the lock and returns the write's outcome.
     */
    async function queued<T>(db: Database, executionId: string, first: () => Promise<unknown>, write: () => Promise<T>) {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [executionId]);
      const firstDone = first();
      await lockWaiters(db, 1);
      const written = write().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      await lockWaiters(db, 2);
      await holder.query("COMMIT");
      await firstDone;
      return written;
    }

    async function pendingStep(db: Database, step: StepInput) {
      const id = await createExecution(db.writer);
      const transactionId = await db.writer.beginTransaction(id);
      await db.writer.storeStep(id, step, { transactionId });
      return { id, transactionId };
    }

    const A: StepInput = { stepIndex: 5, content: "A", toolCalls: [{ toolName: "t" }] };

    test.for<[string, TransactionGuard]>([
      ["committed at once (guard null)", { transactionId: null }],
      ["unguarded", {}],
    ])("a rollback while the write waits: the step is stored anew, committed (%s)", async ([, guard], { db }) => {
      const { id, transactionId } = await pendingStep(db, A);
      const result = await queued(
        db,
        id,
        () => db.writer.rollbackTransaction(id, { transactionId }),
        () => db.writer.storeStep(id, A, guard),
      );
      expect(result).toEqual({ ok: true, value: { sessionId: `${id}_step_5`, state: "committed", created: true } });
      expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state, r.content])).toEqual([[5, "committed", "A"]]);
      expect((await db.writer.getSessionsForConsolidation(id))[0]?.toolCalls.map((t) => t.toolName)).toEqual(["t"]);
    });

    test("a rollback while a different step waits: no false CONFLICT, the new step is stored", async ({ db }) => {
      const { id, transactionId } = await pendingStep(db, A);
      const C = { ...A, content: "C" };
      const result = await queued(
        db,
        id,
        () => db.writer.rollbackTransaction(id, { transactionId }),
        () => db.writer.storeStep(id, C, { transactionId: null }),
      );
      expect(result).toMatchObject({ ok: true, value: { state: "committed", created: true } });
      expect((await stepRows(db, id)).map((r) => r.content)).toEqual(["C"]);
    });

    test("a commit while the same step waits: reported as the committed step it now is", async ({ db }) => {
      const { id, transactionId } = await pendingStep(db, A);
      const result = await queued(
        db,
        id,
        () => db.writer.commitTransaction(id, { transactionId }),
        () => db.writer.storeStep(id, A),
      );
      expect(result).toEqual({ ok: true, value: { sessionId: `${id}_step_5`, state: "committed", created: false } });
    });

    test("another writer replaces the pending step while the old content waits: the write is judged against what is there", async ({
      db,
    }) => {
      const { id, transactionId } = await pendingStep(db, A);
      const B = { ...A, content: "B" };
      const result = await queued(
        db,
        id,
        // In one transaction, so the replace (delete A, insert B) holds the lock until it commits.
        () => db.writer.withDatabaseTransaction((w) => w.storeStep(id, B, { transactionId })),
        () => db.writer.storeStep(id, A, { transactionId }),
      );
      // Not a no-op against the stale "A": B was there, and a pending step may be replaced — last write wins.
      expect(result).toMatchObject({ ok: true, value: { state: "pending", created: true } });
      expect((await stepRows(db, id)).map((r) => [r.content, r.state])).toEqual([["A", "pending"]]);
    });
  });
});
