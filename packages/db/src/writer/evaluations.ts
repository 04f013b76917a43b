import { z } from "zod";
import { DatabaseError } from "../errors.js";
import { Prisma } from "../generated/prisma/client.js";
import { currentProcessOwner, type RecordedOwner, recordedOwner } from "../process-owner.js";
import { type JsonValue, ZId, ZJsonValue, ZStepIndex, ZText, ZTimestamp } from "../schemas.js";
import { validate } from "../validate.js";
import { databaseTransaction, lockExecution, type WriterContext, withClient } from "./context.js";

export const EVALUATION_STATUSES = ["running", "completed", "incomplete", "failed"] as const;
export type EvaluationStatus = (typeof EVALUATION_STATUSES)[number];
/** How an evaluation can end: `incomplete` when it was interrupted before every run was counted. */
export const ZFinalEvaluationStatus = z.enum(["completed", "incomplete", "failed"]);

export const ZCreateEvaluationInput = z.strictObject({
  id: ZId,
  name: ZId.nullable().optional(),
  agent: ZId,
  model: ZId.nullable().optional(),
  configuration: ZJsonValue,
  startedAt: ZTimestamp.optional(),
});
export type CreateEvaluationInput = z.input<typeof ZCreateEvaluationInput>;

export const ZFinishEvaluationInput = z.strictObject({
  status: ZFinalEvaluationStatus,
  summary: ZJsonValue,
  finishedAt: ZTimestamp.optional(),
});
export type FinishEvaluationInput = z.input<typeof ZFinishEvaluationInput>;

/** Keyset pagination, newest first: pass the last page's `nextCursor` to read the next one. */
export const ZListEvaluationsInput = z.strictObject({
  limit: z.int("must be a whole number").min(1, "must be 1 or more").max(1000, "must be at most 1000").default(50),
  cursor: z.strictObject({ startedAt: ZTimestamp, id: ZId }).nullable().optional(),
});
export type ListEvaluationsInput = z.input<typeof ZListEvaluationsInput>;
export type EvaluationCursor = { startedAt: Date; id: string };

/** An `expect` verdict as stored: one entry per check, a reason for each that failed. */
export const ZStoredCheckResult = z.strictObject({
  passed: z.boolean(),
  checks: z.array(z.strictObject({ check: ZId, passed: z.boolean(), reason: ZText.nullable() })),
});
export type StoredCheckResult = z.infer<typeof ZStoredCheckResult>;

export const ZRecordChecksInput = z.strictObject({
  /** The flow's own `expect` verdict; null when the flow has none. */
  flow: ZStoredCheckResult.nullable(),
  steps: z.array(z.strictObject({ stepIndex: ZStepIndex, result: ZStoredCheckResult })),
});
export type RecordChecksInput = z.input<typeof ZRecordChecksInput>;

export type EvaluationRunRecord = {
  id: string;
  name: string | null;
  agent: string;
  model: string | null;
  status: EvaluationStatus;
  startedAt: Date;
  finishedAt: Date | null;
  configuration: JsonValue;
  summary: JsonValue | null;
  /** The process that runs (or ran) it; null when recorded before owners were. */
  owner: RecordedOwner | null;
  /** The owner's last sign of life (see `evaluationHeartbeat`); null when recorded before heartbeats were. */
  heartbeatAt: Date | null;
  /** Why it ended unfinished, when recovery finished it; null otherwise. */
  error: string | null;
};

/** One stored step of an evaluation's execution, as a report needs it (no content, no tool calls). */
export type EvaluationStepRecord = {
  stepIndex: number;
  stepId: string | null;
  status: string | null;
  score: number | null;
  durationMs: number | null;
  error: string | null;
  checks: StoredCheckResult | null;
  /** What each recorded attempt consumed, in attempt order; empty when the step recorded no attempts. */
  usage: AttemptUsage[];
};

/** One attempt's usage as the provider reported it; a count it did not give is null. */
export type AttemptUsage = {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
};

export type EvaluationExecutionRecord = {
  executionId: string;
  flowId: string;
  status: string;
  startedAt: Date;
  /** Its process and last sign of life, so a running one can be marked as the lists mark it (runMark). */
  owner: RecordedOwner | null;
  heartbeatAt: Date | null;
  durationMs: number | null;
  error: string | null;
  checks: StoredCheckResult | null;
  /** Committed steps, in step order. */
  steps: EvaluationStepRecord[];
};

