import type { Database } from "../open-database.js";
import { type RecordedOwner, recordedOwner } from "../process-owner.js";
import { type ConsolidationStatus, type ExecutionStatus, type StepStatus, ZId } from "../schemas.js";
import { validate } from "../validate.js";
import { runRead } from "./run-read.js";

/** Where a run stands, as live views follow it: its committed steps (index and outcome), status and consolidation. */
export type RunProgress = {
  executionId: string;
  status: ExecutionStatus;
  error: string | null;
  finishedAt: Date | null;
  consolidation: { status: ConsolidationStatus; error: string | null; updatedAt: Date | null };
  latestConsolidatedSessionId: string | null;
  /** Committed steps in index order. Committed steps are never removed, so this list only grows. */
  steps: { stepIndex: number; status: StepStatus | null }[];
  /** Who runs it and its last sign of life: whether a running run is abandoned (executionLiveness). */
  owner: RecordedOwner | null;
  heartbeatAt: Date | null;
  startedAt: Date;
};

type ProgressRow = {
  status: ExecutionStatus;
  error: string | null;
  finished_at: Date | null;
  consolidation_status: ConsolidationStatus;
  consolidation_error: string | null;
  consolidation_updated_at: Date | null;
  latest_consolidated_id: string | null;
  steps: { stepIndex: number; status: StepStatus | null }[];
  owner_host: string | null;
  owner_pid: number | null;
  owner_started_at: Date | null;
  heartbeat_at: Date | null;
  started_at: Date;
};

/** A run's progress in one statement (one snapshot), without step contents. Null for an unknown execution. */
export async function readRunProgress(db: Database, executionId: string): Promise<RunProgress | null> {
  const id = validate(ZId, executionId, "executionId");
  const rows = await runRead(
    db,
    `read the progress of execution "${id}"`,
    (client) =>
      client.$queryRaw<ProgressRow[]>`
      SELECT e.status::text AS status, e.error, e.finished_at, e.consolidation_status::text AS consolidation_status,
        e.consolidation_error, e.consolidation_updated_at, e.owner_host, e.owner_pid, e.owner_started_at, e.heartbeat_at, e.started_at,
        (SELECT cs.consolidated_session_id FROM consolidated_sessions cs WHERE cs.execution_id = e.execution_id
          ORDER BY cs.created_at DESC, cs.id DESC LIMIT 1) AS latest_consolidated_id,
        COALESCE((SELECT json_agg(json_build_object('stepIndex', s.step_index, 'status', s.status) ORDER BY s.step_index)
          FROM step_sessions s WHERE s.execution_id = e.execution_id AND s.state = 'committed'), '[]'::json) AS steps
      FROM execution_sessions e WHERE e.execution_id = ${id}`,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    executionId: id,
    status: row.status,
    error: row.error,
    finishedAt: row.finished_at,
    consolidation: { status: row.consolidation_status, error: row.consolidation_error, updatedAt: row.consolidation_updated_at },
    latestConsolidatedSessionId: row.latest_consolidated_id,
    steps: row.steps,
    owner: recordedOwner({ ownerHost: row.owner_host, ownerPid: row.owner_pid, ownerStartedAt: row.owner_started_at }),
    heartbeatAt: row.heartbeat_at,
    startedAt: row.started_at,
  };
}
