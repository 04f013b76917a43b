import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { DatabaseError, toDatabaseError } from "./errors.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";
import { type InsertStepsOutcome, insertStepsStatement, type PriorStep } from "./insert-steps-statement.js";
import {
  type ConsolidatedSessionLog,
  type ConsolidationMetadata,
  type ConsolidationStatus,
  type CreateExecutionInput,
  DEFAULT_MAX_CONSOLIDATED_BYTES,
  DEFAULT_MAX_CONTENT_BYTES,
  EARLIEST_TIMESTAMP,
  type ExecutionStatus,
  type FinishExecutionInput,
  type JsonValue,
  type ListExecutionsInput,
  type SessionLog,
  type StepInput,
  type StepStatus,
  ZAgeOptions,
  ZConsolidationMetadata,
  ZConsolidationStatus,
  ZConsolidationStatusOptions,
  ZCreateExecutionInput,
  ZFinishExecutionInput,
  ZId,
  ZListExecutionsInput,
  ZStepFields,
  ZStepIndex,
  ZText,
  ZTransactionGuard,
  ZTransactionOptions,
} from "./schemas.js";
import { sortedKeys } from "./sorted-keys.js";
import { parseStepContent } from "./step-content.js";
import { parseStepInput, type StepRow, toStepRow } from "./step-rows.js";
import { validate } from "./validate.js";

export { stepSessionId } from "./step-rows.js";

type Tx = Prisma.TransactionClient;

export type WriterOptions = {
  /** Largest step content accepted, in UTF-8 bytes. Default 16 MiB. */
  maxContentBytes?: number;
  /** Largest consolidated-session content accepted, in UTF-8 bytes. Default 256 MiB. */
  maxConsolidatedBytes?: number;
  /** Limits of each interactive transaction. PGlite queues transactions, so waiting counts too. */
  transaction?: { maxWait?: number; timeout?: number };
};

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
};

export type StoredStep = {
  sessionId: string;
  /** `pending` while the execution's transaction is open; `committed` once visible. */
  state: "pending" | "committed";
  /** False when the same content was already stored (a retried write). */
  created: boolean;
};

/**
 * Pins a write to one execution transaction: the call fails with TRANSACTION_STATE unless exactly
 * that transaction is still open. A caller that began a transaction (an atomic run) passes the id
 * `beginTransaction` returned, so a transaction recovered or ended by someone else meanwhile can
 * never turn its later steps into committed ones. `transactionId: null` says the opposite: commit
 * this write at once, and fail rather than let it join a transaction someone else has open.
 */
export type TransactionGuard = { transactionId?: string | null };

export type OpenTransaction = { executionId: string; transactionId: string; openedAt: Date; pendingSteps: number };

/** What a write needs to know about its execution, read under the row lock. */
type ExecutionState = { execution_id: string; open_transaction_id: string | null; status: ExecutionStatus };
type LockedExecution = ExecutionState & {
  started_at: Date;
  last_transaction_id: string | null;
  last_transaction_outcome: TransactionOutcome | null;
};
type TransactionOutcome = "committed" | "rolled_back";

type ConsolidationRow = {
  session_id: string;
  step_index: number;
  content: string;
  visible_at: Date;
  status: StepStatus | null;
  step_id: string | null;
  score: number | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  error: string | null;
  tool_calls: SessionLog["toolCalls"];
};

