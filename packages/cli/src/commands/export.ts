import { existsSync } from "node:fs";
import type { Database } from "@reev/db";
import { EXPORT_FORMATS, type ExportFormat, exportExecution } from "@reev/orchestrator";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import { reevCommand, shellWord } from "../hint.js";
import {
  exitAtOnce,
  type InterruptNotices,
  type InterruptSignal,
  interruptExitCode,
  interruptHeard,
  stopNotices,
  takesOverInterrupts,
  withInterrupts,
  writeInterrupted,
} from "../interrupt.js";
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
  // Its action calls withInterrupts before it opens anything: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("export"))
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
      [
        examples([
          ["reev export <executionId> --out run.json", "one JSON document"],
          ["reev import run.json --db postgresql://…", "…loaded into another database"],
          [
            "reev export <executionId> --format otlp --endpoint http://127.0.0.1:4318/v1/traces",
            "spans to Jaeger, Tempo, Phoenix, Langfuse…",
          ],
        ]),
        "",
        "--out FILE is written whole or not at all (a temporary file beside it, renamed once complete). Ctrl-C",
        "(or SIGTERM) writes nothing more, sends no further request with --format otlp, says what it left and",
        "exits 130 (143).",
      ].join("\n"),
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
      const json = options.json ?? false;
      const { value, interrupted } = await withInterrupts(
        ctx.io,
        (signal) =>
          withDatabase(options.db, "read", (db) => exportCommand(db, executionId, { format, out: options.out, json, signal }, ctx.io)),
        { notices: exportNotices(options.out, json) },
      );
      ctx.exitCode = interrupted ? interruptExitCode(interrupted) : value;
    });
}

/**
 * What Ctrl-C means during an export: it only reads, so it stops; the document goes out whole or not at
 * all (to --out through a temporary file renamed once complete, to stdout in one write).
 */
function exportNotices(out: string | undefined, json: boolean): InterruptNotices {
  const where = out ?? "stdout";
  return stopNotices(json, {
    first: (name) => `Interrupted (${name}): stopping; the export is written to ${where} whole or not at all. ${exitAtOnce(name)}`,
    again: (name) =>
      out
        ? `${name} again: exiting at once. ${out} is written whole or not at all: its temporary file is removed. Nothing in the database was changed (an export only reads).`
        : `${name} again: exiting at once. Nothing in the database was changed (an export only reads).`,
  });
}

/** What a signal during an export left: the document written whole, or not at all (and a file already at --out left as it was). */
function interruptedWords(signal: InterruptSignal, out: string | undefined, written: boolean): string {
  if (written) return `Interrupted (${signal}) once ${out ?? "the export"} was written whole: it is complete.`;
  const where = out
    ? `${out} was not written${existsSync(out) ? " (the file already there is left as it was)" : ""}`
    : "nothing was written to stdout";
  return `Interrupted (${signal}): ${where}. Run the command again to export.`;
}

/** The execution's status as the document has it (JSONL: its first record), not as it may be by now. */
function exportedStatus(text: string, format: Exclude<ExportFormat, "otlp">): unknown {
  const doc = format === "json" ? JSON.parse(text).execution : JSON.parse(text.slice(0, text.indexOf("\n")));
  return doc?.status;
}

/** An export of a run still running is a snapshot of it: said, since reev import refuses it (see import.ts). */
function stillRunningWords(executionId: string): string {
  return (
    `Note: execution ${executionId} was still running when exported, so this is a snapshot of it: reev import refuses it. ` +
    `To move the run, export it again once it has finished (${reevCommand(`status ${shellWord(executionId)}`)} tells).\n`
  );
}

/**
 * Everything stored about one execution: JSON as one document, JSONL as one record per line. Given
 * withInterrupts' signal, one heard before the document is out keeps it from being written (see emit).
 */
export async function exportCommand(
  db: Database,
  executionId: string,
  options: { format: Exclude<ExportFormat, "otlp">; out: string | undefined; json?: boolean; signal?: AbortSignal },
  io: CliIO,
): Promise<number> {
  const json = options.json ?? false;
  const text = await exportExecution(db, executionId, options.format);
  // Null only for an unknown execution: requireExecution throws the CLI's words for it.
  if (text === null) await requireExecution(db, executionId);
  const written = await emit(text ?? "", options.out, io, { json, ...(options.signal ? { signal: options.signal } : {}) });
  // Not with --json (stderr is the error's line alone): the document's execution.status says it there.
  if (written && !json && exportedStatus(text ?? "", options.format) === "running") io.stderr.write(stillRunningWords(executionId));
  const signal = await interruptHeard(options.signal);
  // On stderr: stdout may be the document.
  if (signal) writeInterrupted(io, json, interruptedWords(signal, options.out, written), "stderr");
  return 0;
}
