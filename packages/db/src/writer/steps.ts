import type { z } from "zod";
import { DatabaseError } from "../errors.js";
import type { Prisma } from "../generated/prisma/client.js";
import { type InsertStepsOutcome, insertStepsStatement, type PriorStep } from "../insert-steps-statement.js";
import { type SessionLog, type StepInput, type StepStatus, ZId, ZStepFields, ZStepIndex, ZText, ZTransactionGuard } from "../schemas.js";
import { parseStepContent } from "../step-content.js";
import { parseStepInput, type StepRow, type StepTimes, toStepRow } from "../step-rows.js";
import { validate } from "../validate.js";
import {
  type Client,
  checkGuard,
  checkSize,
  databaseTransaction,
  type ExecutionState,
  lockExecution,
  missingExecution,
  requireRunning,
  type TransactionGuard,
  type WriterContext,
  withClient,
} from "./context.js";

export type StoredStep = {
  sessionId: string;
  /** `pending` while the execution's transaction is open; `committed` once visible. */
  state: "pending" | "committed";
  /** False when the same content was already stored (a retried write). */
  created: boolean;
};

/**
 * The seed's method: stores a step's session content exactly as given, with the structured fields
 * parsed from it (JSON, or YAML as reev wrote it; neither → stored with the fields empty).
 */
export async function storeStepSession(
  context: WriterContext,
  step: { executionId: string; stepIndex: number; sessionContent: string; guard?: TransactionGuard },
): Promise<void> {
  const guard = validate(ZTransactionGuard, step.guard ?? {}, "guard");
  const stepIndex = validate(ZStepIndex, step.stepIndex, "stepIndex");
  const content = validate(ZText, step.sessionContent, "sessionContent");
  checkSize(content, "sessionContent", context.options.maxContentBytes);
  const data = validate(ZStepFields, parseStepContent(content) ?? {}, "sessionContent");
  const executionId = validate(ZId, step.executionId, "executionId");
  await storeValidatedStep(context, { executionId, stepIndex, data, content, guard });
}

/**
 * Stores one step and its tool calls in one statement (insertStepsStatement). Retry-safe: the same
 * step again is a no-op; a different one (content, fields or tool calls) for a committed step is a
 * CONFLICT, never a silent overwrite. A step still pending in the open transaction may be replaced —
 * nobody has seen it yet.
 */
export async function storeStep(
  context: WriterContext,
  executionId: string,
  step: StepInput,
  guard: TransactionGuard = {},
): Promise<StoredStep> {
  const checkedGuard = validate(ZTransactionGuard, guard, "guard");
  const id = validate(ZId, executionId, "executionId");
  const { stepIndex, data, content, times } = parseStepInput(step, "");
  checkSize(content, "content", context.options.maxContentBytes);
  return storeValidatedStep(context, { executionId: id, stepIndex, data, content, guard: checkedGuard, times });
}

type ValidatedStep = {
  executionId: string;
  stepIndex: number;
  data: z.output<typeof ZStepFields>;
  content: string;
  guard: TransactionGuard;
  times?: StepTimes;
};

async function storeValidatedStep(context: WriterContext, step: ValidatedStep): Promise<StoredStep> {
  const { executionId, stepIndex, guard } = step;
  const row = toStepRow(executionId, stepIndex, step.data, step.content, step.times);
  const field = () => "stepIndex";
  // One statement, no interactive transaction: see insertStepsStatement.
  let written = await withClient(context, `store step ${stepIndex} of execution "${executionId}"`, (client) =>
    insertSteps(client, { executionId, rows: [row], guard, field }),
  );
  if (written.replace.length) {
    const replace = written.replace;
    written = await databaseTransaction(context, `replace pending step ${stepIndex} of execution "${executionId}"`, ({ client }) =>
      replaceSteps(client, { executionId, rows: replace, guard, field }),
    );
  }
  const created = written.inserted.has(stepIndex);
  return { sessionId: row.sessionId, state: created ? written.state : written.prior.get(stepIndex)!.state, created };
}

/** Bulk writes go in statements of bounded size: each is one JSON parameter the server parses whole. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const CHUNK_ROWS = 2_000;
function* chunksOf<T extends { content: string }>(steps: readonly T[]): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const step of steps) {
    if (chunk.length && (chunk.length >= CHUNK_ROWS || bytes + step.content.length > CHUNK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(step);
    bytes += step.content.length;
  }
  if (chunk.length) yield chunk;
}

type ParsedStep = ReturnType<typeof parseStepInput>;

/** A chunk's rows and the statement that writes them. */
type PreparedChunk = { rows: StepRow[]; statement: Prisma.Sql };

