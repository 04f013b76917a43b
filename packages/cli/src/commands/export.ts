import type { Database } from "@reev/db";
import { EXPORT_FORMATS, type ExportFormat, exportExecution } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import {
  type DbOptions,
  dbOption,
  examples,
  executionIdArgument,
  JSON_ERRORS_ONLY,
  type JsonOptions,
  jsonOption,
  oneOf,
  outFileOption,
} from "../options.js";
import { emit } from "../output-file.js";
import { requireExecution } from "./execution-view.js";

type ExportOptions = DbOptions & JsonOptions & { format: ExportFormat; out?: string | undefined };

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .summary("print everything stored about one execution")
    .description("Print everything stored about one execution: the run, every step with its tool calls, its consolidated sessions.")
    .addArgument(executionIdArgument())
    .option(
      "--format <format>",
      "json (one document) or jsonl (one record a line)",
      oneOf("--format", "export format", EXPORT_FORMATS),
      "json",
    )
    .addOption(outFileOption())
    .addOption(dbOption())
    .addOption(jsonOption(JSON_ERRORS_ONLY))
    .addHelpText(
      "after",
      examples([
        ["reev export <executionId> --out run.json", "one JSON document"],
        ["reev import run.json --db postgresql://…", "…loaded into another database"],
      ]),
    )
    .action(async (executionId: string, options: ExportOptions) => {
      ctx.exitCode = await withDatabase(options.db, "read", (db) =>
        exportCommand(db, executionId, { format: options.format, out: options.out }, ctx.io),
      );
    });
}

/** Everything stored about one execution: JSON as one document, JSONL as one record per line. */
export async function exportCommand(
  db: Database,
  executionId: string,
  options: { format: ExportFormat; out: string | undefined },
  io: CliIO,
): Promise<number> {
  const text = await exportExecution(db, executionId, options.format);
  // Null only for an unknown execution: requireExecution throws the CLI's words for it.
  if (text === null) await requireExecution(db, executionId);
  await emit(text ?? "", options.out, io);
  return 0;
}
