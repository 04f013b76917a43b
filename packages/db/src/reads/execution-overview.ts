import type { Database } from "../open-database.js";
import { ZId } from "../schemas.js";
import { validate } from "../validate.js";
import type { ExecutionSessionRecord } from "../writer/executions.js";
import { EXECUTION_COLUMNS, type ExecutionRow, executionRecordOf } from "./execution-row.js";
import { runRead } from "./run-read.js";

/** How many steps an execution has, by outcome. `pending` steps belong to an open execution transaction. */
export type StepCounts = {
  committed: number;
  pending: number;
  success: number;
  failed: number;
  timedOut: number;
  skipped: number;
  /** Committed steps whose content said nothing about their outcome. */
  unknown: number;
};

export type ExecutionOverview = {
  execution: ExecutionSessionRecord;
  steps: StepCounts;
  /** The newest consolidated session (created_at, then id), or null when there is none. */
  latestConsolidation: { consolidatedSessionId: string; createdAt: Date } | null;
};

type OverviewRow = ExecutionRow & {
  committed: number;
  pending: number;
  success: number;
  failed: number;
  timed_out_steps: number;
  skipped: number;
  unknown: number;
  latest_consolidated_id: string | null;
  latest_consolidated_at: Date | null;
};

/**
 * An execution with its step counts and newest consolidated session, read in one statement so the
 * three agree with each other (one snapshot): a status of `completed` never comes with the step
 * counts of a moment earlier.
 */
export async function readExecutionOverview(db: Database, executionId: string): Promise<ExecutionOverview | null> {
  const id = validate(ZId, executionId, "executionId");
  const rows = await runRead(
    db,
    `read execution "${id}"`,
    (client) =>
      client.$queryRaw<OverviewRow[]>`
      SELECT ${EXECUTION_COLUMNS},
        c.committed::int, c.pending::int, c.success::int, c.failed::int, c.timed_out_steps::int, c.skipped::int, c.unknown::int,
        l.consolidated_session_id AS latest_consolidated_id, l.created_at AS latest_consolidated_at
      FROM execution_sessions e
      CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.state = 'committed') AS committed,
          count(*) FILTER (WHERE s.state = 'pending') AS pending,
          count(*) FILTER (WHERE s.state = 'committed' AND s.status = 'success') AS success,
          count(*) FILTER (WHERE s.state = 'committed' AND s.status = 'failed') AS failed,
          count(*) FILTER (WHERE s.state = 'committed' AND s.status = 'timed_out') AS timed_out_steps,
          count(*) FILTER (WHERE s.state = 'committed' AND s.status = 'skipped') AS skipped,
          count(*) FILTER (WHERE s.state = 'committed' AND s.status IS NULL) AS unknown
        FROM step_sessions s WHERE s.execution_id = e.execution_id) c
      LEFT JOIN LATERAL (
        SELECT cs.consolidated_session_id, cs.created_at FROM consolidated_sessions cs
        WHERE cs.execution_id = e.execution_id ORDER BY cs.created_at DESC, cs.id DESC LIMIT 1) l ON true
      WHERE e.execution_id = ${id}`,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    execution: executionRecordOf(row),
    steps: {
      committed: row.committed,
      pending: row.pending,
      success: row.success,
      failed: row.failed,
      timedOut: row.timed_out_steps,
      skipped: row.skipped,
      unknown: row.unknown,
    },
    latestConsolidation:
      row.latest_consolidated_id && row.latest_consolidated_at
        ? { consolidatedSessionId: row.latest_consolidated_id, createdAt: row.latest_consolidated_at }
        : null,
  };
}