/**
 * Runs `work` while `inFlight` (a query) is being answered, and returns its result. It yields once
 * first, so that the query is on the wire before this process turns to other work. A failure of
 * `inFlight` is left for its own await.
 */
async function whileInFlight<T>(inFlight: Promise<unknown>, work: () => T): Promise<T> {
  inFlight.catch(() => {});
  await new Promise((resolve) => setImmediate(resolve));
  try {
    return work();
  } catch (error) {
    // Never leave the transaction with a query still running on it.
    await inFlight.catch(() => {});
    throw error;
  }
}

/**
 * Bulk import (an exported run, say): stores every step and its tool calls in one transaction —
 * all of them, or none. Per step the rules of `storeStep` hold: the same step again is a no-op, a
 * different one for a committed index is a CONFLICT naming it. Returns how many were given and how
 * many were new.
 *
 * Every step is validated before the transaction begins. Its row (fingerprint, sorted JSON) and the
 * statement's parameters are built a chunk at a time, the next one while the server writes the
 * current one: on PostgreSQL building and writing would otherwise take turns, and building takes
 * about a third of an import's time.
 */
export async function storeSteps(
  context: WriterContext,
  executionId: string,
  steps: readonly StepInput[],
  guard: TransactionGuard = {},
): Promise<{ stored: number; created: number }> {
  const checkedGuard = validate(ZTransactionGuard, guard, "guard");
  const id = validate(ZId, executionId, "executionId");
  if (!Array.isArray(steps)) throw new DatabaseError("VALIDATION", "Invalid input: steps must be an array of steps", { field: "steps" });
  const parsed: ParsedStep[] = [];
  const seen = new Map<number, number>();
  steps.forEach((step, i) => {
    const input = parseStepInput(step, `steps[${i}]`);
    const twin = seen.get(input.stepIndex);
    if (twin !== undefined) {
      throw new DatabaseError("VALIDATION", `Invalid input: steps[${i}].stepIndex ${input.stepIndex} repeats steps[${twin}]`, {
        field: `steps[${i}].stepIndex`,
      });
    }
    seen.set(input.stepIndex, i);
    checkSize(input.content, `steps[${i}].content`, context.options.maxContentBytes);
    parsed.push(input);
  });
  const chunks = [...chunksOf(parsed)];
  const prepare = (chunk: readonly ParsedStep[]): PreparedChunk => {
    const rows = chunk.map((p) => toStepRow(id, p.stepIndex, p.data, p.content, p.times));
    return { rows, statement: insertStepsStatement(id, rows, checkedGuard) };
  };
  const field = (row: StepRow) => `steps[${seen.get(row.stepIndex)}].stepIndex`;
  const created = await databaseTransaction(context, `store ${parsed.length} steps of execution "${id}"`, async ({ client: tx }) => {
    const [first] = chunks;
    if (!first) {
      // Nothing to write, but the same answers as any import: the execution exists, the guard holds.
      checkGuard(await lockExecution(tx, id), checkedGuard);
      return 0;
    }
    let count = 0;
    const replace: StepRow[] = [];
    let next: PreparedChunk | undefined = prepare(first);
    for (let i = 0; next; i++) {
      const { rows, statement }: PreparedChunk = next;
      const writing = insertSteps(tx, { executionId: id, rows, guard: checkedGuard, field }, statement);
      const following = chunks[i + 1];
      next = following ? await whileInFlight(writing, () => prepare(following)) : undefined;
      const written = await writing;
      count += written.inserted.size;
      replace.push(...written.replace);
    }
    if (replace.length) count += (await replaceSteps(tx, { executionId: id, rows: replace, guard: checkedGuard, field })).inserted.size;
    return count;
  });
  return { stored: parsed.length, created };
}

type StepsWrite = {
  executionId: string;
  rows: readonly StepRow[];
  guard: TransactionGuard;
  /** The input field a row came from, for errors about it. */
  field: (row: StepRow) => string;
};

/** How often insertStepsStatement is run again for steps a concurrent writer committed meanwhile. */
const STATEMENT_ATTEMPTS = 3;

/**
 * Runs insertStepsStatement until every row is inserted or found stored, then sorts the stored
 * ones: the same fingerprint is a retry (no-op); a different one is a CONFLICT unless the step is
 * still pending in the open transaction, which may be replaced (nobody has seen it yet).
 * `firstStatement`, when given, is insertStepsStatement of exactly these rows, built ahead.
 */
