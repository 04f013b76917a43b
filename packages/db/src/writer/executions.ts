import { DatabaseError } from "../errors.js";
import { Prisma } from "../generated/prisma/client.js";
import { currentProcessOwner, type RecordedOwner, recordedOwner } from "../process-owner.js";
import {
  type ConsolidationStatus,
  type CreateExecutionInput,
  type ExecutionStatus,
  type ExecutionsPageKey,
  type FinishExecutionInput,
  INT32_MAX,
  type JsonValue,
  type ListExecutionsInput,
  ZCreateExecutionInput,
  ZFinishExecutionInput,
  ZId,
  ZListExecutionsInput,
} from "../schemas.js";
import { sortedKeys } from "../sorted-keys.js";
import { validate } from "../validate.js";
import { databaseTransaction, lockExecution, requireRunning, type WriterContext, withClient } from "./context.js";

export type ExecutionSessionRecord = {
  executionId: string;
  flowId: string;
  agent: string;
  prompt: string;
  status: ExecutionStatus;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  error: string | null;
  metadata: JsonValue | null;
  /** The open execution transaction, if any. */
  openTransaction: { transactionId: string; openedAt: Date } | null;
  consolidation: { status: ConsolidationStatus; error: string | null; updatedAt: Date | null };
  /** The process that runs (or ran) it; null when recorded before owners were. */
  owner: RecordedOwner | null;
  /** The owner's last sign of life (see `heartbeat`); null when recorded before heartbeats were. */
  heartbeatAt: Date | null;
  /** The evaluation run that made it (`reev eval`), if any. */
  evaluationId: string | null;
};

/** JSON equality whatever the key order (jsonb does not keep the caller's). */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(sortedKeys(a)) === JSON.stringify(sortedKeys(b));

export function toExecutionRecord(row: Prisma.ExecutionSessionModel): ExecutionSessionRecord {
  return {
    executionId: row.executionId,
    flowId: row.flowId,
    agent: row.agent,
    prompt: row.prompt,
    status: row.status,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    durationMs: row.durationMs,
    error: row.error,
    metadata: (row.metadata ?? null) as JsonValue | null,
    openTransaction:
      row.openTransactionId && row.transactionOpenedAt ? { transactionId: row.openTransactionId, openedAt: row.transactionOpenedAt } : null,
    consolidation: { status: row.consolidationStatus, error: row.consolidationError, updatedAt: row.consolidationUpdatedAt },
    owner: recordedOwner(row),
    heartbeatAt: row.heartbeatAt,
    evaluationId: row.evaluationId,
  };
}

/**
 * Creates a running execution. The id is the caller's, so a retried create (its reply lost) finds
 * its own execution: the same fields again return it; different ones are a CONFLICT.
 */
export async function createExecutionSession(context: WriterContext, input: CreateExecutionInput): Promise<ExecutionSessionRecord> {
  const data = validate(ZCreateExecutionInput, input, "");
  const action = `create execution "${data.executionId}"`;
  // Raw, because Prisma sends a top-level JSON number as a float parameter (0.1 + 0.2 came back as
  // 0.3) and a failed INSERT would abort an enclosing transaction; ON CONFLICT lets a retry be seen.
  const metadata = data.metadata === undefined || data.metadata === null ? null : JSON.stringify(data.metadata);
  // The creating process owns the execution: recovery finishes it only once that process is gone.
  const owner = data.owner === undefined ? currentProcessOwner() : data.owner;
  const heartbeatAt = data.heartbeatAt === undefined ? Prisma.sql`now()` : Prisma.sql`${data.heartbeatAt}::timestamptz`;
  const inserted = await withClient(
    context,
    action,
    (c) =>
      c.$executeRaw`
      INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, metadata, started_at,
        owner_host, owner_pid, owner_started_at, heartbeat_at, evaluation_id)
      VALUES (${data.executionId}, ${data.flowId}, ${data.agent}, ${data.prompt}, ${metadata}::jsonb,
        COALESCE(${data.startedAt ?? null}::timestamptz, now()),
        ${owner?.host ?? null}, ${owner?.pid ?? null}::int, ${owner?.startedAt ?? null}::timestamptz, ${heartbeatAt},
        ${data.evaluationId ?? null})
      ON CONFLICT (execution_id) DO NOTHING`,
  );
  const row = await withClient(context, action, (c) => c.executionSession.findUniqueOrThrow({ where: { executionId: data.executionId } }));
  const existing = toExecutionRecord(row);
  if (inserted) return existing;
  const same =
    existing.flowId === data.flowId &&
    existing.agent === data.agent &&
    existing.prompt === data.prompt &&
    sameJson(existing.metadata, data.metadata ?? null) &&
    existing.evaluationId === (data.evaluationId ?? null) &&
    (!data.startedAt || existing.startedAt.getTime() === data.startedAt.getTime());
  if (same) return existing;
  throw new DatabaseError("CONFLICT", `Failed to ${action}: it already exists with other fields (use a new executionId)`, {
    field: "executionId",
  });
}

