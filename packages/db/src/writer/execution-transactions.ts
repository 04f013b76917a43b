import { randomUUID } from "node:crypto";
import { DatabaseError } from "../errors.js";
import { EARLIEST_TIMESTAMP, ZAgeOptions, ZId, ZTransactionGuard } from "../schemas.js";
import { validate } from "../validate.js";
import {
  type Client,
  checkGuard,
  databaseTransaction,
  lockExecution,
  requireRunning,
  type TransactionGuard,
  type TransactionOutcome,
  type WriterContext,
  withClient,
} from "./context.js";

// An execution transaction (`beginTransaction` … `commitTransaction`) belongs to one execution and
// lives in its row, not in a connection: an agent may think for minutes between steps, and holding a
// database transaction (and, on PGlite, the only connection) that long would stall every other run.
// Steps written while one is open are stored at once as `pending` — durable, recoverable after a
// crash, invisible to consolidation — and commit or rollback flips or deletes them in one statement.

export type OpenTransaction = { executionId: string; transactionId: string; openedAt: Date; pendingSteps: number };

/**
 * Opens the execution's transaction and returns its id (see TransactionGuard). With a caller-chosen
 * `transactionId`, beginning again while that transaction is open returns it: a retry whose first
 * reply was lost does not fail and does not lose the id. Without one the id is drawn once, before the
 * first attempt, so the writer's own retries have the same property.
 */
