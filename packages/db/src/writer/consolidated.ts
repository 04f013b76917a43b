import { z } from "zod";
import { DatabaseError } from "../errors.js";
import type { Prisma } from "../generated/prisma/client.js";
import { prepared } from "../prepared-statement.js";
import { type ConsolidatedSessionHead, consolidatedHeadOf, consolidatedLogOf, storedTokens } from "../reads/consolidated-row.js";
import { EXECUTION_COLUMNS, type ExecutionRow, executionRecordOf } from "../reads/execution-row.js";
import {
  type ConsolidatedSessionLog,
  type ConsolidationMetadata,
  type ConsolidationStatus,
  INT32_MAX,
  ZConsolidationMetadata,
  ZConsolidationStatus,
  ZConsolidationStatusOptions,
  ZId,
  ZText,
  ZTimestamp,
} from "../schemas.js";
import { toStorableText } from "../storable-text.js";
import { validate } from "../validate.js";
import {
  type ConsolidatedDocumentFrame,
  type ConsolidatedRow,
  insertConsolidated,
  ZConsolidatedDocumentFrame,
} from "./consolidated-document.js";
import {
  type Client,
  callerErrors,
  checkBytes,
  checkSize,
  databaseTransaction,
  lockExecution,
  missingExecution,
  type WriterContext,
  withClient,
} from "./context.js";
import type { ExecutionSessionRecord } from "./executions.js";
import { consolidationInputs, type StepSummary, type StoredMetrics } from "./step-summaries.js";

/**
 * What a consolidation is built from: the execution and a summary of each committed step (no content,
 * no tool-call input or output), read under its lock.
 */
export type ConsolidationSource = { execution: ExecutionSessionRecord; steps: StepSummary[]; consolidatedAt: Date };
/**
 * Builds the consolidated document and its metric columns. Pure and synchronous: it runs inside the
 * consolidation's database transaction, holding the execution's lock, and may run again if the
 * transaction is retried. What it throws comes back to the caller of `consolidate` unchanged.
 *
 * `content` is the document itself, or reev's document as a frame the database fills with the
 * committed steps (see ConsolidatedDocumentFrame): the steps are then assembled and stored by one
 * statement, and a run of any size is never held in this process.
 */
export type ConsolidationBuilder = (source: ConsolidationSource) => {
  content: string | ConsolidatedDocumentFrame;
  metadata: ConsolidationMetadata;
};

const ZConsolidationContent = z.union([ZText, ZConsolidatedDocumentFrame]);

export type ConsolidateInput = {
  executionId: string;
  consolidatedSessionId: string;
  build: ConsolidationBuilder;
  /** Nothing is stored once it has passed: the transaction rolls back and the status becomes `timed_out`. */
  deadline: Date;
  /** The clock the deadline is read on, and `consolidatedAt` comes from (default: the system clock). */
  now?: () => Date;
};

export type Consolidation = {
  consolidatedSessionId: string;
  metadata: ConsolidationMetadata;
  /** False when the consolidation under this id was already stored (a retry): the metadata is what was stored then. */
  created: boolean;
};

const metadataOf = (row: StoredMetrics): ConsolidationMetadata => ({
  avgScore: row.avg_score,
  totalTools: row.total_tools,
  successRate: row.success_rate,
  executionDurationMs: row.execution_duration_ms,
  totalInputTokens: storedTokens(row.total_input_tokens),
  totalOutputTokens: storedTokens(row.total_output_tokens),
  costUsd: row.cost_usd,
});

/**
 * Stores the row (and, given `completedAt`, marks the consolidation completed); false when the id is
 * taken. A document over the cap is refused naming `content`, nothing stored.
 */
async function store(tx: Client, row: ConsolidatedRow, completedAt?: Date): Promise<boolean> {
  const stored = await insertConsolidated(tx, row, { completedAt });
  checkBytes(stored.bytes, "content", row.maxBytes);
  return stored.inserted;
}

/** Locks the execution row, as lockExecution does, and reads it whole: what the builder is given. */
async function lockExecutionRecord(tx: Client, executionId: string): Promise<ExecutionSessionRecord> {
  const [row] = await tx.$queryRaw<ExecutionRow[]>`${prepared("lock-execution-record")}
    SELECT ${EXECUTION_COLUMNS} FROM execution_sessions e WHERE e.execution_id = ${executionId} FOR UPDATE`;
  if (!row) throw missingExecution(executionId);
  return executionRecordOf(row);
}

