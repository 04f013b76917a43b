import { type StepRow, stepRecords, toolCallRecords } from "@reev/db/internal";
import type { Query, RawDriver } from "./raw-driver.js";

/**
 * Many steps of one execution in one transaction, all or nothing — the raw floor of
 * `writer.storeSteps`, as a plain multi-row INSERT: lock the execution, check it is running, find
 * which steps are already stored (the same fingerprint is skipped, a different one refused), then
 * INSERT `BATCH_STEPS` steps per statement and their tool calls per statement, each from one JSON
 * array parameter unpacked by `json_to_recordset`. No COPY: `pg-copy-streams` is not a dependency,
 * and PGlite's `query` has no COPY FROM STDIN.
 */

const BATCH_STEPS = 1000;

type LockedExecution = { open_transaction_id: string | null; status: string };

const INSERT_STEPS = `
  INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, transaction_id,
                             step_id, status, score, started_at, finished_at, duration_ms, error, committed_at)
  SELECT r.session_id, $2, r.step_index, r.content, r.content_sha256, $3::step_state, $4::uuid,
         r.step_id, r.status::step_status, r.score, r.started_at, r.finished_at, r.duration_ms, r.error, $5::timestamptz
  FROM json_to_recordset($1::json) AS r(session_id text, step_index int, content text, content_sha256 text, step_id text,
                                        status text, score float8, started_at timestamptz, finished_at timestamptz,
                                        duration_ms int, error text)`;

const INSERT_TOOL_CALLS = `
  INSERT INTO tool_calls (execution_id, step_index, call_index, tool_name, input, output, input_json, output_json, success, duration_ms, error)
  SELECT $2, r.step_index, r.call_index, r.tool_name, r.input_json::jsonb, r.output_json::jsonb, r.input_json, r.output_json,
         r.success, r.duration_ms, r.error
  FROM json_to_recordset($1::json) AS r(step_index int, call_index int, tool_name text,
                                        input_json text, output_json text, success boolean, duration_ms int, error text)`;

async function lockRunning(q: Query, executionId: string): Promise<LockedExecution> {
  const [row] = await q<LockedExecution>(
    `SELECT open_transaction_id::text AS open_transaction_id, status::text AS status FROM execution_sessions WHERE execution_id = $1 FOR UPDATE`,
    [executionId],
  );
  if (!row) throw new Error(`Execution "${executionId}" does not exist`);
  if (row.status !== "running") throw new Error(`Execution "${executionId}" already finished as ${row.status}`);
  return row;
}

async function newSteps(q: Query, executionId: string, rows: StepRow[]): Promise<StepRow[]> {
  const stored = await q<{ step_index: number; content_sha256: string }>(
    `SELECT step_index, content_sha256 FROM step_sessions WHERE execution_id = $1 AND step_index = ANY($2::int[])`,
    [executionId, rows.map((r) => r.stepIndex)],
  );
  const shaByIndex = new Map(stored.map((s) => [s.step_index, s.content_sha256]));
  return rows.filter((row) => {
    const sha = shaByIndex.get(row.stepIndex);
    if (sha !== undefined && sha !== row.contentSha256) {
      throw new Error(`Step ${row.stepIndex} of execution "${executionId}" is already stored with different content`);
    }
    return sha === undefined;
  });
}

export async function storeStepRows(driver: RawDriver, executionId: string, rows: StepRow[]): Promise<{ stored: number; created: number }> {
  return driver.transaction(async (q) => {
    const transactionId = (await lockRunning(q, executionId)).open_transaction_id;
    const fresh = await newSteps(q, executionId, rows);
    const state = transactionId ? "pending" : "committed";
    const committedAt = transactionId ? null : new Date().toISOString();
    for (let first = 0; first < fresh.length; first += BATCH_STEPS) {
      const batch = fresh.slice(first, first + BATCH_STEPS);
      await q(INSERT_STEPS, [stepRecords(batch), executionId, state, transactionId, committedAt]);
      await q(INSERT_TOOL_CALLS, [toolCallRecords(batch), executionId]);
    }
    return { stored: rows.length, created: fresh.length };
  });
}
