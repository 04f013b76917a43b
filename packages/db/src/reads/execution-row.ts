import { Prisma } from "../generated/prisma/client.js";
import { recordedOwner } from "../process-owner.js";
import type { ConsolidationStatus, ExecutionStatus, JsonValue } from "../schemas.js";
import type { ExecutionSessionRecord } from "../writer/executions.js";

/**
 * What a list shows of an execution. A full record is one too, so one view serves both; the list
 * reads only these columns (not the metadata or transaction), and the read's cost is per column and
 * row. The owner and heartbeat are here because a list must not show a run whose process is gone as
 * running (see `executionLiveness`).
 */
export type ExecutionSummary = Pick<
  ExecutionSessionRecord,
  "executionId" | "flowId" | "agent" | "prompt" | "status" | "startedAt" | "finishedAt" | "durationMs" | "error" | "owner" | "heartbeatAt"
> & { consolidation: Pick<ExecutionSessionRecord["consolidation"], "status"> };

export type SummaryRow = {
  execution_id: string;
  flow_id: string;
  agent: string;
  prompt: string;
  status: ExecutionStatus;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  error: string | null;
  consolidation_status: ConsolidationStatus;
  owner_host: string | null;
  owner_pid: number | null;
  owner_started_at: Date | null;
  heartbeat_at: Date | null;
};

export const SUMMARY_COLUMNS = Prisma.sql`e.execution_id, e.flow_id, e.agent, e.prompt, e.status::text AS status, e.started_at,
  e.finished_at, e.duration_ms, e.error, e.consolidation_status::text AS consolidation_status,
  e.owner_host, e.owner_pid, e.owner_started_at, e.heartbeat_at`;

export const summaryOf = (row: SummaryRow): ExecutionSummary => ({
  executionId: row.execution_id,
  flowId: row.flow_id,
  agent: row.agent,
  prompt: row.prompt,
  status: row.status,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  durationMs: row.duration_ms,
  error: row.error,
  consolidation: { status: row.consolidation_status },
  owner: recordedOwner({ ownerHost: row.owner_host, ownerPid: row.owner_pid, ownerStartedAt: row.owner_started_at }),
  heartbeatAt: row.heartbeat_at,
});

/** The execution columns every read of a whole execution selects, under their snake_case names. */
export const EXECUTION_COLUMNS = Prisma.sql`${SUMMARY_COLUMNS}, e.metadata, e.open_transaction_id::text AS open_transaction_id,
  e.transaction_opened_at, e.consolidation_error, e.consolidation_updated_at, e.evaluation_id`;

export type ExecutionRow = SummaryRow & {
  metadata: JsonValue | null;
  open_transaction_id: string | null;
  transaction_opened_at: Date | null;
  consolidation_error: string | null;
  consolidation_updated_at: Date | null;
  evaluation_id: string | null;
};

/** A raw row as the writer's record, so readers see one shape whichever way a row was read. */
export function executionRecordOf(row: ExecutionRow): ExecutionSessionRecord {
  return {
    ...summaryOf(row),
    metadata: row.metadata ?? null,
    openTransaction:
      row.open_transaction_id && row.transaction_opened_at
        ? { transactionId: row.open_transaction_id, openedAt: row.transaction_opened_at }
        : null,
    consolidation: { status: row.consolidation_status, error: row.consolidation_error, updatedAt: row.consolidation_updated_at },
    evaluationId: row.evaluation_id,
  };
}
