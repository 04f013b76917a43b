import { DatabaseError } from "../errors.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { ConsolidatedSessionHead } from "../reads/consolidated-row.js";
import type {
  ConsolidatedSessionLog,
  ConsolidationMetadata,
  ConsolidationStatus,
  CreateExecutionInput,
  ExecutionsPageKey,
  FinishExecutionInput,
  ListExecutionsInput,
  SessionLog,
  StepInput,
} from "../schemas.js";
import { ZTransactionOptions } from "../schemas.js";
import { validate } from "../validate.js";
import type { AbandonedEvaluation } from "./abandoned-evaluations.js";
import * as abandonedEvaluations from "./abandoned-evaluations.js";
import type { AbandonedExecution, AbandonedOptions } from "./abandoned-executions.js";
import * as abandoned from "./abandoned-executions.js";
import type { ConsolidateInput, Consolidation, ConsolidationStatusOptions, RecordedConsolidation } from "./consolidated.js";
import * as consolidated from "./consolidated.js";
import {
  callerErrors,
  contentionOnly,
  databaseTransaction,
  isWriterContext,
  type TransactionGuard,
  type TransactionLimits,
  type WriterContext,
  type WriterOptions,
  writerContext,
} from "./context.js";
import type {
  CreateEvaluationInput,
  EvaluationCursor,
  EvaluationExecutionRecord,
  EvaluationRunRecord,
  ExecutionChecks,
  FinishEvaluationInput,
  ListEvaluationsInput,
  RecordChecksInput,
  StoredCheckResult,
} from "./evaluations.js";
import * as evaluations from "./evaluations.js";
import type { OpenTransaction } from "./execution-transactions.js";
import * as transactions from "./execution-transactions.js";
import type { ExecutionSessionRecord } from "./executions.js";
import * as executions from "./executions.js";
import type { PurgeHooks, PurgeOptions, PurgeReport } from "./purge.js";
import * as purge from "./purge.js";
import type { StoredStep } from "./steps.js";
import * as steps from "./steps.js";

/**
 * The seed's DatabaseWriter: a thin facade over the writer's operations (executions, execution
 * transactions, steps, consolidated sessions), each a plain function of one context.
 *
 * Every write to an execution first locks its row, so writes to one execution are serialised while
 * different executions proceed in parallel on PostgreSQL. A step write is one statement (atomic on its
 * own, see insertStepsStatement); every other write of more than one row is one interactive
 * transaction. Every call is safe to repeat, and the writer repeats one itself a few times when it
 * failed for a reason a repeat can cure (contention, a lost connection, a timeout).
 */
export class DatabaseWriter {
  readonly #context: WriterContext;

  /**
   * A writer over a Prisma client of reev's schema. `openDatabase` gives you one as `db.writer`; a
   * writer with other options over the same database takes `prismaClientOf(db)` from `@reev/db/internal`.
   */
  constructor(client: PrismaClient, options?: WriterOptions);
  /** @internal a writer over a context of its own (bound to an interactive transaction, say). */
  constructor(context: WriterContext);
  constructor(source: PrismaClient | WriterContext, options: WriterOptions = {}) {
    this.#context = isWriterContext(source) ? source : writerContext(source, options);
  }

  /**
   * Runs `fn` with a writer whose every call joins one database transaction: all of it commits, or
   * none of it. The writer it is given is the same API as this one (Kysely's style); nested calls
   * join the outer transaction. Inside `fn`, use only that writer: on PGlite a query on the outer
   * client would wait for this very transaction to end.
   *
   * When PostgreSQL aborts the transaction for contention (a serialization failure, a deadlock),
   * nothing was committed and `fn` runs again, a bounded number of times: keep it free of effects
   * outside the database. Errors of `fn`'s own come back unchanged, after the rollback.
   */
  async withDatabaseTransaction<T>(fn: (writer: DatabaseWriter) => Promise<T>, options: TransactionLimits = {}): Promise<T> {
    if (typeof fn !== "function") throw new DatabaseError("VALIDATION", "Invalid input: fn must be a function", { field: "fn" });
    const limits = validate(ZTransactionOptions, options, "options");
    const caller = callerErrors();
    try {
      return await databaseTransaction(
        this.#context,
        "run a database transaction",
        (bound) => caller.call(() => fn(new DatabaseWriter(bound))),
        {
          ...limits,
          retry: contentionOnly,
        },
      );
    } catch (error) {
      throw caller.unwrap(error);
    }
  }

  // ── Executions ────────────────────────────────────────────────────────────────────────────────