export function toEvaluationRecord(row: Prisma.EvaluationRunModel): EvaluationRunRecord {
  return {
    id: row.id,
    name: row.name,
    agent: row.agent,
    model: row.model,
    status: row.status,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    configuration: row.configuration as JsonValue,
    summary: (row.summary ?? null) as JsonValue | null,
    owner: recordedOwner(row),
    heartbeatAt: row.heartbeatAt,
    error: row.error,
  };
}

/** Records a running evaluation. Its id is the caller's; an id already taken is a CONFLICT naming `id`. */
export async function createEvaluationRun(context: WriterContext, input: CreateEvaluationInput): Promise<EvaluationRunRecord> {
  const data = validate(ZCreateEvaluationInput, input, "");
  const action = `create evaluation "${data.id}"`;
  const owner = currentProcessOwner();
  // Raw like createExecutionSession: ON CONFLICT keeps a taken id from aborting an enclosing transaction.
  const inserted = await withClient(
    context,
    action,
    (c) => c.$executeRaw`
      INSERT INTO evaluation_runs (id, name, agent, model, configuration, started_at, owner_host, owner_pid, owner_started_at, heartbeat_at)
      VALUES (${data.id}, ${data.name ?? null}, ${data.agent}, ${data.model ?? null}, ${JSON.stringify(data.configuration)}::jsonb,
        COALESCE(${data.startedAt ?? null}::timestamptz, now()), ${owner.host}, ${owner.pid}::int, ${owner.startedAt}::timestamptz, now())
      ON CONFLICT (id) DO NOTHING`,
  );
  if (!inserted) throw new DatabaseError("CONFLICT", `Failed to ${action}: the id is taken (use a new evaluation id)`, { field: "id" });
  return toEvaluationRecord(await withClient(context, action, (c) => c.evaluationRun.findUniqueOrThrow({ where: { id: data.id } })));
}

/**
 * Ends a running evaluation with its summary, in one transaction under the row's lock. The same finish
 * again (a retry whose reply was lost) returns the record; any other change to a finished one is refused.
 */
export async function finishEvaluationRun(context: WriterContext, id: string, input: FinishEvaluationInput): Promise<EvaluationRunRecord> {
  const evaluationId = validate(ZId, id, "id");
  const data = validate(ZFinishEvaluationInput, input, "");
  const row = await databaseTransaction(context, `finish evaluation "${evaluationId}"`, async ({ client: tx }) => {
    const locked = await tx.$queryRaw<{ status: EvaluationStatus }[]>`
      SELECT status::text AS status FROM evaluation_runs WHERE id = ${evaluationId} FOR UPDATE`;
    const status = locked[0]?.status;
    if (status === undefined) throw missingEvaluation(evaluationId);
    if (status !== "running") {
      const finished = await tx.evaluationRun.findUniqueOrThrow({ where: { id: evaluationId } });
      if (finished.status === data.status && JSON.stringify(finished.summary) === JSON.stringify(data.summary)) return finished;
      throw new DatabaseError("TRANSACTION_STATE", `Evaluation "${evaluationId}" already finished as ${status}: its record is final`, {
        field: "id",
      });
    }
    return tx.evaluationRun.update({
      where: { id: evaluationId },
      data: { status: data.status, summary: data.summary as Prisma.InputJsonValue, finishedAt: data.finishedAt ?? new Date() },
    });
  });
  return toEvaluationRecord(row);
}

/**
 * The evaluation owner's sign of life: moves `heartbeat_at` to now while it runs. Returns false once
 * it has finished (a late beat changes nothing). One statement, like an execution's heartbeat.
 */
export async function evaluationHeartbeat(context: WriterContext, id: string): Promise<boolean> {
  const evaluationId = validate(ZId, id, "id");
  const updated = await withClient(
    context,
    `refresh the heartbeat of evaluation "${evaluationId}"`,
    (c) => c.$executeRaw`UPDATE evaluation_runs SET heartbeat_at = now() WHERE id = ${evaluationId} AND status = 'running'`,
  );
  return updated > 0;
}