async function committedStepIds(tx: Client, executionId: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ session_id: string }[]>`
    SELECT session_id FROM step_sessions WHERE execution_id = ${executionId} AND state = 'committed' ORDER BY step_index`;
  return rows.map((r) => r.session_id);
}

/**
 * A consolidated session recorded elsewhere (`reev import`), kept as it was stored there: its row
 * number (`id`, which orders one execution's sessions made in the same millisecond; it is not unique
 * across databases), its creation time and the step sessions it listed. Left out: the next row number,
 * now, and the execution's committed steps.
 */
export const ZRecordedConsolidation = z.strictObject({
  id: z.int("must be an integer").min(1, "must be 1 or more").max(INT32_MAX, "is too large").optional(),
  createdAt: ZTimestamp.optional(),
  originalSessionIds: z.array(ZId).optional(),
});
export type RecordedConsolidation = z.input<typeof ZRecordedConsolidation>;

/**
 * The seed's method: stores a consolidated session built by the caller. The parent execution must
 * exist; `originalSessionIds` are its committed steps, read under its lock in the same transaction.
 * The same session again (a retry whose reply was lost) is a no-op; other content under the id is a
 * CONFLICT. `consolidate` is the whole consolidation (lock, read, build, store, status) in one.
 */
export async function storeConsolidatedSession(
  context: WriterContext,
  session: {
    consolidatedId: string;
    executionId: string;
    content: string;
    metadata: ConsolidationMetadata;
    recorded?: RecordedConsolidation;
  },
): Promise<{ created: boolean }> {
  const cid = validate(ZId, session.consolidatedId, "consolidatedId");
  const id = validate(ZId, session.executionId, "executionId");
  const content = validate(ZText, session.content, "content");
  checkSize(content, "content", context.options.maxConsolidatedBytes);
  const metadata = validate(ZConsolidationMetadata, session.metadata ?? {}, "metadata");
  const recorded = validate(ZRecordedConsolidation, session.recorded ?? {}, "recorded");
  return databaseTransaction(context, `store consolidated session "${cid}"`, async ({ client: tx }) => {
    await lockExecution(tx, id);
    const originalSessionIds = recorded.originalSessionIds ?? (await committedStepIds(tx, id));
    const row = {
      executionId: id,
      consolidatedSessionId: cid,
      content,
      metadata,
      originalSessionIds,
      maxBytes: context.options.maxConsolidatedBytes,
      ...(recorded.createdAt === undefined ? {} : { createdAt: recorded.createdAt }),
      ...(recorded.id === undefined ? {} : { id: recorded.id }),
    };
    if (await store(tx, row)) return { created: true };
    const [same] = await tx.$queryRaw<unknown[]>`
      SELECT 1 FROM consolidated_sessions WHERE consolidated_session_id = ${cid} AND execution_id = ${id}
        AND consolidated_content = ${content} AND avg_score IS NOT DISTINCT FROM ${metadata.avgScore ?? null}::float8
        AND total_tools IS NOT DISTINCT FROM ${metadata.totalTools ?? null}::int AND success_rate IS NOT DISTINCT FROM ${metadata.successRate ?? null}::float8
        AND execution_duration_ms IS NOT DISTINCT FROM ${metadata.executionDurationMs ?? null}::int
        AND total_input_tokens IS NOT DISTINCT FROM ${metadata.totalInputTokens ?? null}::bigint
        AND total_output_tokens IS NOT DISTINCT FROM ${metadata.totalOutputTokens ?? null}::bigint
        AND cost_usd IS NOT DISTINCT FROM ${metadata.costUsd ?? null}::float8`;
    if (!same) {
      throw new DatabaseError("CONFLICT", `Consolidated session "${cid}" already exists with other content: consolidate under a new id`, {
        field: "consolidatedId",
      });
    }
    return { created: false };
  });
}

/**
 * The content of a consolidated session. With its `executionId` (whoever just consolidated knows it)
 * the read is by the primary key, one shard's work on a distributed database; by the id alone it
 * relies on the id being unique across executions, which only a single server enforces (see
 * docs/scaling.md for what answers it once distributed).
 */
export async function getConsolidatedSession(context: WriterContext, consolidatedId: string, executionId?: string): Promise<string | null> {
  const cid = validate(ZId, consolidatedId, "consolidatedId");
  const id = executionId === undefined ? undefined : validate(ZId, executionId, "executionId");
  const select = { consolidatedContent: true } as const;
  const row = await withClient(context, `read consolidated session "${cid}"`, (c) =>
    id === undefined
      ? c.consolidatedSession.findUnique({ where: { consolidatedSessionId: cid }, select })
      : c.consolidatedSession.findUnique({
          where: { executionId_consolidatedSessionId: { executionId: id, consolidatedSessionId: cid } },
          select,
        }),
  );
  return row?.consolidatedContent ?? null;
}