  /** Creates a running execution; the same fields again return it, other fields are a CONFLICT. */
  createExecutionSession(input: CreateExecutionInput): Promise<ExecutionSessionRecord> {
    return executions.createExecutionSession(this.#context, input);
  }

  getExecutionSession(executionId: string): Promise<ExecutionSessionRecord | null> {
    return executions.getExecutionSession(this.#context, executionId);
  }

  /** Newest first. */
  listExecutionSessions(input: ListExecutionsInput = {}): Promise<ExecutionSessionRecord[]> {
    return executions.listExecutionSessions(this.#context, input);
  }

  /** A page of listExecutionSessions, with the key to pass as `after` for the next one (null on the last page). */
  listExecutionSessionsPage(
    input: ListExecutionsInput = {},
  ): Promise<{ executions: ExecutionSessionRecord[]; next: ExecutionsPageKey | null }> {
    return executions.listExecutionSessionsPage(this.#context, input);
  }

  /** Ends a running execution; refused while its transaction is open. */
  finishExecutionSession(executionId: string, input: FinishExecutionInput): Promise<ExecutionSessionRecord> {
    return executions.finishExecutionSession(this.#context, executionId, input);
  }

  /** The owner's sign of life while the execution runs (now, or `at` as recorded elsewhere); false once it has finished. */
  heartbeat(executionId: string, at?: Date): Promise<boolean> {
    return executions.heartbeat(this.#context, executionId, at);
  }

  /** Running executions whose owner is provably gone (see executionLiveness), oldest first. Reads only. */
  listAbandonedExecutions(options: AbandonedOptions = {}): Promise<AbandonedExecution[]> {
    return abandoned.listAbandonedExecutions(this.#context, options);
  }

  /**
   * Rolls back and finishes as `failed` one execution listAbandonedExecutions found, in one transaction,
   * if it is still abandoned (else undefined); so a caller can stop between two.
   */
  recoverAbandonedExecution(found: AbandonedExecution): Promise<AbandonedExecution | undefined> {
    return abandoned.recoverAbandonedExecution(this.#context, found);
  }

  /** Rolls back and finishes as `failed` every abandoned execution; returns what it finished. */
  recoverAbandonedExecutions(options: AbandonedOptions = {}): Promise<AbandonedExecution[]> {
    return abandoned.recoverAbandonedExecutions(this.#context, options);
  }

  /** Running evaluations whose owner is provably gone (same rule as executions). Reads only. */
  listAbandonedEvaluations(options: AbandonedOptions = {}): Promise<AbandonedEvaluation[]> {
    return abandonedEvaluations.listAbandonedEvaluations(this.#context, options);
  }

  /**
   * Finishes as `incomplete` every abandoned evaluation none of whose executions still runs (call
   * recoverAbandonedExecutions first); returns what it finished.
   */
  recoverAbandonedEvaluations(options: AbandonedOptions = {}): Promise<AbandonedEvaluation[]> {
    return abandonedEvaluations.recoverAbandonedEvaluations(this.#context, options);
  }

  /**
   * Retention: deletes the executions that finished more than `olderThanMs` ago (of `statuses`, of
   * `flowId`) with their steps, attempts, tool calls and consolidated sessions, in batches of
   * `batchSize`, each its own short transaction; `dryRun` counts the same rows and deletes nothing.
   * Never touches a running execution, an open execution transaction, a consolidation in progress
   * or an evaluation still running. Reports exactly how many rows of each table went.
   */
  purgeExecutions(options: PurgeOptions, hooks: PurgeHooks = {}): Promise<PurgeReport> {
    return purge.purgeExecutions(this.#context, options, hooks);
  }

  // ── Execution transactions (rows, not connections) ────────────────────────────────────────────

  /** Opens the execution's transaction and returns its id (or takes yours: `{ transactionId }`). */
  beginTransaction(executionId: string, options: { transactionId?: string } = {}): Promise<string> {
    return transactions.beginTransaction(this.#context, executionId, options);
  }

  /** Makes every step of the open transaction visible at once. */
  commitTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    return transactions.commitTransaction(this.#context, executionId, guard);
  }

  /** Deletes every step of the open transaction (and their tool calls). */
  rollbackTransaction(executionId: string, guard: TransactionGuard = {}): Promise<void> {
    return transactions.rollbackTransaction(this.#context, executionId, guard);
  }

  /** Transactions left open (by a crash, or a caller that never finished), oldest first. */
  listOpenTransactions(options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
    return transactions.listOpenTransactions(this.#context, options);
  }

  /** Rolls back every execution transaction opened more than `olderThanMs` ago; returns what it undid. */
  recoverOpenTransactions(options: { olderThanMs?: number } = {}): Promise<OpenTransaction[]> {
    return transactions.recoverOpenTransactions(this.#context, options);
  }

  // ── Steps ─────────────────────────────────────────────────────────────────────────────────────

  /** The seed's method: stores a step's content as given, with the fields parsed from it (JSON or reev's YAML). */
  async storeStepSession(executionId: string, stepIndex: number, sessionContent: string, guard: TransactionGuard = {}): Promise<void> {
    await steps.storeStepSession(this.#context, { executionId, stepIndex, sessionContent, guard });
  }

  /** Stores one structured step and its tool calls, in one statement. */
  storeStep(executionId: string, step: StepInput, guard: TransactionGuard = {}): Promise<StoredStep> {
    return steps.storeStep(this.#context, executionId, step, guard);
  }

  /** Bulk import: every step and its tool calls in one transaction, all or none. */
  storeSteps(
    executionId: string,
    stepInputs: readonly StepInput[],
    guard: TransactionGuard = {},
  ): Promise<{ stored: number; created: number }> {
    return steps.storeSteps(this.#context, executionId, stepInputs, guard);
  }

  /** Committed steps of an execution in numeric step order, with their tool calls. */
  getSessionsForConsolidation(executionId: string): Promise<SessionLog[]> {
    return steps.getSessionsForConsolidation(this.#context, executionId);
  }

  // ── Consolidated sessions ─────────────────────────────────────────────────────────────────────

  /** Lock → read committed steps → `build` → store → status, in one transaction, within `deadline`. */
  consolidate(input: ConsolidateInput): Promise<Consolidation> {
    return consolidated.consolidate(this.#context, input);
  }

  /**
   * The seed's method: stores a consolidated session built by the caller (see `consolidate` for the
   * whole). `recorded` keeps one made elsewhere as it was stored there (`reev import`).
   */
  storeConsolidatedSession(
    consolidatedId: string,
    executionId: string,
    content: string,
    metadata: ConsolidationMetadata,
    recorded?: RecordedConsolidation,
  ): Promise<{ created: boolean }> {
    return consolidated.storeConsolidatedSession(this.#context, {
      consolidatedId,
      executionId,
      content,
      metadata,
      ...(recorded === undefined ? {} : { recorded }),
    });
  }

  /** Its content. Give the `executionId` when you know it: the read is then by the primary key (one shard's work). */
  getConsolidatedSession(consolidatedId: string, executionId?: string): Promise<string | null> {
    return consolidated.getConsolidatedSession(this.#context, consolidatedId, executionId);
  }

  /** Newest first. */
  getConsolidatedSessionsByExecution(executionId: string): Promise<ConsolidatedSessionLog[]> {
    return consolidated.getConsolidatedSessionsByExecution(this.#context, executionId);
  }

  /** The newest consolidated session (getConsolidatedSessionsByExecution's first), or null. */
  getNewestConsolidatedSession(executionId: string, options?: { content?: true }): Promise<ConsolidatedSessionLog | null>;
  /** Without its document: what a view of its metrics needs, without reading up to 256 MiB. */
  getNewestConsolidatedSession(executionId: string, options: { content: false }): Promise<ConsolidatedSessionHead | null>;
  getNewestConsolidatedSession(executionId: string, options: { content?: boolean } = {}): Promise<ConsolidatedSessionHead | null> {
    return consolidated.getNewestConsolidatedSession(this.#context, executionId, options);
  }

  /** Moves the consolidation status; with `expected`, only from that status (compare-and-swap). */
  setConsolidationStatus(executionId: string, status: ConsolidationStatus, options: ConsolidationStatusOptions = {}): Promise<boolean> {
    return consolidated.setConsolidationStatus(this.#context, executionId, status, options);
  }

  // ── Evaluation runs and expect verdicts ───────────────────────────────────────────────────────

  /** Records a running evaluation under the caller's id. */
  createEvaluationRun(input: CreateEvaluationInput): Promise<EvaluationRunRecord> {
    return evaluations.createEvaluationRun(this.#context, input);
  }

  /** Ends a running evaluation with its summary: `completed`, `incomplete` (interrupted) or `failed`. */
  finishEvaluationRun(id: string, input: FinishEvaluationInput): Promise<EvaluationRunRecord> {
    return evaluations.finishEvaluationRun(this.#context, id, input);
  }

  /** The evaluation owner's sign of life; false once it has finished. */
  evaluationHeartbeat(id: string): Promise<boolean> {
    return evaluations.evaluationHeartbeat(this.#context, id);
  }

  getEvaluationRun(id: string): Promise<EvaluationRunRecord | null> {
    return evaluations.getEvaluationRun(this.#context, id);
  }

  /** Newest first, a page at a time (keyset on started_at, id). */
  listEvaluationRuns(input: ListEvaluationsInput = {}): Promise<{ items: EvaluationRunRecord[]; nextCursor: EvaluationCursor | null }> {
    return evaluations.listEvaluationRuns(this.#context, input);
  }

  /** An evaluation's executions with their committed steps and verdicts. */
  listEvaluationExecutions(evaluationId: string): Promise<EvaluationExecutionRecord[]> {
    return evaluations.listEvaluationExecutions(this.#context, evaluationId);
  }

  /** One execution with its committed steps and verdicts, as listEvaluationExecutions reads each. */
  getEvaluationExecution(executionId: string): Promise<EvaluationExecutionRecord | null> {
    return evaluations.getEvaluationExecution(this.#context, executionId);
  }

  /** Stores the `expect` verdicts of an execution's flow and stored steps, all or none. */
  recordChecks(executionId: string, input: RecordChecksInput): Promise<void> {
    return evaluations.recordChecks(this.#context, executionId, input);
  }

  getChecks(executionId: string): Promise<{ flow: StoredCheckResult | null; steps: Map<number, StoredCheckResult> }> {
    return evaluations.getChecks(this.#context, executionId);
  }

  /** The stored `expect` verdicts of several executions at once, each checked step's id with them. */
  getChecksOfExecutions(executionIds: readonly string[]): Promise<Map<string, ExecutionChecks>> {
    return evaluations.getChecksOfExecutions(this.#context, executionIds);
  }
}