export async function getEvaluationRun(context: WriterContext, id: string): Promise<EvaluationRunRecord | null> {
  const evaluationId = validate(ZId, id, "id");
  const row = await withClient(context, `read evaluation "${evaluationId}"`, (c) =>
    c.evaluationRun.findUnique({ where: { id: evaluationId } }),
  );
  return row ? toEvaluationRecord(row) : null;
}

/** Newest first by (started_at, id); `nextCursor` is null on the last page. */
export async function listEvaluationRuns(
  context: WriterContext,
  input: ListEvaluationsInput = {},
): Promise<{ items: EvaluationRunRecord[]; nextCursor: EvaluationCursor | null }> {
  const q = validate(ZListEvaluationsInput, input, "");
  const cursor = q.cursor ?? null;
  const rows = await withClient(context, "list evaluations", (c) =>
    c.evaluationRun.findMany({
      where: cursor ? { OR: [{ startedAt: { lt: cursor.startedAt } }, { startedAt: cursor.startedAt, id: { lt: cursor.id } }] } : {},
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
      take: q.limit + 1,
    }),
  );
  const items = rows.slice(0, q.limit).map(toEvaluationRecord);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > q.limit && last ? { startedAt: last.startedAt, id: last.id } : null };
}

/**
 * Stores the `expect` verdicts of one execution — the flow's and each step's — in one transaction
 * under the execution's lock. Every step named must be stored already (NOT_FOUND naming
 * `steps[i].stepIndex` otherwise, nothing written): a verdict is judged from a stored step, never
 * from one that is not there. Storing the same verdicts again is harmless.
 */
export async function recordChecks(context: WriterContext, executionId: string, input: RecordChecksInput): Promise<void> {
  const id = validate(ZId, executionId, "executionId");
  const data = validate(ZRecordChecksInput, input, "");
  await databaseTransaction(context, `record the checks of execution "${id}"`, async ({ client: tx }) => {
    await lockExecution(tx, id);
    for (const [index, step] of data.steps.entries()) {
      const updated = await tx.stepSession.updateMany({
        where: { executionId: id, stepIndex: step.stepIndex },
        data: { checks: step.result as Prisma.InputJsonValue },
      });
      if (updated.count === 0) {
        throw new DatabaseError("NOT_FOUND", `Execution "${id}" has no stored step ${step.stepIndex}: store the step before its checks`, {
          field: `steps[${index}].stepIndex`,
        });
      }
    }
    await tx.executionSession.update({
      where: { executionId: id },
      data: { checks: data.flow === null ? Prisma.DbNull : (data.flow as Prisma.InputJsonValue) },
    });
  });
}

type EvaluationExecutionRow = {
  execution_id: string;
  flow_id: string;
  status: string;
  started_at: Date;
  owner_host: string | null;
  owner_pid: number | null;
  owner_started_at: Date | null;
  heartbeat_at: Date | null;
  duration_ms: number | null;
  error: string | null;
  checks: StoredCheckResult | null;
  steps: EvaluationStepRecord[];
};

/**
 * Executions matching `where`, oldest first, each with its owner and heartbeat, its committed steps,
 * their verdicts and their attempts' usage: one query.
 */
async function readExecutions(context: WriterContext, action: string, where: Prisma.Sql): Promise<EvaluationExecutionRecord[]> {
  const rows = await withClient(
    context,
    action,
    (c) => c.$queryRaw<EvaluationExecutionRow[]>`
      SELECT e.execution_id, e.flow_id, e.status::text AS status, e.started_at, e.owner_host, e.owner_pid, e.owner_started_at,
        e.heartbeat_at, e.duration_ms, e.error, e.checks,
        COALESCE((SELECT json_agg(json_build_object('stepIndex', s.step_index, 'stepId', s.step_id, 'status', s.status,
          'score', s.score, 'durationMs', s.duration_ms, 'error', s.error, 'checks', s.checks,
          'usage', COALESCE((SELECT json_agg(json_build_object('model', a.model, 'inputTokens', a.input_tokens,
            'outputTokens', a.output_tokens, 'cachedInputTokens', a.cached_input_tokens) ORDER BY a.attempt)
            FROM step_attempts a WHERE a.execution_id = s.execution_id AND a.step_index = s.step_index), '[]'::json)) ORDER BY s.step_index)
          FROM step_sessions s WHERE s.execution_id = e.execution_id AND s.state = 'committed'), '[]'::json) AS steps
      FROM execution_sessions e WHERE ${where} ORDER BY e.started_at, e.execution_id`,
  );
  return rows.map((r) => ({
    executionId: r.execution_id,
    flowId: r.flow_id,
    status: r.status,
    startedAt: r.started_at,
    owner: recordedOwner({ ownerHost: r.owner_host, ownerPid: r.owner_pid, ownerStartedAt: r.owner_started_at }),
    heartbeatAt: r.heartbeat_at,
    durationMs: r.duration_ms,
    error: r.error,
    checks: r.checks,
    steps: r.steps.map((s) => ({ ...s, checks: s.checks ?? null })),
  }));
}