/** Newest first: created_at, then the row number (sessions made in the same millisecond). */
const NEWEST_FIRST: Prisma.ConsolidatedSessionOrderByWithRelationInput[] = [{ createdAt: "desc" }, { id: "desc" }];

/** Newest first. */
export async function getConsolidatedSessionsByExecution(context: WriterContext, executionId: string): Promise<ConsolidatedSessionLog[]> {
  const id = validate(ZId, executionId, "executionId");
  const rows = await withClient(context, `read consolidated sessions of execution "${id}"`, (c) =>
    c.consolidatedSession.findMany({ where: { executionId: id }, orderBy: NEWEST_FIRST }),
  );
  return rows.map(consolidatedLogOf);
}

/**
 * The newest consolidated session of an execution (as getConsolidatedSessionsByExecution orders
 * them), or null. With `content: false` its document is left unread: a view of its metrics need not
 * read up to 256 MiB, nor every older consolidation's.
 */
export async function getNewestConsolidatedSession(
  context: WriterContext,
  executionId: string,
  options: { content?: boolean } = {},
): Promise<ConsolidatedSessionLog | ConsolidatedSessionHead | null> {
  const id = validate(ZId, executionId, "executionId");
  const withContent = validate(z.strictObject({ content: z.boolean().default(true) }), options, "options").content;
  return withClient(context, `read the newest consolidated session of execution "${id}"`, async (c) => {
    if (withContent) {
      const row = await c.consolidatedSession.findFirst({ where: { executionId: id }, orderBy: NEWEST_FIRST });
      return row && consolidatedLogOf(row);
    }
    const row = await c.consolidatedSession.findFirst({
      where: { executionId: id },
      orderBy: NEWEST_FIRST,
      omit: { consolidatedContent: true },
    });
    return row && consolidatedHeadOf(row);
  });
}

type StatusChange = {
  executionId: string;
  status: ConsolidationStatus;
  /** Only from one of these statuses (compare-and-swap); any when left out. */
  expected?: readonly ConsolidationStatus[] | undefined;
  error?: string | null | undefined;
  /** When the status was taken; now when left out. */
  updatedAt?: Date | undefined;
};

/** One statement: atomic, and it takes the row lock itself. Returns whether the status moved. */
async function changeStatus(client: Client, change: StatusChange): Promise<boolean> {
  const { executionId, expected } = change;
  const [row] = await client.$queryRaw<{ moved: number; found: boolean }[]>`${prepared("consolidation-status")}
    WITH moved AS (
      UPDATE execution_sessions SET consolidation_status = ${change.status}::consolidation_status,
        consolidation_error = ${change.error ?? null}, consolidation_updated_at = ${change.updatedAt ?? new Date()}
      WHERE execution_id = ${executionId}
        AND (${expected === undefined}::boolean OR consolidation_status::text = ANY(${expected ?? []}::text[]))
      RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM moved) AS moved, EXISTS (SELECT 1 FROM execution_sessions WHERE execution_id = ${executionId}) AS found`;
  if (!row?.found) throw missingExecution(executionId);
  return row.moved === 1;
}

export type ConsolidationStatusOptions = {
  expected?: ConsolidationStatus | ConsolidationStatus[];
  error?: string | null;
  /** The time the status was taken, for one recorded elsewhere (`reev import`); left out, now. */
  updatedAt?: Date | string;
};

/**
 * Moves an execution's consolidation status. With `expected`, only from that status (a
 * compare-and-swap): a late writer cannot overwrite a newer outcome. Returns whether it moved.
 */
export async function setConsolidationStatus(
  context: WriterContext,
  executionId: string,
  status: ConsolidationStatus,
  options: ConsolidationStatusOptions = {},
): Promise<boolean> {
  const id = validate(ZId, executionId, "executionId");
  validate(ZConsolidationStatus, status, "status");
  const checked = validate(ZConsolidationStatusOptions, options, "options");
  const expected = checked.expected === undefined ? undefined : [checked.expected].flat();
  return changeStatusOf(context, { executionId: id, status, expected, error: checked.error, updatedAt: checked.updatedAt });
}

const transactionLimit = (ms: number) => Math.min(INT32_MAX, Math.max(1, ms));

const messageOf = (error: unknown) => toStorableText(error instanceof Error ? error.message : String(error));

