import { createHash, randomUUID } from "node:crypto";
import type { z } from "zod";
import { DatabaseError, toDatabaseError } from "./errors.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";
import {
  type ConsolidatedSessionLog,
  type ConsolidationMetadata,
  type ConsolidationStatus,
  type CreateExecutionInput,
  DEFAULT_MAX_CONTENT_BYTES,
  type ExecutionStatus,
  type FinishExecutionInput,
  type JsonValue,
  type ListExecutionsInput,
  type SessionLog,
  type StepInput,
  type StepStatus,
  ZConsolidationMetadata,
  ZConsolidationStatus,
  ZCreateExecutionInput,
  ZFinishExecutionInput,
  ZId,
  ZListExecutionsInput,
  ZStepFields,
  ZStepIndex,
  ZStepInput,
  ZText,
} from "./schemas.js";
import { parseStepContent } from "./step-content.js";
import { validate } from "./validate.js";

type Tx = Prisma.TransactionClient;

export type WriterOptions = {
  /** Largest session content accepted, in UTF-8 bytes. Default 16 MiB. */
  maxContentBytes?: number;
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
 * never turn its later steps into committed ones.
 */
export type TransactionGuard = { transactionId?: string };

export type OpenTransaction = { executionId: string; transactionId: string; openedAt: Date; pendingSteps: number };

type LockedExecution = { execution_id: string; open_transaction_id: string | null; status: ExecutionStatus; started_at: Date };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const iso = (d: Date | null) => (d ? d.toISOString() : null);
export const stepSessionId = (executionId: string, stepIndex: number) => `${executionId}_step_${stepIndex}`;

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
      row.openTransactionId && row.transactionOpenedAt
        ? { transactionId: row.openTransactionId, openedAt: row.transactionOpenedAt }
        : null,
    consolidation: { status: row.consolidationStatus, error: row.consolidationError, updatedAt: row.consolidationUpdatedAt },
  };
}