export async function getExecutionSession(context: WriterContext, executionId: string): Promise<ExecutionSessionRecord | null> {
  const id = validate(ZId, executionId, "executionId");
  const row = await withClient(context, `read execution "${id}"`, (c) => c.executionSession.findUnique({ where: { executionId: id } }));
  return row ? toExecutionRecord(row) : null;
}

/** Newest first; runs started in the same millisecond by id, descending, as the API's and viewer's list (and its index). */
export async function listExecutionSessions(context: WriterContext, input: ListExecutionsInput = {}): Promise<ExecutionSessionRecord[]> {
  return (await listExecutionSessionsPage(context, input)).executions;
}

/**
 * One page of listExecutionSessions and the key of its last row when more follow (`next`, null on the
 * last page): one statement, one row past the page, so whether a next page exists is its own answer.
 * With `after`, by keyset on (started_at, execution_id) as listExecutionsPage: no row repeated or
 * skipped while executions are recorded; `offset` counts from there and may.
 */
export async function listExecutionSessionsPage(
  context: WriterContext,
  input: ListExecutionsInput = {},
): Promise<{ executions: ExecutionSessionRecord[]; next: ExecutionsPageKey | null }> {
  const q = validate(ZListExecutionsInput, input, "");
  const after = q.after;
  const rows = await withClient(context, "list executions", (c) =>
    c.executionSession.findMany({
      where: {
        ...(q.status ? { status: q.status } : {}),
        ...(q.flowId ? { flowId: q.flowId } : {}),
        ...(after
          ? { OR: [{ startedAt: { lt: after.startedAt } }, { startedAt: after.startedAt, executionId: { lt: after.executionId } }] }
          : {}),
      },
      orderBy: [{ startedAt: "desc" }, { executionId: "desc" }],
      take: q.limit + 1,
      skip: q.offset,
    }),
  );
  const executions = rows.slice(0, q.limit).map(toExecutionRecord);
  const last = executions.at(-1);
  return { executions, next: rows.length > q.limit && last ? { startedAt: last.startedAt, executionId: last.executionId } : null };
}

/**
 * Ends a running execution (compare-and-swap on `running`). Refused while its transaction is open:
 * commit or roll back first, so the final status never describes steps that could still vanish.
 */
export async function finishExecutionSession(
  context: WriterContext,
  executionId: string,
  input: FinishExecutionInput,
): Promise<ExecutionSessionRecord> {
  const id = validate(ZId, executionId, "executionId");
  const data = validate(ZFinishExecutionInput, input, "");
  const row = await databaseTransaction(context, `finish execution "${id}"`, async ({ client: tx }) => {
    const locked = await lockExecution(tx, id);
    if (locked.status !== "running") {
      // The same finish again (a retry whose first reply was lost) is answered with the record.
      const finished = await tx.executionSession.findUniqueOrThrow({ where: { executionId: id } });
      const same =
        finished.status === data.status &&
        finished.error === (data.error ?? null) &&
        (data.finishedAt === undefined || finished.finishedAt?.getTime() === data.finishedAt.getTime()) &&
        (data.durationMs === undefined || finished.durationMs === data.durationMs);
      if (same) return finished;
    }
    requireRunning(locked);
    if (locked.open_transaction_id) {
      throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" has an open transaction: commit or roll it back before finishing`, {
        field: "executionId",
      });
    }
    const finishedAt = data.finishedAt ?? new Date();
    const durationMs =
      data.durationMs === undefined ? Math.max(0, finishedAt.getTime() - new Date(locked.started_at).getTime()) : data.durationMs;
    if (durationMs !== null && durationMs > INT32_MAX) {
      throw new DatabaseError(
        "VALIDATION",
        `Invalid input: finishedAt is ${durationMs} ms after the start, over the ${INT32_MAX} ms a duration can hold`,
        { field: "finishedAt" },
      );
    }
    return tx.executionSession.update({
      where: { executionId: id },
      data: { status: data.status, error: data.error ?? null, finishedAt, durationMs },
    });
  });
  return toExecutionRecord(row);
}

/**
 * The owner's sign of life: moves `heartbeat_at` to now while the execution runs, or to `at`, one
 * recorded where the run ran (`reev import` finishing a copy imported while it ran). Returns false
 * once it has finished (a late beat changes nothing). One statement, no lock wait beyond the row's.
 */
export async function heartbeat(context: WriterContext, executionId: string, at?: Date): Promise<boolean> {
  const id = validate(ZId, executionId, "executionId");
  const when = at === undefined ? Prisma.sql`now()` : Prisma.sql`${at}::timestamptz`;
  const updated = await withClient(
    context,
    `refresh the heartbeat of execution "${id}"`,
    (c) => c.$executeRaw`UPDATE execution_sessions SET heartbeat_at = ${when} WHERE execution_id = ${id} AND status = 'running'`,
  );
  return updated > 0;
}
