import type { Database } from "@reev/db";
import { consolidationReport, formatDuration } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { formatPercent, formatScore, statusLabel } from "../format.js";
import { executionWithConsolidationJson } from "../json-views.js";
import { type DbOptions, dbOption, examples, type JsonOptions, jsonOption } from "../options.js";
import { renderFields } from "../text-table.js";
import { requireExecution } from "./require-execution.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .summary("show where one execution stands")
    .description("Show where one execution stands: the run's status and its consolidation's.")
    .argument("<executionId>", "the execution (see reev list)")
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev status <executionId>", "status, consolidation and metrics as aligned text"],
        ["reev status <executionId> --json | jq .consolidation.status", "one field, for a script"],
      ]),
    )
    .action(async (executionId: string, options: DbOptions & JsonOptions) => {
      ctx.exitCode = await withDatabase(options.db, (db) => statusCommand(db, executionId, { json: options.json ?? false }, ctx.io));
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
  const m = report.metadata;
  const consolidation = [
    report.status,
    ...(report.consolidatedSessionId ? [report.consolidatedSessionId] : []),
    ...(report.updatedAt ? [`(updated ${report.updatedAt.toISOString()})`] : []),
  ].join("  ");
  const fields: [string, string][] = [
    ["Execution", e.executionId],
    ["Status", `${statusLabel(e.status)}${e.error ? ` — ${e.error}` : ""}`],
    ["Consolidation", `${consolidation}${report.error ? ` — ${report.error}` : ""}`],
    ...(m
      ? ([
          [
            "Metrics",
            `success rate ${formatPercent(m.successRate)} · avg score ${formatScore(m.avgScore)} · ${m.totalTools ?? "—"} tool calls · ${formatDuration(m.executionDurationMs)}`,
          ],
        ] as [string, string][])
      : []),
  ];
  io.stdout.write(`${renderFields(fields)}\n`);
  return 0;
}