function stepStatusOf(fields: { status?: StepStatus | null; success?: boolean | null }): StepStatus | null {
  if (fields.status) return fields.status;
  if (fields.success === true) return "success";
  if (fields.success === false) return "failed";
  return null;
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
 * Every method that writes more than one row runs as one interactive transaction that first locks
 * the execution row (`SELECT … FOR UPDATE`), so writes to one execution are serialised while
 * different executions proceed in parallel on PostgreSQL.
 */
export class DatabaseWriter {
  readonly #client: PrismaClient | Tx;
  readonly #root: PrismaClient | undefined;
  readonly #maxContentBytes: number;
  readonly #txOptions: { maxWait?: number; timeout?: number };

  constructor(client: PrismaClient, options?: WriterOptions);
  /** @internal a writer bound to an open interactive transaction (see `runInTransaction`). */
  constructor(client: Tx, options: WriterOptions | undefined, bound: true);
  constructor(client: PrismaClient | Tx, options: WriterOptions = {}, bound = false) {
    this.#client = client;
    this.#root = bound ? undefined : (client as PrismaClient);
    this.#maxContentBytes = options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES;
    this.#txOptions = options.transaction ?? {};
  }

  /**
   * Runs `fn` with a writer whose every call joins one database transaction: all of it commits, or
   * none of it. Nested calls (a bound writer's own `runInTransaction`) join the outer transaction.
   * Inside `fn`, use only the writer it is given: on PGlite a query on the outer client would wait for
   * this very transaction to end.
   */
  async runInTransaction<T>(fn: (writer: DatabaseWriter) => Promise<T>, options: { timeout?: number; maxWait?: number } = {}): Promise<T> {
    // The caller's own errors (not the database's) come back unchanged, after the rollback.
    let own: { error: unknown } | undefined;
    try {
      return await this.#tx(
        "run a database transaction",
        async (tx) => {
          try {
            return await fn(new DatabaseWriter(tx, this.#options(), true));
          } catch (error) {
            if (!DatabaseError.is(error)) own = { error };
            throw error;
          }
        },
        options,
      );
    } catch (error) {
      throw own ? own.error : error;
    }
  }

  #options(): WriterOptions {
    return { maxContentBytes: this.#maxContentBytes, transaction: this.#txOptions };
  }

  /** Runs `fn` in an interactive transaction, or inside the current one when this writer is bound. */
  async #tx<T>(action: string, fn: (tx: Tx) => Promise<T>, options: { timeout?: number; maxWait?: number } = {}): Promise<T> {
    try {
      if (!this.#root) return await fn(this.#client as Tx);
      return await this.#root.$transaction(fn, { ...this.#txOptions, ...options });
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
      SELECT execution_id, open_transaction_id::text AS open_transaction_id, status::text AS status, started_at
      FROM execution_sessions WHERE execution_id = ${executionId} FOR UPDATE`;
    const row = rows[0];
    if (!row) {
      throw new DatabaseError("NOT_FOUND", `Execution "${executionId}" does not exist: create it with createExecutionSession first`, {
        field: "executionId",
      });
    }
    return row;
  }

  // ── Executions ────────────────────────────────────────────────────────────────────────────────

  async createExecutionSession(input: CreateExecutionInput): Promise<ExecutionSessionRecord> {
    const data = validate(ZCreateExecutionInput, input, "");
    const row = await this.#read(`create execution "${data.executionId}"`, (c) =>
      c.executionSession.create({
        data: {
          executionId: data.executionId,
          flowId: data.flowId,
          agent: data.agent,
          prompt: data.prompt,
          ...(data.metadata === undefined ? {} : { metadata: data.metadata as Prisma.InputJsonValue }),
          ...(data.startedAt ? { startedAt: data.startedAt } : {}),
        },
      }),
    );
    return toExecutionRecord(row);
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
      this.#requireRunning(locked);
      if (locked.open_transaction_id) {
        throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" has an open transaction: commit or roll it back before finishing`, {
          field: "executionId",
        });
      }
      const finishedAt = data.finishedAt ?? new Date();
      const durationMs = data.durationMs ?? Math.max(0, finishedAt.getTime() - new Date(locked.started_at).getTime());
      return tx.executionSession.update({
        where: { executionId: id },
        data: { status: data.status, error: data.error ?? null, finishedAt, durationMs },
      });
    });
    return toExecutionRecord(row);
  }

  // ── Execution transactions ────────────────────────────────────────────────────────────────────

  /** Opens the execution's transaction and returns its id (see TransactionGuard). */
  async beginTransaction(executionId: string): Promise<string> {
    const id = validate(ZId, executionId, "executionId");
    return this.#tx(`begin a transaction for execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
      this.#requireRunning(locked);
      if (locked.open_transaction_id) {
        throw new DatabaseError("TRANSACTION_STATE", `Execution "${id}" already has an open transaction: commit or roll it back first`, {
          field: "executionId",
        });
      }
      const transactionId = randomUUID();
      await tx.executionSession.updateMany({
        where: { executionId: id },
        data: { openTransactionId: transactionId, transactionOpenedAt: new Date() },
      });
      return transactionId;
    });
  }

  /** Only a running execution changes: a finished one's record is final. */
  #requireRunning(locked: LockedExecution): void {
    if (locked.status !== "running") {
      throw new DatabaseError("TRANSACTION_STATE", `Execution "${locked.execution_id}" already finished as ${locked.status}: its record is final`, {
        field: "executionId",
      });
    }
  }

  #checkGuard(locked: LockedExecution, guard: TransactionGuard): void {
    if (guard.transactionId !== undefined && locked.open_transaction_id !== guard.transactionId) {
      throw new DatabaseError(
        "TRANSACTION_STATE",
        `Transaction ${guard.transactionId} of execution "${locked.execution_id}" is no longer open (ended or recovered elsewhere)`,
        { field: "transactionId" },
      );
    }
  }

  /** Makes every step of the open transaction visible at once. */
  async commitTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    await this.#endTransaction(executionId, guard, "commit", async (tx, transactionId) => {
      await tx.stepSession.updateMany({
        where: { executionId, transactionId, state: "pending" },
        data: { state: "committed", committedAt: new Date() },
      });
    });
  }

  /** Deletes every step of the open transaction (and their tool calls, by cascade). */
  async rollbackTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    await this.#endTransaction(executionId, guard, "roll back", (tx, transactionId) => this.#deletePending(tx, executionId, transactionId));
  }

  async #deletePending(tx: Tx, executionId: string, transactionId: string): Promise<number> {
    const { count } = await tx.stepSession.deleteMany({ where: { executionId, transactionId, state: "pending" } });
    return count;
  }

  async #endTransaction(
    executionId: string,
    guard: TransactionGuard,
    verb: string,
    apply: (tx: Tx, transactionId: string) => Promise<unknown>,
  ): Promise<void> {
    const id = validate(ZId, executionId, "executionId");
    await this.#tx(`${verb} the transaction of execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
      this.#checkGuard(locked, guard);
      if (!locked.open_transaction_id) {
        throw new DatabaseError("TRANSACTION_STATE", `Cannot ${verb}: execution "${id}" has no open transaction (call beginTransaction first)`, {
          field: "executionId",
        });
      }
      await apply(tx, locked.open_transaction_id);
      await tx.executionSession.updateMany({ where: { executionId: id }, data: { openTransactionId: null, transactionOpenedAt: null } });
    });
  }

  /** Transactions left open (by a crash, or a caller that never finished), oldest first. */
  async listOpenTransactions(options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
    const cutoff = new Date(Date.now() - (options.olderThanMs ?? 0));
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
          c.stepSession.groupBy({ by: ["transactionId"], where: { state: "pending", transactionId: { in: transactionIds } }, _count: { _all: true } }),
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
        await tx.executionSession.updateMany({
          where: { executionId: open.executionId },
          data: { openTransactionId: null, transactionOpenedAt: null },
        });
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
    const index = validate(ZStepIndex, stepIndex, "stepIndex");
    const content = validate(ZText, sessionContent, "sessionContent");
    this.#checkSize(content, "sessionContent");
    const fields = validate(ZStepFields, parseStepContent(content) ?? {}, "sessionContent");
    const id = validate(ZId, executionId, "executionId");
    await this.#storeValidatedStep(id, index, fields, content, guard);
  }

  #checkSize(content: string, field: string): void {
    const bytes = Buffer.byteLength(content, "utf8");
    if (bytes > this.#maxContentBytes) {
      throw new DatabaseError("VALIDATION", `Invalid input: ${field} is ${bytes} bytes, over the ${this.#maxContentBytes}-byte cap`, { field });
    }
  }

  /**
   * Stores one step and its tool calls in one transaction. Retry-safe: the same step again is a
   * no-op; a different one (content, fields or tool calls) for a committed step is a CONFLICT, never
   * a silent overwrite. A step
   * still pending in the open transaction may be replaced — nobody has seen it yet.
   */
  async storeStep(executionId: string, step: StepInput, guard: TransactionGuard = {}): Promise<StoredStep> {
    const id = validate(ZId, executionId, "executionId");
    const { stepIndex, content: given, ...data } = validate(ZStepInput, step, "");
    const content = given ?? JSON.stringify({ ...step, content: undefined });
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
    const { toolCalls = [] } = data;
    const sessionId = stepSessionId(id, stepIndex);
    const fields = {
      stepId: data.stepId ?? null,
      status: stepStatusOf(data),
      score: data.score ?? null,
      startedAt: data.startedAt ?? null,
      finishedAt: data.finishedAt ?? null,
      durationMs: data.durationMs ?? null,
      error: data.error ?? null,
    };
    const calls = toolCalls.map((c, callIndex) => ({
      sessionId,
      callIndex,
      toolName: c.toolName,
      input: (c.input ?? undefined) as Prisma.InputJsonValue | undefined,
      output: (c.output ?? undefined) as Prisma.InputJsonValue | undefined,
      success: c.success ?? null,
      durationMs: c.durationMs ?? null,
      error: c.error ?? null,
    }));
    // The fingerprint covers what is stored, not only the content: the same content given again with
    // other structured fields or tool calls is a different step, not a retry.
    const contentSha256 = sha256(JSON.stringify([content, fields, calls]));
    const row = { ...fields, content, contentSha256 };
    return this.#tx(`store step ${stepIndex} of execution "${id}"`, async (tx) => {
      const locked = await this.#lockExecution(tx, id);
      this.#checkGuard(locked, guard);
      const transactionId = locked.open_transaction_id;
      const state = transactionId ? "pending" : "committed";
      const existing = await tx.stepSession.findUnique({
        where: { executionId_stepIndex: { executionId: id, stepIndex } },
        select: { contentSha256: true, state: true, transactionId: true },
      });
      if (existing) {
        const sameTransaction = existing.state === "pending" && existing.transactionId === transactionId;
        if (existing.contentSha256 === contentSha256) return { sessionId, state: existing.state, created: false };
        this.#requireRunning(locked);
        if (!sameTransaction) {
          throw new DatabaseError(
            "CONFLICT",
            `Step ${stepIndex} of execution "${id}" is already stored with different content; steps are immutable once committed (use a new step index)`,
            { field: "stepIndex" },
          );
        }
        await tx.toolCall.deleteMany({ where: { sessionId } });
        await tx.stepSession.update({ where: { sessionId }, data: row, select: { sessionId: true } });
      } else {
        this.#requireRunning(locked);
        // `select` keeps Prisma from sending the whole row (content included) back for nothing.
        await tx.stepSession.create({
          data: { ...row, sessionId, executionId: id, stepIndex, state, transactionId, committedAt: transactionId ? null : new Date() },
          select: { sessionId: true },
        });
      }
      if (calls.length) await tx.toolCall.createMany({ data: calls });
      return { sessionId, state, created: true };
    });
  }

  /** Committed steps of an execution in numeric step order, with their tool calls. */
  async getSessionsForConsolidation(executionId: string): Promise<SessionLog[]> {
    const id = validate(ZId, executionId, "executionId");
    const rows = await this.#read(`read the steps of execution "${id}"`, (c) =>
      c.stepSession.findMany({
        where: { executionId: id, state: "committed" },
        orderBy: { stepIndex: "asc" },
        include: { toolCalls: { orderBy: { callIndex: "asc" } } },
      }),
    );
    return rows.map((r) => ({
      sessionId: r.sessionId,
      executionId: r.executionId,
      stepIndex: r.stepIndex,
      content: r.content,
      timestamp: (r.committedAt ?? r.createdAt).toISOString(),
      status: r.status ?? "unknown",
      stepId: r.stepId,
      success: r.status === null ? null : r.status === "success",
      score: r.score,
      startedAt: iso(r.startedAt),
      finishedAt: iso(r.finishedAt),
      durationMs: r.durationMs,
      error: r.error,
      toolCalls: r.toolCalls.map((t) => ({
        callIndex: t.callIndex,
        toolName: t.toolName,
        input: t.input ?? null,
        output: t.output ?? null,
        success: t.success,
        durationMs: t.durationMs,
        error: t.error,
      })),
    }));
  }

  // ── Consolidated sessions ─────────────────────────────────────────────────────────────────────

  /**
   * Stores a consolidated session. The parent execution must exist; `originalSessionIds` are read
   * from the execution's committed steps in the same transaction, so they are the real ids in step
   * order. A duplicate `consolidatedId` is a CONFLICT.
   */
  async storeConsolidatedSession(consolidatedId: string, executionId: string, content: string, metadata: ConsolidationMetadata): Promise<void> {
    const cid = validate(ZId, consolidatedId, "consolidatedId");
    const id = validate(ZId, executionId, "executionId");
    const text = validate(ZText, content, "content");
    this.#checkSize(text, "content");
    const meta = validate(ZConsolidationMetadata, metadata ?? {}, "metadata");
    await this.#tx(`store consolidated session "${cid}"`, async (tx) => {
      await this.#lockExecution(tx, id);
      const taken = await tx.consolidatedSession.findUnique({ where: { consolidatedSessionId: cid }, select: { id: true } });
      if (taken) {
        throw new DatabaseError("CONFLICT", `Consolidated session "${cid}" already exists: consolidate under a new id`, { field: "consolidatedId" });
      }
      const steps = await tx.stepSession.findMany({
        where: { executionId: id, state: "committed" },
        orderBy: { stepIndex: "asc" },
        select: { sessionId: true },
      });
      await tx.consolidatedSession.create({
        data: {
          consolidatedSessionId: cid,
          executionId: id,
          consolidatedContent: text,
          originalSessionIds: steps.map((s) => s.sessionId),
          avgScore: meta.avgScore ?? null,
          totalTools: meta.totalTools ?? null,
          successRate: meta.successRate ?? null,
          executionDurationMs: meta.executionDurationMs ?? null,
        },
      });
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
    const expected = options.expected === undefined ? undefined : [options.expected].flat();
    const error = options.error === undefined || options.error === null ? null : validate(ZText, options.error, "error");
    return this.#tx(`set the consolidation status of execution "${id}"`, async (tx) => {
      await this.#lockExecution(tx, id);
      const { count } = await tx.executionSession.updateMany({
        where: { executionId: id, ...(expected ? { consolidationStatus: { in: expected } } : {}) },
        data: { consolidationStatus: status, consolidationError: error, consolidationUpdatedAt: new Date() },
      });
      return count === 1;
    });
  }
}
