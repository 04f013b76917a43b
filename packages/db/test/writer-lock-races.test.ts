// A step write is one statement whose snapshot is taken before it gets the execution's row lock. What
// happens while it waits for that lock — a rollback, a commit, another writer replacing the pending
// step — must be seen as it is once the lock is granted, never judged from the stale snapshot.
// PostgreSQL only: a second connection holds the lock so that each interleaving happens for sure
// (PGlite has one connection and runs one statement at a time).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase, type StepInput, type TransactionGuard } from "../src/index.js";
import { createPostgresDatabase } from "../src/testing/index.js";
import { createExecution, sleep, stepRows } from "./helpers.js";

const baseUrl = process.env.REEV_TEST_DATABASE_URL;

describe.skipIf(!baseUrl)("step writes queued behind the execution lock (PostgreSQL)", () => {
  let created: { url: string; drop(): Promise<void> };
  let db: Database;
  let holder: pg.Client;

  beforeAll(async () => {
    created = await createPostgresDatabase(baseUrl!);
    db = await openDatabase({ url: created.url });
    holder = new pg.Client({ connectionString: created.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await db?.close();
    await created?.drop();
  });

  /**
   * Holds the execution's lock, queues `first` and then `write` behind it (in that order, so the
   * write's snapshot predates `first`), releases the lock and returns the write's outcome.
   */
  async function queued<T>(executionId: string, first: () => Promise<unknown>, write: () => Promise<T>) {
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [executionId]);
    const firstDone = first();
    await sleep(200);
    const written = write().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await sleep(200);
    await holder.query("COMMIT");
    await firstDone;
    return written;
  }

  async function pendingStep(step: StepInput) {
    const id = await createExecution(db.writer);
    const transactionId = await db.writer.beginTransaction(id);
    await db.writer.storeStep(id, step, { transactionId });
    return { id, transactionId };
  }

  const A: StepInput = { stepIndex: 5, content: "A", toolCalls: [{ toolName: "t" }] };

  it.each<[string, TransactionGuard]>([
    ["committed at once (guard null)", { transactionId: null }],
    ["unguarded", {}],
  ])("a rollback while the write waits: the step is stored anew, committed (%s)", async (_, guard) => {
    const { id, transactionId } = await pendingStep(A);
    const result = await queued(
      id,
      () => db.writer.rollbackTransaction(id, { transactionId }),
      () => db.writer.storeStep(id, A, guard),
    );
    expect(result).toEqual({ ok: true, value: { sessionId: `${id}_step_5`, state: "committed", created: true } });
    expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state, r.content])).toEqual([[5, "committed", "A"]]);
    expect((await db.writer.getSessionsForConsolidation(id))[0]?.toolCalls.map((t) => t.toolName)).toEqual(["t"]);
  });

  it("a rollback while a different step waits: no false CONFLICT, the new step is stored", async () => {
    const { id, transactionId } = await pendingStep(A);
    const C = { ...A, content: "C" };
    const result = await queued(
      id,
      () => db.writer.rollbackTransaction(id, { transactionId }),
      () => db.writer.storeStep(id, C, { transactionId: null }),
    );
    expect(result).toMatchObject({ ok: true, value: { state: "committed", created: true } });
    expect((await stepRows(db, id)).map((r) => r.content)).toEqual(["C"]);
  });

  it("a commit while the same step waits: reported as the committed step it now is", async () => {
    const { id, transactionId } = await pendingStep(A);
    const result = await queued(
      id,
      () => db.writer.commitTransaction(id, { transactionId }),
      () => db.writer.storeStep(id, A),
    );
    expect(result).toEqual({ ok: true, value: { sessionId: `${id}_step_5`, state: "committed", created: false } });
  });

  it("another writer replaces the pending step while the old content waits: the write is judged against what is there", async () => {
    const { id, transactionId } = await pendingStep(A);
    const B = { ...A, content: "B" };
    const result = await queued(
      id,
      // In one transaction, so the replace (delete A, insert B) holds the lock until it commits.
      () => db.writer.runInTransaction((w) => w.storeStep(id, B, { transactionId })),
      () => db.writer.storeStep(id, A, { transactionId }),
    );
    // Not a no-op against the stale "A": B was there, and a pending step may be replaced — last write wins.
    expect(result).toMatchObject({ ok: true, value: { state: "pending", created: true } });
    expect((await stepRows(db, id)).map((r) => [r.content, r.state])).toEqual([["A", "pending"]]);
  });
});