/**
 * Consolidates an execution's committed steps into one stored session, and records the outcome as
 * its consolidation status:
 *
 * 1. `in_progress`, committed at once, so readers see a consolidation under way;
 * 2. one interactive transaction: lock the execution row (no step can commit from now on), answer a
 *    retry from the stored row's metric columns if `consolidatedSessionId` is already this
 *    execution's, else read the committed steps' summaries, `build` the document (or its frame, which
 *    the database fills with the steps as it stores it), store it with the ids of exactly those
 *    steps, and set `completed`;
 * 3. on any failure, `in_progress` → `failed` or `timed_out` (compare-and-swap: a newer
 *    consolidation's outcome is never overwritten), and the error is thrown.
 *
 * The deadline is checked before the work, before the insert and before the commit, and bounds the
 * transaction's own timeout: nothing is stored once it has passed (reev's spawned task wrote late).
 */
export async function consolidate(context: WriterContext, input: ConsolidateInput): Promise<Consolidation> {
  const executionId = validate(ZId, input.executionId, "executionId");
  const consolidatedSessionId = validate(ZId, input.consolidatedSessionId, "consolidatedSessionId");
  const deadline = validate(ZTimestamp, input.deadline, "deadline");
  if (typeof input.build !== "function")
    throw new DatabaseError("VALIDATION", "Invalid input: build must be a function", { field: "build" });
  const now = input.now ?? (() => new Date());
  const remainingMs = () => deadline.getTime() - now().getTime();
  const checkDeadline = () => {
    if (remainingMs() > 0) return;
    throw new DatabaseError(
      "TIMEOUT",
      `Consolidation of execution "${executionId}" timed out: nothing was stored by its deadline, ${deadline.toISOString()}`,
      {
        // The same deadline again cannot be met: a retry needs a new one.
        retryable: false,
      },
    );
  };
  const builder = callerErrors();
  try {
    await changeStatusOf(context, { executionId, status: "in_progress" });
    checkDeadline();
    return await databaseTransaction(
      context,
      `consolidate execution "${executionId}"`,
      async ({ client: tx }) => {
        checkDeadline();
        // The lock first, on its own: a statement's snapshot predates the lock it waits for, and what
        // is read next must include every step committed before it was granted.
        const execution = await lockExecutionRecord(tx, executionId);
        // This execution's own rows only (one shard's work): an id another execution holds is found by the insert.
        const { stored, steps } = await consolidationInputs(tx, executionId, consolidatedSessionId);
        if (stored) {
          await changeStatus(tx, { executionId, status: "completed" });
          return { consolidatedSessionId, metadata: metadataOf(stored), created: false };
        }
        const built = builder.call(() => input.build({ execution, steps, consolidatedAt: now() }));
        const content = validate(ZConsolidationContent, built?.content, "content");
        // A document given whole is measured here, before it is sent; an assembled one by the database (store).
        if (typeof content === "string") checkSize(content, "content", context.options.maxConsolidatedBytes);
        const metadata = validate(ZConsolidationMetadata, built?.metadata, "metadata");
        checkDeadline();
        // Under the execution's lock no step commits, so these are exactly the steps the document holds.
        const originalSessionIds = steps.map((s) => s.sessionId);
        const row = {
          executionId,
          consolidatedSessionId,
          content,
          metadata,
          originalSessionIds,
          maxBytes: context.options.maxConsolidatedBytes,
        };
        // Under the execution's lock nobody else stores for it, so a taken id is another execution's.
        if (!(await store(tx, row, new Date()))) {
          throw new DatabaseError(
            "CONFLICT",
            `Consolidated session "${consolidatedSessionId}" already exists for another execution: consolidate under a new id`,
            { field: "consolidatedSessionId" },
          );
        }
        checkDeadline();
        return { consolidatedSessionId, metadata, created: true };
      },
      // The transaction may take what is left of the time, and no timer can wait longer than a 32-bit delay.
      {
        timeout: transactionLimit(remainingMs()),
        maxWait: transactionLimit(remainingMs()),
        retry: (error) => error.retryable && remainingMs() > 0,
      },
    );
  } catch (thrown) {
    const error = builder.unwrap(thrown);
    const status = DatabaseError.is(error, "TIMEOUT") ? "timed_out" : "failed";
    // If even this fails, the database is gone; the caller hears the consolidation's own error, which matters more.
    await changeStatusOf(context, { executionId, status, expected: ["in_progress"], error: messageOf(error) }).catch(() => {});
    throw error;
  }
}

function changeStatusOf(context: WriterContext, change: StatusChange): Promise<boolean> {
  return withClient(context, `set the consolidation status of execution "${change.executionId}"`, (c) => changeStatus(c, change));
}
