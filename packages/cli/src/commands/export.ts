import type { Database } from "@reev/db";
import { EXPORT_FORMATS, type ExportFormat, exportExecution } from "@reev/orchestrator";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
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
  outFormat,
} from "../options.js";
import { exportOtlpCommand } from "../otlp-export.js";
import { emit } from "../output-file.js";
import { requireExecution } from "./execution-view.js";

type ExportOptions = DbOptions & JsonOptions & { format: ExportFormat | "otlp"; out?: string | undefined; endpoint?: string | undefined };

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .summary("print everything stored about one execution")
    .description(
      "Print everything stored about one execution: the run, every step with its attempts, tool calls and checks, its consolidated sessions.",
    )
    .addArgument(executionIdArgument())
    .option(
      "--format <format>",
      "json (one document), jsonl (one record a line) or otlp (OpenTelemetry spans, sent to --endpoint)",
      oneOf("--format", "export format", [...EXPORT_FORMATS, "otlp"] as const),
      "json",
    )
    .option(
      "--endpoint <url>",
      "with --format otlp: the OTLP/HTTP traces endpoint (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, else http://localhost:4318/v1/traces)",
    )
    .addOption(outFileOption())
    .addOption(dbOption())
    .addOption(jsonOption(JSON_ERRORS_ONLY))
    .addHelpText(
      "after",
      examples([
        ["reev export <executionId> --out run.json", "one JSON document"],
        ["reev import run.json --db postgresql://…", "…loaded into another database"],
        [
          "reev export <executionId> --format otlp --endpoint http://127.0.0.1:4318/v1/traces",
          "spans to Jaeger, Tempo, Phoenix, Langfuse…",
        ],
      ]),
    )
    .action(async (executionId: string, options: ExportOptions, command: Command) => {
      if (options.format === "otlp") {
        if (options.out !== undefined)
          throw invalidArgument("--out does not go with --format otlp: the spans are sent to --endpoint.", "--out");
        ctx.exitCode = await exportOtlpCommand(options.db, executionId, options.endpoint, { json: options.json ?? false }, ctx.io);
        return;
      }
      if (options.endpoint !== undefined) throw invalidArgument("--endpoint goes with --format otlp.", "--endpoint");
      const format = outFormat(command, options.out, { ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl" } as const);
      ctx.exitCode = await withDatabase(options.db, "read", (db) =>
        exportCommand(db, executionId, { format, out: options.out, json: options.json ?? false }, ctx.io),
      );
    });
}

/** Everything stored about one execution: JSON as one document, JSONL as one record per line. */
export async function exportCommand(
  db: Database,
  executionId: string,
  options: { format: Exclude<ExportFormat, "otlp">; out: string | undefined; json?: boolean },
  io: CliIO,
): Promise<number> {
  const text = await exportExecution(db, executionId, options.format);
  // Null only for an unknown execution: requireExecution throws the CLI's words for it.
  if (text === null) await requireExecution(db, executionId);
  await emit(text ?? "", options.out, io, { json: options.json ?? false });
  return 0;
}