const INT32_MAX = 2_147_483_647;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** JSON equality whatever the key order (jsonb does not keep the caller's). */
const sameJson = (a: unknown, b: unknown) => JSON.stringify(sortedKeys(a)) === JSON.stringify(sortedKeys(b));

/** Bulk writes go in statements of bounded size: each is one JSON parameter the server parses whole. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const CHUNK_ROWS = 2_000;
function* chunksOf(rows: readonly StepRow[]): Generator<StepRow[]> {
  let chunk: StepRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (chunk.length && (chunk.length >= CHUNK_ROWS || bytes + row.content.length > CHUNK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += row.content.length;
  }
  if (chunk.length) yield chunk;
}

function toExecutionRecord(row: Prisma.ExecutionSessionModel): ExecutionSessionRecord {
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
  };
}

/**
 * The seed's DatabaseWriter, on Prisma interactive transactions.
 *
 * Execution transactions (`beginTransaction` … `commitTransaction`) are per execution and live in
 * the database, not in a connection: an agent may think for minutes between steps, and holding a
 * database transaction (and, on PGlite, the only connection) that long would stall every other run.
 * Steps written while one is open are stored at once as `pending` — durable, recoverable after a
 * crash, invisible to consolidation — and commit or rollback flips or deletes them in one statement.
 *
 * Every write to an execution first locks its row (`SELECT … FOR UPDATE`), so writes to one
 * execution are serialised while different executions proceed in parallel on PostgreSQL. A step write
 * is one statement (atomic on its own, see insertStepsStatement); every other write of more than one
 * row is one interactive transaction.
 */
export class DatabaseWriter {
  readonly #client: PrismaClient | Tx;
  readonly #root: PrismaClient | undefined;
  readonly #options: Required<WriterOptions>;

  constructor(client: PrismaClient, options?: WriterOptions);
  /** @internal a writer bound to an open interactive transaction (see `runInTransaction`). */
  constructor(client: Tx, options: WriterOptions | undefined, bound: true);
  constructor(client: PrismaClient | Tx, options: WriterOptions = {}, bound = false) {
    this.#client = client;
    this.#root = bound ? undefined : (client as PrismaClient);
    this.#options = {
      maxContentBytes: options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES,
      maxConsolidatedBytes: options.maxConsolidatedBytes ?? DEFAULT_MAX_CONSOLIDATED_BYTES,
      transaction: options.transaction ?? {},
    };
  }

  /**
   * Runs `fn` with a writer whose every call joins one database transaction: all of it commits, or
   * none of it. Nested calls (a bound writer's own `runInTransaction`) join the outer transaction.
   * Inside `fn`, use only the writer it is given: on PGlite a query on the outer client would wait for
   * this very transaction to end.
   */
  async runInTransaction<T>(fn: (writer: DatabaseWriter) => Promise<T>, options: { timeout?: number; maxWait?: number } = {}): Promise<T> {
    if (typeof fn !== "function") throw new DatabaseError("VALIDATION", "Invalid input: fn must be a function", { field: "fn" });
    const limits = validate(ZTransactionOptions, options, "options");
    // The caller's own errors (not the database's) come back unchanged, after the rollback.
    let own: { error: unknown } | undefined;
    try {
      return await this.#tx(
        "run a database transaction",
        async (tx) => {
          try {
            return await fn(new DatabaseWriter(tx, this.#options, true));
          } catch (error) {
            if (!DatabaseError.is(error)) own = { error };
            throw error;
          }
        },
        limits,
      );
    } catch (error) {
      throw own ? own.error : error;
    }
  }

  /** Runs `fn` in an interactive transaction, or inside the current one when this writer is bound. */
  async #tx<T>(action: string, fn: (tx: Tx) => Promise<T>, options: { timeout?: number; maxWait?: number } = {}): Promise<T> {
    try {
      if (!this.#root) return await fn(this.#client as Tx);
      return await this.#root.$transaction(fn, { ...this.#options.transaction, ...options });
    } catch (error) {
      throw toDatabaseError(error, action);
    }
  }

  async #read<T>(action: string, fn: (client: PrismaClient | Tx) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#client);
    } catch (error) {
      throw toDatabaseError(error, action);
    }
  }

  /** Locks the execution row for the rest of the transaction; NOT_FOUND if there is none. */
  async #lockExecution(tx: Tx, executionId: string): Promise<LockedExecution> {
    const rows = await tx.$queryRaw<LockedExecution[]>`
      SELECT execution_id, open_transaction_id::text AS open_transaction_id, status::text AS status, started_at,
        last_transaction_id::text AS last_transaction_id, last_transaction_outcome::text AS last_transaction_outcome
      FROM execution_sessions WHERE execution_id = ${executionId} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw this.#missingExecution(executionId);
    return row;
  }

  #missingExecution(executionId: string): DatabaseError {
    return new DatabaseError("NOT_FOUND", `Execution "${executionId}" does not exist: create it with createExecutionSession first`, {
      field: "executionId",
    });
  }

  // ── Executions ────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a running execution. The id is the caller's, so a retried create (its reply lost) finds
   * its own execution: the same fields again return it; different ones are a CONFLICT.
   */
  async createExecutionSession(input: CreateExecutionInput): Promise<ExecutionSessionRecord> {
    const data = validate(ZCreateExecutionInput, input, "");
    const action = `create execution "${data.executionId}"`;
    // Raw, because Prisma sends a top-level JSON number as a float parameter (0.1 + 0.2 came back as
    // 0.3) and a failed INSERT would abort an enclosing transaction; ON CONFLICT lets a retry be seen.
    const metadata = data.metadata === undefined || data.metadata === null ? null : JSON.stringify(data.metadata);
    const inserted = await this.#read(
      action,
      (c) =>
        c.$executeRaw`
        INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, metadata, started_at)
        VALUES (${data.executionId}, ${data.flowId}, ${data.agent}, ${data.prompt}, ${metadata}::jsonb,
          COALESCE(${data.startedAt ?? null}::timestamptz, now()))
        ON CONFLICT (execution_id) DO NOTHING`,
    );
    const row = await this.#read(action, (c) => c.executionSession.findUniqueOrThrow({ where: { executionId: data.executionId } }));
    const existing = toExecutionRecord(row);
    if (inserted) return existing;
    const same =
      existing.flowId === data.flowId &&
      existing.agent === data.agent &&
      existing.prompt === data.prompt &&
      sameJson(existing.metadata, data.metadata ?? null) &&
      (!data.startedAt || existing.startedAt.getTime() === data.startedAt.getTime());
    if (same) return existing;
    throw new DatabaseError("CONFLICT", `Failed to ${action}: it already exists with other fields (use a new executionId)`, {
      field: "executionId",
    });
  }

  async getExecutionSession(executionId: string): Promise<ExecutionSessionRecord | null> {
    const id = validate(ZId, executionId, "executionId");
    const row = await this.#read(`read execution "${id}"`, (c) => c.executionSession.findUnique({ where: { executionId: id } }));
    return row ? toExecutionRecord(row) : null;
  }

  /** Newest first. */
  async listExecutionSessions(input: ListExecutionsInput = {}): Promise<ExecutionSessionRecord[]> {
    const q = validate(ZListExecutionsInput, input, "");
    const rows = await this.#read("list executions", (c) =>
      c.executionSession.findMany({
        where: { ...(q.status ? { status: q.status } : {}), ...(q.flowId ? { flowId: q.flowId } : {}) },
        orderBy: [{ startedAt: "desc" }, { executionId: "asc" }],
        take: q.limit,
        skip: q.offset,
      }),
    );
    return rows.map(toExecutionRecord);
  }

  /**
   * Ends a running execution (compare-and-swap on `running`). Refused while its transaction is open:
   * commit or roll back first, so the final status never describes steps that could still vanish.
   */
  async finishExecutionSession(executionId: string, input: FinishExecutionInput): Promise<ExecutionSessionRecord> {
    const id = validate(ZId, executionId, "executionId");
    const data = validate(ZFinishExecutionInput, input, "");
    const row = await this.#tx(`finish execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
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
      this.#requireRunning(locked);
      if (locked.open_transaction_id) {
        throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" has an open transaction: commit or roll it back before finishing`, {
          field: "executionId",
        });
      }
      const finishedAt = data.finishedAt ?? new Date();
      const durationMs = data.durationMs ?? Math.max(0, finishedAt.getTime() - new Date(locked.started_at).getTime());
      if (durationMs > INT32_MAX) {
        throw new DatabaseError(
          "VALIDATION",
          `Invalid input: finishedAt is ${durationMs} ms after the start, over the ${INT32_MAX} ms a duration can hold`,
          {
            field: "finishedAt",
          },
        );
      }
      return tx.executionSession.update({
        where: { executionId: id },
        data: { status: data.status, error: data.error ?? null, finishedAt, durationMs },
      });
    });
    return toExecutionRecord(row);
  }

  // ── Execution transactions ────────────────────────────────────────────────────────────────────

  /**
   * Opens the execution's transaction and returns its id (see TransactionGuard). With a caller-chosen
   * `transactionId`, beginning again while that transaction is open returns it: a retry whose first
   * reply was lost does not fail and does not lose the id.
   */
  async beginTransaction(executionId: string, options: { transactionId?: string } = {}): Promise<string> {
    const id = validate(ZId, executionId, "executionId");
    const wanted = validate(ZTransactionGuard, options, "options").transactionId;
    return this.#tx(`begin a transaction for execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
      if (wanted && locked.open_transaction_id === wanted) return wanted;
      this.#requireRunning(locked);
      if (locked.open_transaction_id) {
        throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" already has an open transaction: commit or roll it back first`, {
          field: "executionId",
        });
      }
      if (wanted && locked.last_transaction_id === wanted) {
        throw new DatabaseError(
          "TRANSACTION_STATE",
          `Transaction ${wanted} of execution "${id}" already ended (${locked.last_transaction_outcome})`,
          {
            field: "transactionId",
          },
        );
      }
      const transactionId = wanted ?? randomUUID();
      await tx.executionSession.updateMany({
        where: { executionId: id },
        data: { openTransactionId: transactionId, transactionOpenedAt: new Date() },
      });
      return transactionId;
    });
  }

  /** Only a running execution changes: a finished one's record is final. */
  #requireRunning(locked: ExecutionState): void {
    if (locked.status !== "running") {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Execution "${locked.execution_id}" already finished as ${locked.status}: its record is final`,
        {
          field: "executionId",
        },
      );
    }
  }

  #checkGuard(locked: ExecutionState, guard: TransactionGuard): void {
    if (guard.transactionId === null && locked.open_transaction_id !== null) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Execution "${locked.execution_id}" has an open transaction: this write was to commit at once`,
        {
          field: "transactionId",
        },
      );
    }
    if (guard.transactionId !== undefined && guard.transactionId !== null && locked.open_transaction_id !== guard.transactionId) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Transaction ${guard.transactionId} of execution "${locked.execution_id}" is no longer open (ended or recovered elsewhere)`,
        { field: "transactionId" },
      );
    }
  }

  /** Makes every step of the open transaction visible at once. */
  async commitTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    guard = validate(ZTransactionGuard, guard, "guard");
    await this.#endTransaction(executionId, guard, "committed", async (tx, transactionId) => {
      await tx.stepSession.updateMany({
        where: { executionId, transactionId, state: "pending" },
        data: { state: "committed", committedAt: new Date() },
      });
    });
  }

  /** Deletes every step of the open transaction (and their tool calls, by cascade). */
  async rollbackTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    guard = validate(ZTransactionGuard, guard, "guard");
    await this.#endTransaction(executionId, guard, "rolled_back", (tx, transactionId) =>
      this.#deletePending(tx, executionId, transactionId),
    );
  }

  async #deletePending(tx: Tx, executionId: string, transactionId: string): Promise<number> {
    const { count } = await tx.stepSession.deleteMany({ where: { executionId, transactionId, state: "pending" } });
    return count;
  }

  /**
   * Ends the open transaction under the row lock and records how. A guarded call for a transaction
   * that already ended the same way is a retry whose reply was lost: it succeeds without doing more.
   */
  async #endTransaction(
    executionId: string,
    guard: TransactionGuard,
    outcome: TransactionOutcome,
    apply: (tx: Tx, transactionId: string) => Promise<unknown>,
  ): Promise<void> {
    const id = validate(ZId, executionId, "executionId");
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
    await this.#tx(`${verb} the transaction of execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
      const ended =
        guard.transactionId !== undefined &&
        locked.open_transaction_id !== guard.transactionId &&
        locked.last_transaction_id === guard.transactionId;
      if (ended && locked.last_transaction_outcome === outcome) return;
      if (ended) {
        throw new DatabaseError(
          "TRANSACTION_STATE",
          `Cannot ${verb}: transaction ${guard.transactionId} of execution "${id}" was already ${locked.last_transaction_outcome?.replace("_", " ")}`,
          {
            field: "transactionId",
          },
        );
      }
      this.#checkGuard(locked, guard);
      if (!locked.open_transaction_id) {
        throw new DatabaseError(
          "TRANSACTION_STATE",
          `Cannot ${verb}: execution "${id}" has no open transaction (call beginTransaction first)`,
          {
            field: "executionId",
          },
        );
      }
      await apply(tx, locked.open_transaction_id);
      await this.#closeTransaction(tx, id, locked.open_transaction_id, outcome);
    });
  }

  #closeTransaction(tx: Tx, executionId: string, transactionId: string, outcome: TransactionOutcome) {
    return tx.executionSession.updateMany({
      where: { executionId },
      data: { openTransactionId: null, transactionOpenedAt: null, lastTransactionId: transactionId, lastTransactionOutcome: outcome },
    });
  }

  /** Transactions left open (by a crash, or a caller that never finished), oldest first. */
  async listOpenTransactions(options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
    // An age reaching before year 1 (PostgreSQL's timestamps start there) asks for nothing older.
    const cutoff = new Date(Math.max(Date.now() - (validate(ZAgeOptions, options, "options").olderThanMs ?? 0), EARLIEST_TIMESTAMP));
    const rows = await this.#read("list open transactions", (c) =>
      c.executionSession.findMany({
        where: { openTransactionId: { not: null }, transactionOpenedAt: { lte: cutoff } },
        orderBy: { transactionOpenedAt: "asc" },
        select: { executionId: true, openTransactionId: true, transactionOpenedAt: true },
      }),
    );
    const transactionIds = rows.map((r) => r.openTransactionId!);
    const counts = transactionIds.length
      ? await this.#read("count pending steps", (c) =>
          c.stepSession.groupBy({
            by: ["transactionId"],
            where: { state: "pending", transactionId: { in: transactionIds } },
            _count: { _all: true },
          }),
        )
      : [];
    const pending = new Map(counts.map((g) => [g.transactionId, g._count._all]));
    return rows.map((r) => ({
      executionId: r.executionId,
      transactionId: r.openTransactionId!,
      openedAt: r.transactionOpenedAt!,
      pendingSteps: pending.get(r.openTransactionId) ?? 0,
    }));
  }

  /**
   * Rolls back every execution transaction opened more than `olderThanMs` ago and returns what it
   * undid. Each rollback is its own transaction and checks the transaction id again under the lock,
   * so one that committed meanwhile is left alone.
   */
  async recoverOpenTransactions(options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
    const recovered: OpenTransaction[] = [];
    for (const open of await this.listOpenTransactions(options)) {
      const pendingSteps = await this.#tx(`recover the transaction of execution "${open.executionId}"`, async (tx) => {
        const locked = await this.#lockExecution(tx, open.executionId);
        if (locked.open_transaction_id !== open.transactionId) return undefined;
        const count = await this.#deletePending(tx, open.executionId, open.transactionId);
        await this.#closeTransaction(tx, open.executionId, open.transactionId, "rolled_back");
        return count;
      });
      if (pendingSteps !== undefined) recovered.push({ ...open, pendingSteps });
    }
    return recovered;
  }

  // ── Steps ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * The seed's method: stores a step's session content exactly as given, with the structured fields
   * parsed from it (JSON, or YAML as reev wrote it; neither → stored with the fields empty).
   */
  async storeStepSession(executionId: string, stepIndex: number, sessionContent: string, guard: TransactionGuard = {}): Promise<void> {
    guard = validate(ZTransactionGuard, guard, "guard");
    const index = validate(ZStepIndex, stepIndex, "stepIndex");
    const content = validate(ZText, sessionContent, "sessionContent");
    this.#checkSize(content, "sessionContent");
    const fields = validate(ZStepFields, parseStepContent(content) ?? {}, "sessionContent");
    const id = validate(ZId, executionId, "executionId");
    await this.#storeValidatedStep(id, index, fields, content, guard);
  }

  #checkSize(content: string, field: string, cap = this.#options.maxContentBytes): void {
    const bytes = Buffer.byteLength(content, "utf8");
    if (bytes > cap)
      throw new DatabaseError("VALIDATION", `Invalid input: ${field} is ${bytes} bytes, over the ${cap}-byte cap`, { field });
  }

  /**
   * Stores one step and its tool calls in one statement (insertStepsStatement). Retry-safe: the same
   * step again is a no-op; a different one (content, fields or tool calls) for a committed step is a
   * CONFLICT, never a silent overwrite. A step still pending in the open transaction may be replaced —
   * nobody has seen it yet.
   */
  async storeStep(executionId: string, step: StepInput, guard: TransactionGuard = {}): Promise<StoredStep> {
    guard = validate(ZTransactionGuard, guard, "guard");
    const id = validate(ZId, executionId, "executionId");
    const { stepIndex, data, content } = parseStepInput(step, "");
    this.#checkSize(content, "content");
    return this.#storeValidatedStep(id, stepIndex, data, content, guard);
  }

  async #storeValidatedStep(
    id: string,
    stepIndex: number,
    data: z.output<typeof ZStepFields>,
    content: string,
    guard: TransactionGuard,
  ): Promise<StoredStep> {
    const row = toStepRow(id, stepIndex, data, content);
    const field = () => "stepIndex";
    // One statement, no interactive transaction: see insertStepsStatement.
    let written = await this.#read(`store step ${stepIndex} of execution "${id}"`, (c) => this.#insertSteps(c, id, [row], guard, field));
    if (written.replace.length) {
      written = await this.#tx(`replace pending step ${stepIndex} of execution "${id}"`, (tx) =>
        this.#replaceSteps(tx, id, written.replace, guard, field),
      );
    }
    const created = written.inserted.has(stepIndex);
    return { sessionId: row.sessionId, state: created ? written.state : written.prior.get(stepIndex)!.state, created };
  }

  /**
   * Bulk import (an exported run, say): stores every step and its tool calls in one transaction —
   * all of them, or none. Per step the rules of `storeStep` hold: the same step again is a no-op, a
   * different one for a committed index is a CONFLICT naming it. Returns how many were given and how
   * many were new.
   */
  async storeSteps(
    executionId: string,
    steps: readonly StepInput[],
    guard: TransactionGuard = {},
  ): Promise<{ stored: number; created: number }> {
    guard = validate(ZTransactionGuard, guard, "guard");
    const id = validate(ZId, executionId, "executionId");
    if (!Array.isArray(steps)) throw new DatabaseError("VALIDATION", "Invalid input: steps must be an array of steps", { field: "steps" });
    const rows: StepRow[] = [];
    const seen = new Map<number, number>();
    steps.forEach((step, i) => {
      const { stepIndex, data, content } = parseStepInput(step, `steps[${i}]`);
      const twin = seen.get(stepIndex);
      if (twin !== undefined) {
        throw new DatabaseError("VALIDATION", `Invalid input: steps[${i}].stepIndex ${stepIndex} repeats steps[${twin}]`, {
          field: `steps[${i}].stepIndex`,
        });
      }
      seen.set(stepIndex, i);
      this.#checkSize(content, `steps[${i}].content`);
      rows.push(toStepRow(id, stepIndex, data, content));
    });
    const field = (row: StepRow) => `steps[${seen.get(row.stepIndex)}].stepIndex`;
    const created = await this.#tx(`store ${rows.length} steps of execution "${id}"`, async (tx) => {
      if (!rows.length) {
        // Nothing to write, but the same answers as any import: the execution exists, the guard holds.
        this.#checkGuard(await this.#lockExecution(tx, id), guard);
        return 0;
      }
      let count = 0;
      const replace: StepRow[] = [];
      for (const chunk of chunksOf(rows)) {
        const written = await this.#insertSteps(tx, id, chunk, guard, field);
        count += written.inserted.size;
        replace.push(...written.replace);
      }
      if (replace.length) count += (await this.#replaceSteps(tx, id, replace, guard, field)).inserted.size;
      return count;
    });
    return { stored: rows.length, created };
  }

  /**
   * Runs insertStepsStatement until every row is inserted or found stored, then sorts the stored
   * ones: the same fingerprint is a retry (no-op); a different one is a CONFLICT unless the step is
   * still pending in the open transaction, which may be replaced (nobody has seen it yet).
   */
  async #insertSteps(
    client: PrismaClient | Tx,
    id: string,
    rows: readonly StepRow[],
    guard: TransactionGuard,
    field: (row: StepRow) => string,
  ) {
    const inserted = new Set<number>();
    const prior = new Map<number, PriorStep>();
    let execution: ExecutionState | undefined;
    let todo = rows;
    // A step that a concurrent writer committed during the statement is in neither list (see the
    // statement); the next try, with a fresh snapshot, sees it.
    for (let attempt = 0; todo.length && attempt < 3; attempt++) {
      const [outcome] = await client.$queryRaw<InsertStepsOutcome[]>(insertStepsStatement(id, todo, guard));
      if (!outcome?.execution_id) throw this.#missingExecution(id);
      execution = { execution_id: id, open_transaction_id: outcome.open_transaction_id, status: outcome.status };
      this.#checkGuard(execution, guard);
      for (const index of outcome.inserted) inserted.add(index);
      for (const p of outcome.prior) prior.set(p.step_index, p);
      todo = todo.filter((r) => !inserted.has(r.stepIndex) && !prior.has(r.stepIndex));
      if (execution.status !== "running") break;
    }
    const replace: StepRow[] = [];
    for (const row of rows) {
      if (inserted.has(row.stepIndex)) continue;
      const stored = prior.get(row.stepIndex);
      if (stored?.content_sha256 === row.contentSha256) continue;
      this.#requireRunning(execution!);
      if (!stored) {
        throw new DatabaseError(
          "CONFLICT",
          `Step ${row.stepIndex} of execution "${id}" kept changing under concurrent writers; retry the write`,
          {
            field: field(row),
          },
        );
      }
      if (stored.state !== "pending" || stored.transaction_id !== execution!.open_transaction_id) {
        throw new DatabaseError(
          "CONFLICT",
          `Step ${row.stepIndex} of execution "${id}" is already stored with different content; steps are immutable once committed (use a new step index)`,
          { field: field(row) },
        );
      }
      replace.push(row);
    }
    const state: StoredStep["state"] = execution!.open_transaction_id ? "pending" : "committed";
    return { inserted, prior, replace, state };
  }

  /** Deletes pending steps of the open transaction (tool calls go by cascade) and writes them anew. */
  async #replaceSteps(tx: Tx, id: string, rows: readonly StepRow[], guard: TransactionGuard, field: (row: StepRow) => string) {
    const locked = await this.#lockExecution(tx, id);
    this.#checkGuard(locked, guard);
    await tx.stepSession.deleteMany({
      where: {
        executionId: id,
        stepIndex: { in: rows.map((r) => r.stepIndex) },
        state: "pending",
        transactionId: locked.open_transaction_id,
      },
    });
    const written = await this.#insertSteps(tx, id, rows, guard, field);
    // Under the lock, a step deleted above cannot reappear; one that is still "prior" was committed.
    const committed = rows.find((r) => !written.inserted.has(r.stepIndex));
    if (committed) {
      throw new DatabaseError(
        "CONFLICT",
        `Step ${committed.stepIndex} of execution "${id}" was committed meanwhile; steps are immutable once committed`,
        {
          field: field(committed),
        },
      );
    }
    return written;
  }

  /** Committed steps of an execution in numeric step order, with their tool calls. */
  async getSessionsForConsolidation(executionId: string): Promise<SessionLog[]> {
    const id = validate(ZId, executionId, "executionId");
    // One query, tool calls aggregated per step by the server: for 10,000 steps this reads half as
    // fast again as Prisma's findMany + include (two queries, 60,000 rows mapped one by one).
    const rows = await this.#read(
      `read the steps of execution "${id}"`,
      (c) => c.$queryRaw<ConsolidationRow[]>`
      SELECT s.session_id, s.step_index, s.content, COALESCE(s.committed_at, s.created_at) AS visible_at, s.status::text AS status,
        s.step_id, s.score, s.started_at, s.finished_at, s.duration_ms, s.error,
        COALESCE((SELECT json_agg(json_build_object('callIndex', t.call_index, 'toolName', t.tool_name, 'input', t.input,
          'output', t.output, 'success', t.success, 'durationMs', t.duration_ms, 'error', t.error) ORDER BY t.call_index)
          FROM tool_calls t WHERE t.session_id = s.session_id), '[]'::json) AS tool_calls
      FROM step_sessions s WHERE s.execution_id = ${id} AND s.state = 'committed' ORDER BY s.step_index`,
    );
    return rows.map((r) => ({
      sessionId: r.session_id,
      executionId: id,
      stepIndex: r.step_index,
      content: r.content,
      timestamp: r.visible_at.toISOString(),
      status: r.status ?? "unknown",
      stepId: r.step_id,
      success: r.status === null ? null : r.status === "success",
      score: r.score,
      startedAt: iso(r.started_at),
      finishedAt: iso(r.finished_at),
      durationMs: r.duration_ms,
      error: r.error,
      toolCalls: r.tool_calls,
    }));
  }

  // ── Consolidated sessions ─────────────────────────────────────────────────────────────────────

  /**
   * Stores a consolidated session. The parent execution must exist; `originalSessionIds` are read
   * from the execution's committed steps in the same transaction, so they are the real ids in step
   * order. A duplicate `consolidatedId` is a CONFLICT.
   */
  async storeConsolidatedSession(
    consolidatedId: string,
    executionId: string,
    content: string,
    metadata: ConsolidationMetadata,
  ): Promise<{ created: boolean }> {
    const cid = validate(ZId, consolidatedId, "consolidatedId");
    const id = validate(ZId, executionId, "executionId");
    const text = validate(ZText, content, "content");
    this.#checkSize(text, "content", this.#options.maxConsolidatedBytes);
    const meta = validate(ZConsolidationMetadata, metadata ?? {}, "metadata");
    return this.#tx(`store consolidated session "${cid}"`, async (tx) => {
      // Locked before the step ids are read, so no step can commit in between: the ids are exactly
      // the steps the content was built from when the caller holds the lock too (consolidation does).
      await this.#lockExecution(tx, id);
      const inserted = await tx.$executeRaw`
        INSERT INTO consolidated_sessions (execution_id, consolidated_session_id, consolidated_content, original_session_ids,
          avg_score, total_tools, success_rate, execution_duration_ms)
        VALUES (${id}, ${cid}, ${text},
          COALESCE((SELECT jsonb_agg(session_id ORDER BY step_index) FROM step_sessions WHERE execution_id = ${id} AND state = 'committed'), '[]'::jsonb),
          ${meta.avgScore ?? null}::float8, ${meta.totalTools ?? null}::int, ${meta.successRate ?? null}::float8, ${meta.executionDurationMs ?? null}::int)
        ON CONFLICT (consolidated_session_id) DO NOTHING`;
      if (inserted) return { created: true };
      // The same session again (a retry whose reply was lost) is a no-op; anything else under the id is not.
      const [same] = await tx.$queryRaw<unknown[]>`
        SELECT 1 FROM consolidated_sessions WHERE consolidated_session_id = ${cid} AND execution_id = ${id}
          AND consolidated_content = ${text} AND avg_score IS NOT DISTINCT FROM ${meta.avgScore ?? null}::float8
          AND total_tools IS NOT DISTINCT FROM ${meta.totalTools ?? null}::int AND success_rate IS NOT DISTINCT FROM ${meta.successRate ?? null}::float8
          AND execution_duration_ms IS NOT DISTINCT FROM ${meta.executionDurationMs ?? null}::int`;
      if (!same) {
        throw new DatabaseError("CONFLICT", `Consolidated session "${cid}" already exists with other content: consolidate under a new id`, {
          field: "consolidatedId",
        });
      }
      return { created: false };
    });
  }

  async getConsolidatedSession(consolidatedId: string): Promise<string | null> {
    const cid = validate(ZId, consolidatedId, "consolidatedId");
    const row = await this.#read(`read consolidated session "${cid}"`, (c) =>
      c.consolidatedSession.findUnique({ where: { consolidatedSessionId: cid }, select: { consolidatedContent: true } }),
    );
    return row?.consolidatedContent ?? null;
  }

  /** Newest first. */
  async getConsolidatedSessionsByExecution(executionId: string): Promise<ConsolidatedSessionLog[]> {
    const id = validate(ZId, executionId, "executionId");
    const rows = await this.#read(`read consolidated sessions of execution "${id}"`, (c) =>
      c.consolidatedSession.findMany({ where: { executionId: id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    );
    return rows.map((r) => ({
      id: r.id,
      consolidatedSessionId: r.consolidatedSessionId,
      executionId: r.executionId,
      consolidatedContent: r.consolidatedContent,
      originalSessionIds: r.originalSessionIds as string[],
      avgScore: r.avgScore,
      totalTools: r.totalTools,
      successRate: r.successRate,
      executionDurationMs: r.executionDurationMs,
      timestamp: r.createdAt.toISOString(),
    }));
  }

  /**
   * Moves an execution's consolidation status. With `expected`, only from that status (a
   * compare-and-swap): a late writer cannot overwrite a newer outcome. Returns whether it moved.
   */
  async setConsolidationStatus(
    executionId: string,
    status: ConsolidationStatus,
    options: { expected?: ConsolidationStatus | ConsolidationStatus[]; error?: string | null } = {},
  ): Promise<boolean> {
    const id = validate(ZId, executionId, "executionId");
    validate(ZConsolidationStatus, status, "status");
    const checked = validate(ZConsolidationStatusOptions, options, "options");
    const expected = checked.expected === undefined ? undefined : [checked.expected].flat();
    const error = checked.error ?? null;
    // One UPDATE is atomic and takes the row lock itself: no interactive transaction needed.
    return this.#read(`set the consolidation status of execution "${id}"`, async (c) => {
      const { count } = await c.executionSession.updateMany({
        where: { executionId: id, ...(expected ? { consolidationStatus: { in: expected } } : {}) },
        data: { consolidationStatus: status, consolidationError: error, consolidationUpdatedAt: new Date() },
      });
      if (count === 0 && !(await c.executionSession.findUnique({ where: { executionId: id }, select: { executionId: true } }))) {
        throw this.#missingExecution(id);
      }
      return count === 1;
    });
  }
}