export async function beginTransaction(
  context: WriterContext,
  executionId: string,
  options: { transactionId?: string } = {},
): Promise<string> {
  const id = validate(ZId, executionId, "executionId");
  const chosen = validate(ZTransactionGuard, options, "options").transactionId;
  const transactionId = chosen ?? randomUUID();
  return databaseTransaction(context, `begin a transaction for execution "${id}"`, async ({ client: tx }) => {
    const locked = await lockExecution(tx, id);
    if (locked.open_transaction_id === transactionId) return transactionId;
    requireRunning(locked);
    if (locked.open_transaction_id) {
      throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" already has an open transaction: commit or roll it back first`, {
        field: "executionId",
      });
    }
    if (chosen && locked.last_transaction_id === chosen) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Transaction ${chosen} of execution "${id}" already ended (${locked.last_transaction_outcome})`,
        {
          field: "transactionId",
        },
      );
    }
    await tx.executionSession.updateMany({
      where: { executionId: id },
      data: { openTransactionId: transactionId, transactionOpenedAt: new Date() },
    });
    return transactionId;
  });
}

/** Makes every step of the open transaction visible at once. */
export async function commitTransaction(context: WriterContext, executionId: string, guard: TransactionGuard = {}): Promise<void> {
  await endTransaction(context, { executionId, guard, outcome: "committed" }, async (tx, transactionId) => {
    await tx.stepSession.updateMany({
      where: { executionId, transactionId, state: "pending" },
      data: { state: "committed", committedAt: new Date() },
    });
  });
}

/** Deletes every step of the open transaction (and their tool calls, by cascade). */
export async function rollbackTransaction(context: WriterContext, executionId: string, guard: TransactionGuard = {}): Promise<void> {
  await endTransaction(context, { executionId, guard, outcome: "rolled_back" }, (tx, transactionId) =>
    deletePending(tx, { executionId, transactionId }),
  );
}

export async function deletePending(tx: Client, pending: { executionId: string; transactionId: string }): Promise<number> {
  const { count } = await tx.stepSession.deleteMany({ where: { ...pending, state: "pending" } });
  return count;
}

/**
 * Ends the open transaction under the row lock and records how. A guarded call for a transaction
 * that already ended the same way is a retry whose reply was lost: it succeeds without doing more.
 * An unguarded call is pinned, after its first attempt, to the transaction it found open, so the
 * writer's own retry of it is such a retry too.
 */
async function endTransaction(
  context: WriterContext,
  call: { executionId: string; guard: TransactionGuard; outcome: TransactionOutcome },
  apply: (tx: Client, transactionId: string) => Promise<unknown>,
): Promise<void> {
  const guard = validate(ZTransactionGuard, call.guard, "guard");
  const id = validate(ZId, call.executionId, "executionId");
  const { outcome } = call;
  const verb = outcome === "committed" ? "commit" : "roll back";
  if (guard.transactionId === null) {
    throw new DatabaseError(
      "VALIDATION",
      `Invalid input: to ${verb}, guard.transactionId names the transaction (or is left out), not null`,
      {
        field: "guard.transactionId",
      },
    );
  }
  let pinned = guard.transactionId;
  await databaseTransaction(context, `${verb} the transaction of execution "${id}"`, async ({ client: tx }) => {
    const locked = await lockExecution(tx, id);
    const ended = pinned !== undefined && locked.open_transaction_id !== pinned && locked.last_transaction_id === pinned;
    if (ended && locked.last_transaction_outcome === outcome) return;
    if (ended) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Cannot ${verb}: transaction ${pinned} of execution "${id}" was already ${locked.last_transaction_outcome?.replace("_", " ")}`,
        { field: "transactionId" },
      );
    }
    checkGuard(locked, { transactionId: pinned });
    if (!locked.open_transaction_id) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Cannot ${verb}: execution "${id}" has no open transaction (call beginTransaction first)`,
        {
          field: "executionId",
        },
      );
    }
    pinned = locked.open_transaction_id;
    await apply(tx, locked.open_transaction_id);
    await closeTransaction(tx, { executionId: id, transactionId: locked.open_transaction_id, outcome });
  });
}

export function closeTransaction(tx: Client, closing: { executionId: string; transactionId: string; outcome: TransactionOutcome }) {
  return tx.executionSession.updateMany({
    where: { executionId: closing.executionId },
    data: {
      openTransactionId: null,
      transactionOpenedAt: null,
      lastTransactionId: closing.transactionId,
      lastTransactionOutcome: closing.outcome,
    },
  });
}

/** Transactions left open (by a crash, or a caller that never finished), oldest first. */
export async function listOpenTransactions(context: WriterContext, options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
  // An age reaching before year 1 (PostgreSQL's timestamps start there) asks for nothing older.
  const cutoff = new Date(Math.max(Date.now() - (validate(ZAgeOptions, options, "options").olderThanMs ?? 0), EARLIEST_TIMESTAMP));
  const rows = await withClient(context, "list open transactions", (c) =>
    c.executionSession.findMany({
      where: { openTransactionId: { not: null }, transactionOpenedAt: { lte: cutoff } },
      orderBy: { transactionOpenedAt: "asc" },
      select: { executionId: true, openTransactionId: true, transactionOpenedAt: true },
    }),
  );
  const transactionIds = rows.map((r) => r.openTransactionId!);
  const executionIds = rows.map((r) => r.executionId);
  // Raw, so that `state = 'pending'` is a literal the planner can match to the partial index of
  // pending steps; Prisma sends CAST($1 AS step_state), which it cannot (the index test caught it).
  // The execution ids too, so a sharded database asks only the shards that hold them.
  const counts = transactionIds.length
    ? await withClient(
        context,
        "count pending steps",
        (c) => c.$queryRaw<{ transaction_id: string; steps: number }[]>`
          SELECT transaction_id::text AS transaction_id, count(*)::int AS steps FROM step_sessions
          WHERE state = 'pending' AND execution_id = ANY(${executionIds}::text[]) AND transaction_id = ANY(${transactionIds}::uuid[])
          GROUP BY transaction_id`,
      )
    : [];
  const pending = new Map(counts.map((g) => [g.transaction_id, g.steps]));
  return rows.map((r) => ({
    executionId: r.executionId,
    transactionId: r.openTransactionId!,
    openedAt: r.transactionOpenedAt!,
    pendingSteps: pending.get(r.openTransactionId!) ?? 0,
  }));
}

/**
 * Rolls back every execution transaction opened more than `olderThanMs` ago and returns what it
 * undid. Each rollback is its own transaction and checks the transaction id again under the lock,
 * so one that committed meanwhile is left alone.
 */
export async function recoverOpenTransactions(context: WriterContext, options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
  const recovered: OpenTransaction[] = [];
  for (const open of await listOpenTransactions(context, options)) {
    const { executionId, transactionId } = open;
    const pendingSteps = await databaseTransaction(
      context,
      `recover the transaction of execution "${executionId}"`,
      async ({ client: tx }) => {
        const locked = await lockExecution(tx, executionId);
        // Ended meanwhile (committed, say): left alone, and not reported as recovered.
        if (locked.open_transaction_id !== transactionId) return undefined;
        const count = await deletePending(tx, { executionId, transactionId });
        await closeTransaction(tx, { executionId, transactionId, outcome: "rolled_back" });
        return count;
      },
    );
    if (pendingSteps !== undefined) recovered.push({ ...open, pendingSteps });
  }
  return recovered;
}