/** An evaluation's executions, oldest first, each with its committed steps and their verdicts. */
export function listEvaluationExecutions(context: WriterContext, evaluationId: string): Promise<EvaluationExecutionRecord[]> {
  const id = validate(ZId, evaluationId, "evaluationId");
  return readExecutions(context, `read the executions of evaluation "${id}"`, Prisma.sql`e.evaluation_id = ${id}`);
}

/** One execution read the way an evaluation's are (for comparing two single runs); null when there is none. */
export async function getEvaluationExecution(context: WriterContext, executionId: string): Promise<EvaluationExecutionRecord | null> {
  const id = validate(ZId, executionId, "executionId");
  const [row] = await readExecutions(context, `read execution "${id}"`, Prisma.sql`e.execution_id = ${id}`);
  return row ?? null;
}

/** The stored `expect` verdicts of one execution (for `reev show` and the diagram's notes). */
export async function getChecks(
  context: WriterContext,
  executionId: string,
): Promise<{ flow: StoredCheckResult | null; steps: Map<number, StoredCheckResult> }> {
  const id = validate(ZId, executionId, "executionId");
  const { flow = null, steps = new Map() } = (await checksOf(context, [id], `read the checks of execution "${id}"`)).get(id) ?? {};
  return { flow, steps };
}

/** An execution's stored `expect` verdicts, and the id of each step that has one (to name its checks). */
export type ExecutionChecks = {
  flow: StoredCheckResult | null;
  steps: Map<number, StoredCheckResult>;
  stepIds: Map<number, string | null>;
};

/**
 * The stored `expect` verdicts of several executions in two reads, not two per execution (`reev list`
 * judges a page of up to 1000 runs by them). An execution that is not stored is absent from the map.
 */
export function getChecksOfExecutions(context: WriterContext, executionIds: readonly string[]): Promise<Map<string, ExecutionChecks>> {
  const ids = executionIds.map((id) => validate(ZId, id, "executionId"));
  return checksOf(context, ids, `read the checks of ${ids.length} executions`);
}

async function checksOf(context: WriterContext, ids: readonly string[], what: string): Promise<Map<string, ExecutionChecks>> {
  if (!ids.length) return new Map();
  return withClient(context, what, async (c) => {
    const executions = await c.executionSession.findMany({
      where: { executionId: { in: [...ids] } },
      select: { executionId: true, checks: true },
    });
    // Only the steps that have a verdict: a run of 50,000 steps has a handful.
    const steps = await c.stepSession.findMany({
      where: { executionId: { in: [...ids] }, checks: { not: Prisma.DbNull } },
      select: { executionId: true, stepIndex: true, stepId: true, checks: true },
    });
    const byExecution = new Map<string, ExecutionChecks>(
      executions.map((e) => [
        e.executionId,
        { flow: (e.checks ?? null) as StoredCheckResult | null, steps: new Map(), stepIds: new Map() },
      ]),
    );
    for (const s of steps) {
      const checks = byExecution.get(s.executionId);
      if (!checks || s.checks === null) continue;
      checks.steps.set(s.stepIndex, s.checks as StoredCheckResult);
      checks.stepIds.set(s.stepIndex, s.stepId);
    }
    return byExecution;
  });
}

function missingEvaluation(id: string): DatabaseError {
  return new DatabaseError("NOT_FOUND", `Evaluation "${id}" does not exist: create it with createEvaluationRun first`, { field: "id" });
}
