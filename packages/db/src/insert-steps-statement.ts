import { Prisma } from "./generated/prisma/client.js";
import { prepared } from "./prepared-statement.js";
import type { ExecutionStatus } from "./schemas.js";
import { attemptRecords, type StepRow, stepRecords, toolCallRecords } from "./step-rows.js";

/** A step already stored under one of the indexes written. */
export type PriorStep = { step_index: number; content_sha256: string; state: "pending" | "committed"; transaction_id: string | null };

/** What `insertStepsStatement` reports: the locked execution, the steps already there, the new ones. */
export type InsertStepsOutcome = {
  /** Null when the execution does not exist (the other execution fields are then null too). */
  execution_id: string | null;
  open_transaction_id: string | null;
  status: ExecutionStatus;
  prior: PriorStep[];
  /** Step indexes this statement inserted. */
  inserted: number[];
};

/**
 * Writes steps, their tool calls and their attempts as ONE statement: lock the execution row, look for the steps,
 * insert those that are new — only while the execution is running and the guard holds (its
 * transaction is the open one; with `transactionId: null`, none is open) — and report what it found. One statement is atomic on its own, so the single-step hot path
 * needs no interactive transaction: one round trip instead of six (BEGIN, lock, find, insert step,
 * insert calls, COMMIT) and far less client work; a bulk import runs it per chunk inside one
 * interactive transaction. The caller decides from the outcome (no-op, CONFLICT, TRANSACTION_STATE).
 *
 * Every part reads one snapshot, taken before the execution lock was granted, so what happened while
 * the statement waited for it needs care:
 * - `prior` locks the rows it finds (`FOR SHARE`), and only after the execution lock (its condition
 *   needs `ex`): a row deleted meanwhile (rollback, recovery, a replace) is skipped, a row committed
 *   meanwhile comes back in its committed state — never a stale row taken for the truth;
 * - a step that a concurrent writer inserted meanwhile is invisible to `prior`, and `ON CONFLICT DO
 *   NOTHING` skips it, so it is in neither list — the caller runs the statement again for such steps,
 *   with a fresh snapshot.
 */
export function insertStepsStatement(executionId: string, rows: readonly StepRow[], guard: { transactionId?: string | null }): Prisma.Sql {
  const guardId = guard.transactionId ?? null;
  const outsideTransaction = guard.transactionId === null;
  const indexes = rows.map((r) => r.stepIndex);
  return Prisma.sql`${prepared("insert-steps")}
    WITH ex AS (
      SELECT execution_id, open_transaction_id, status FROM execution_sessions WHERE execution_id = ${executionId} FOR UPDATE
    ), prior AS (
      SELECT s.step_index, s.content_sha256, s.state, s.transaction_id FROM step_sessions s
      WHERE s.execution_id = ${executionId} AND s.step_index = ANY(${indexes}::int[]) AND EXISTS (SELECT 1 FROM ex)
      FOR SHARE OF s
    ), ins AS (
      INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, transaction_id,
        step_id, status, score, started_at, finished_at, duration_ms, error, error_kind, created_at, committed_at)
      SELECT s.session_id, ${executionId}, s.step_index, s.content, s.content_sha256,
        CASE WHEN ex.open_transaction_id IS NULL THEN 'committed' ELSE 'pending' END::step_state, ex.open_transaction_id,
        s.step_id, s.status::step_status, s.score, s.started_at, s.finished_at, s.duration_ms, s.error, s.error_kind::error_kind,
        COALESCE(s.created_at, now()), CASE WHEN ex.open_transaction_id IS NULL THEN COALESCE(s.committed_at, now()) END
      FROM ex CROSS JOIN json_to_recordset(${stepRecords(rows)}::json) AS s (session_id text, step_index int, content text,
        content_sha256 text, step_id text, status text, score float8, started_at timestamptz, finished_at timestamptz,
        duration_ms int, error text, error_kind text, created_at timestamptz, committed_at timestamptz)
      WHERE ex.status = 'running'
        AND (${guardId}::text IS NULL OR ex.open_transaction_id::text = ${guardId}::text)
        AND (NOT ${outsideTransaction}::boolean OR ex.open_transaction_id IS NULL)
        AND NOT EXISTS (SELECT 1 FROM prior WHERE prior.step_index = s.step_index)
      ON CONFLICT (execution_id, step_index) DO NOTHING
      RETURNING step_index
    ), calls AS (
      INSERT INTO tool_calls (execution_id, step_index, call_index, attempt, tool_name, input, output, input_json, output_json,
        success, duration_ms, error)
      SELECT ${executionId}, c.step_index, c.call_index, c.attempt, c.tool_name, c.input_json::jsonb, c.output_json::jsonb,
        c.input_json, c.output_json, c.success, c.duration_ms, c.error
      FROM json_to_recordset(${toolCallRecords(rows)}::json) AS c (step_index int, call_index int, attempt int, tool_name text,
        input_json text, output_json text, success boolean, duration_ms int, error text)
      JOIN ins USING (step_index)
    ), attempts AS (
      INSERT INTO step_attempts (execution_id, step_index, attempt, status, error, error_kind, started_at, finished_at, duration_ms,
        model, input_tokens, output_tokens, cached_input_tokens)
      SELECT ${executionId}, a.step_index, a.attempt, a.status::step_status, a.error, a.error_kind::error_kind, a.started_at,
        a.finished_at, a.duration_ms, a.model, a.input_tokens, a.output_tokens, a.cached_input_tokens
      FROM json_to_recordset(${attemptRecords(rows)}::json) AS a (step_index int, attempt int, status text, error text,
        error_kind text, started_at timestamptz, finished_at timestamptz, duration_ms int, model text, input_tokens bigint,
        output_tokens bigint, cached_input_tokens bigint)
      JOIN ins USING (step_index)
    )
    SELECT ex.execution_id, ex.open_transaction_id::text AS open_transaction_id, ex.status::text AS status,
      COALESCE((SELECT jsonb_agg(jsonb_build_object('step_index', step_index, 'content_sha256', content_sha256,
        'state', state, 'transaction_id', transaction_id)) FROM prior), '[]'::jsonb) AS prior,
      COALESCE((SELECT array_agg(step_index) FROM ins), '{}'::int[]) AS inserted
    FROM (SELECT 1) AS one LEFT JOIN ex ON true`;
}
