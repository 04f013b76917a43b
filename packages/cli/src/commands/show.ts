import type { Database } from "@reev/db";
import { consolidationReport, formatDuration } from "@reev/orchestrator";
import type { Command } from "commander";
import { checksCell, failedCheckLines } from "../check-lines.js";
import { type CliContext, type CliIO, writeJson } from "../context.js";
import { formatScore, metricsLine, statusLabel } from "../format.js";
import { executionWithConsolidationJson, stepJson } from "../json-views.js";
import { clip, renderTable } from "../text-table.js";
import { registerExecutionView, requireExecution } from "./execution-view.js";

export function registerShow(program: Command, ctx: CliContext): void {
  registerExecutionView(program, ctx, {
    name: "show",
    summary: "show one execution and its steps",
    description: "Show one execution: its status, consolidation, metrics and committed steps.",
    examples: [
      ["reev show exec_jup-multiply-usdc_1718000000000_ab12", "the run and a table of its steps"],
      ["reev show <executionId> --json", "the same as JSON, tool calls' input and output included"],
    ],
    print: showCommand,
  });
}

/** `reev show`: aligned fields and a table of the committed steps, or the same as JSON. */
export async function showCommand(db: Database, executionId: string, options: { json: boolean }, io: CliIO): Promise<number> {
  const e = await requireExecution(db, executionId);
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const status = await consolidationReport(db, e);
  const checks = await db.writer.getChecks(executionId);
  if (options.json) {
    writeJson(io, {
      ...executionWithConsolidationJson(e, status),
      checks: checks.flow,
      steps: steps.map((s) => ({ ...stepJson(s), checks: checks.steps.get(s.stepIndex) ?? null })),
    });
    return 0;
  }
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
    ...(status.metadata ? [`  ${metricsLine(status.metadata)}`] : []),
    ...(checks.flow ? [`Checks     ${checksCell(checks.flow)}`, ...failedCheckLines("  flow", checks.flow)] : []),
    "",
    "",
  ];
  // The checks column only for runs whose flow had expect blocks: other runs read as they always did.
  const withChecks = checks.steps.size > 0;
  const rows = steps.map((s) => [
    String(s.stepIndex),
    s.stepId ?? "—",
    statusLabel(s.status),
    formatDuration(s.durationMs),
    s.toolCalls.map((t) => `${t.success === false ? "✗" : ""}${t.toolName}`).join(", ") || "—",
    formatScore(s.score),
    ...(withChecks ? [checksCell(checks.steps.get(s.stepIndex))] : []),
    clip(s.error ?? "", 60),
  ]);
  const stepFailures = steps.flatMap((s) => failedCheckLines(`step ${s.stepIndex} ${s.stepId ?? ""}`, checks.steps.get(s.stepIndex)));
  io.stdout.write(
    `${lines.join("\n")}${steps.length ? renderTable(["#", "step", "status", "duration", "tool calls", "score", ...(withChecks ? ["checks"] : []), "error"], rows, new Set([0, 3, 5])) : "No committed steps."}\n${stepFailures.map((line) => `${line}\n`).join("")}`,
  );
  return 0;
}
