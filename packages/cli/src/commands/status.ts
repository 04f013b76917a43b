import type { Database } from "@reev/db";
import { consolidationReport } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, writeJson } from "../context.js";
import { costNoteFields, metricsLine, statusLabel, unrunStepsField, utcStamp } from "../format.js";
import { executionWithConsolidationJson } from "../json-views.js";
import { ownerField, runMark } from "../liveness.js";
import { renderFields } from "../text-table.js";
import { registerExecutionView, requireExecution } from "./execution-view.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  registerExecutionView(program, ctx, {
    name: "status",
    summary: "show where one execution stands",
    description: "Show where one execution stands: the run's status and its consolidation's.",
    examples: [
      ["reev status <executionId>", "status, consolidation and metrics as aligned text"],
      ["reev status <executionId> --json | jq .consolidation.status", "one field, for a script"],
    ],
    print: statusCommand,
  });
}

/**
 * `reev status`: the run and its consolidation are two life cycles (a failed run can be consolidated
 * perfectly well), so both are shown, each with its own status.
 */
export async function statusCommand(db: Database, executionId: string, options: { json: boolean }, io: CliIO): Promise<number> {
  const e = await requireExecution(db, executionId);
  const report = await consolidationReport(db, e);
  if (options.json) {
    writeJson(io, executionWithConsolidationJson(e, report));
    return 0;
  }
  const mark = runMark(e);
  const consolidation = [
    report.status,
    ...(report.consolidatedSessionId ? [report.consolidatedSessionId] : []),
    ...(report.updatedAt ? [`(updated ${utcStamp(report.updatedAt)})`] : []),
  ].join("  ");
  const fields: [string, string][] = [
    ["Execution", e.executionId],
    ["Status", `${statusLabel(e.status, mark)}${e.error ? ` — ${e.error}` : ""}`],
    // A live or finished run's owner is no part of where it stands; a marked one's is the next step.
    ...(mark ? ownerField(e, mark) : []),
    ["Consolidation", `${consolidation}${report.error ? ` — ${report.error}` : ""}`],
    ...(report.metadata ? ([["Metrics", metricsLine(report.metadata)]] as [string, string][]) : []),
    ...costNoteFields(e.executionId, report.costGaps),
    ...unrunStepsField(e, report.recordedSteps),
  ];
  io.stdout.write(`${renderFields(fields)}\n`);
  return 0;
}
