import type { Database, ExecutionSessionRecord, ListExecutionsInput } from "@reev/db";
import { consolidationReport, formatDuration, OrchestratorError } from "@reev/orchestrator";
import type { CliIO } from "../context.js";
import { formatPercent, formatScore, statusLabel } from "../format.js";
import { clip, renderTable } from "../text-table.js";

export async function requireExecution(db: Database, executionId: string): Promise<ExecutionSessionRecord> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) throw new OrchestratorError("NOT_FOUND", `No execution "${executionId}" in ${db.description} (see reev list)`);
  return execution;
}

export async function listCommand(db: Database, query: ListExecutionsInput, io: CliIO): Promise<number> {
  const executions = await db.writer.listExecutionSessions(query);
  if (!executions.length) {
    io.stdout.write(`No executions${query.status ? ` with status ${query.status}` : ""} in ${db.description}.\n`);
    return 0;
  }
  const rows = executions.map((e) => [
    e.executionId,
    e.flowId,
    statusLabel(e.status),
    e.startedAt.toISOString().replace("T", " ").slice(0, 19),
    formatDuration(e.durationMs),
    e.consolidation.status,
  ]);
  io.stdout.write(`${renderTable(["execution", "flow", "status", "started (UTC)", "duration", "consolidation"], rows, new Set([4]))}\n`);
  return 0;
}

export async function showCommand(db: Database, executionId: string, io: CliIO): Promise<number> {
  const e = await requireExecution(db, executionId);
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const status = await consolidationReport(db, e);
  const lines = [
    `Execution  ${e.executionId}`,
    `Flow       ${e.flowId}   agent: ${e.agent}`,
    `Prompt     ${clip(e.prompt, 100)}`,
    `Status     ${statusLabel(e.status)}${e.error ? ` — ${e.error}` : ""}`,
    `Started    ${e.startedAt.toISOString()}   duration: ${formatDuration(e.durationMs)}`,
    ...(e.openTransaction
      ? [
          `Open transaction ${e.openTransaction.transactionId} since ${e.openTransaction.openedAt.toISOString()} (pending steps are not shown)`,
        ]
      : []),
    `Consolidation ${status.status}${status.consolidatedSessionId ? ` ${status.consolidatedSessionId}` : ""}${status.error ? ` — ${status.error}` : ""}`,
    ...(status.metadata
      ? [
          `  success rate ${formatPercent(status.metadata.successRate)} · avg score ${formatScore(status.metadata.avgScore)} · ${status.metadata.totalTools} tool calls · ${formatDuration(status.metadata.executionDurationMs)}`,
        ]
      : []),
    "",
    "",
  ];
  const rows = steps.map((s) => [
    String(s.stepIndex),
    s.stepId ?? "—",
    statusLabel(s.status),
    formatDuration(s.durationMs),
    s.toolCalls.map((t) => `${t.success === false ? "✗" : ""}${t.toolName}`).join(", ") || "—",
    formatScore(s.score),
    clip(s.error ?? "", 60),
  ]);
  io.stdout.write(
    `${lines.join("\n")}${steps.length ? renderTable(["#", "step", "status", "duration", "tool calls", "score", "error"], rows, new Set([0, 3, 5])) : "No committed steps."}\n`,
  );
  return 0;
}

export async function statusCommand(db: Database, executionId: string, io: CliIO): Promise<number> {
  const e = await requireExecution(db, executionId);
  const report = await consolidationReport(db, e);
  // The run and its consolidation are two life cycles: a failed run can be consolidated perfectly well.
  const out = {
    execution_id: executionId,
    execution_status: e.status,
    execution_error: e.error,
    consolidation: {
      status: report.status,
      complete: report.status === "completed",
      consolidated_session_id: report.consolidatedSessionId,
      error: report.error,
      updated_at: report.updatedAt?.toISOString() ?? null,
      metadata: report.metadata,
    },
  };
  io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

export async function recoverCommand(db: Database, options: { olderThanMs: number; dryRun: boolean }, io: CliIO): Promise<number> {
  const open = options.dryRun ? await db.writer.listOpenTransactions(options) : await db.writer.recoverOpenTransactions(options);
  if (!open.length) {
    io.stdout.write(`No open transactions older than ${formatDuration(options.olderThanMs)}.\n`);
    return 0;
  }
  const verb = options.dryRun ? "would roll back" : "rolled back";
  for (const t of open) {
    io.stdout.write(
      `${verb} ${t.executionId}: transaction ${t.transactionId} opened ${t.openedAt.toISOString()}, ${t.pendingSteps} pending steps\n`,
    );
  }
  return 0;
}