async function insertSteps(client: Client, write: StepsWrite, firstStatement?: Prisma.Sql) {
  const { executionId: id, rows, guard, field } = write;
  const inserted = new Set<number>();
  const prior = new Map<number, PriorStep>();
  let execution: ExecutionState | undefined;
  let todo = rows;
  // A step that a concurrent writer committed during the statement is in neither list (see the
  // statement); the next try, with a fresh snapshot, sees it.
  for (let attempt = 0; todo.length && attempt < STATEMENT_ATTEMPTS; attempt++) {
    const statement = attempt === 0 && firstStatement ? firstStatement : insertStepsStatement(id, todo, guard);
    const [outcome] = await client.$queryRaw<InsertStepsOutcome[]>(statement);
    if (!outcome?.execution_id) throw missingExecution(id);
    execution = { execution_id: id, open_transaction_id: outcome.open_transaction_id, status: outcome.status };
    checkGuard(execution, guard);
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
    requireRunning(execution!);
    if (!stored) {
      // Retryable: the writers that kept committing will be done, and the next call judges what they stored.
      throw new DatabaseError(
        "CONTENTION",
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
async function replaceSteps(tx: Client, write: StepsWrite) {
  const { executionId: id, rows, guard, field } = write;
  const locked = await lockExecution(tx, id);
  checkGuard(locked, guard);
  await tx.stepSession.deleteMany({
    where: {
      executionId: id,
      stepIndex: { in: rows.map((r) => r.stepIndex) },
      state: "pending",
      transactionId: locked.open_transaction_id,
    },
  });
  const written = await insertSteps(tx, write);
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

type CommittedStepRow = {
  session_id: string;
  step_index: number;
  content: string;
  visible_at: Date;
  created_at: Date;
  status: StepStatus | null;
  step_id: string | null;
  score: number | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  error: string | null;
  error_kind: SessionLog["errorKind"];
  tool_calls: SessionLog["toolCalls"];
  attempts: (Omit<SessionLog["attempts"][number], "startedAt" | "finishedAt"> & { startedAt: string | null; finishedAt: string | null })[];
};

/**
 * The committed steps of an execution in numeric step order, with their tool calls. One query, tool
 * calls aggregated per step by the server: for 10,000 steps this reads half as fast again as
 * Prisma's findMany + include (two queries, 60,000 rows mapped one by one).
 */
export async function committedSteps(client: Client, executionId: string): Promise<SessionLog[]> {
  const rows = await client.$queryRaw<CommittedStepRow[]>`
    SELECT s.session_id, s.step_index, s.content, COALESCE(s.committed_at, s.created_at) AS visible_at, s.created_at,
      s.status::text AS status,
      s.step_id, s.score, s.started_at, s.finished_at, s.duration_ms, s.error, s.error_kind::text AS error_kind,
      COALESCE((SELECT json_agg(json_build_object('callIndex', t.call_index, 'attempt', t.attempt, 'toolName', t.tool_name,
        'input', t.input, 'output', t.output, 'success', t.success, 'durationMs', t.duration_ms, 'error', t.error) ORDER BY t.call_index)
        FROM tool_calls t WHERE t.execution_id = ${executionId} AND t.step_index = s.step_index), '[]'::json) AS tool_calls,
      COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'status', a.status, 'error', a.error, 'errorKind', a.error_kind,
        'startedAt', a.started_at, 'finishedAt', a.finished_at, 'durationMs', a.duration_ms, 'model', a.model,
        'inputTokens', a.input_tokens, 'outputTokens', a.output_tokens, 'cachedInputTokens', a.cached_input_tokens) ORDER BY a.attempt)
        FROM step_attempts a WHERE a.execution_id = ${executionId} AND a.step_index = s.step_index), '[]'::json) AS attempts
    FROM step_sessions s WHERE s.execution_id = ${executionId} AND s.state = 'committed' ORDER BY s.step_index`;
  return rows.map((r) => ({
    sessionId: r.session_id,
    executionId,
    stepIndex: r.step_index,
    content: r.content,
    timestamp: r.visible_at,
    createdAt: r.created_at,
    status: r.status ?? "unknown",
    stepId: r.step_id,
    success: r.status === null ? null : r.status === "success",
    score: r.score,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    error: r.error,
    errorKind: r.error_kind,
    toolCalls: r.tool_calls,
    attempts: r.attempts.map((a) => ({ ...a, startedAt: dateOrNull(a.startedAt), finishedAt: dateOrNull(a.finishedAt) })),
  }));
}

/** json_build_object writes a timestamptz as ISO 8601 text (with the server's offset). */
export function dateOrNull(text: string | null): Date | null {
  return text === null ? null : new Date(text);
}

/** The seed's read: committed steps of an execution in numeric step order, with their tool calls. */
export async function getSessionsForConsolidation(context: WriterContext, executionId: string): Promise<SessionLog[]> {
  const id = validate(ZId, executionId, "executionId");
  return withClient(context, `read the steps of execution "${id}"`, (client) => committedSteps(client, id));
}
