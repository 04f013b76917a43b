import type { Database, ExecutionSessionRecord } from "@reev/db";
import { parseConsolidatedContent } from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import { drawRun } from "../draw-run.js";
import { reevCommand, shellWord } from "../hint.js";
import { recoverWords, runMark } from "../liveness.js";
import {
  type DbOptions,
  dbOption,
  examples,
  JSON_ERRORS_ONLY,
  type JsonOptions,
  jsonOption,
  oneOf,
  outFileOption,
  outFormat,
} from "../options.js";
import { emit } from "../output-file.js";
import { requireExecution } from "./execution-view.js";

const DIAGRAM_FORMATS = ["mmd", "html"] as const;
type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];
type DiagramOptions = DbOptions & JsonOptions & { format: DiagramFormat; out?: string | undefined };

export function registerDiagram(program: Command, ctx: CliContext): void {
  program
    .command("diagram")
    .summary("draw a run as Mermaid or HTML")
    .description("Draw a run: its consolidated session as Mermaid source, or as a self-contained HTML page.")
    .argument("<id>", "an execution id (its newest consolidated session) or a consolidated session id")
    .option("--format <format>", "mmd (Mermaid stateDiagram-v2) or html", oneOf("--format", "diagram format", DIAGRAM_FORMATS), "mmd")
    .addOption(outFileOption())
    .addOption(dbOption())
    .addOption(jsonOption(JSON_ERRORS_ONLY))
    .addHelpText(
      "after",
      examples([
        ["reev diagram <executionId>", "Mermaid source on stdout"],
        ["reev diagram <executionId> --format html --out run.html", "a page to open in a browser"],
      ]),
    )
    .action(async (id: string, options: DiagramOptions, command: Command) => {
      const format = outFormat(command, options.out, { ".mmd": "mmd", ".mermaid": "mmd", ".txt": "mmd", ".html": "html", ".htm": "html" });
      ctx.exitCode = await withDatabase(options.db, "read", (db) =>
        diagramCommand(db, id, { format, out: options.out, json: options.json ?? false }, ctx.io),
      );
    });
}

/** Accepts a consolidated id, or an execution id (its newest consolidated session), and reads its execution too. */
async function consolidatedContent(db: Database, id: string): Promise<{ content: string; execution: ExecutionSessionRecord }> {
  const direct = await db.writer.getConsolidatedSession(id);
  if (direct !== null) return { content: direct, execution: await requireExecution(db, parseConsolidatedContent(direct).execution_id) };
  const execution = await requireExecution(db, id);
  const newest = await db.writer.getNewestConsolidatedSession(id);
  if (!newest)
    // Its own hint: the run exists, so the unknown id's "Run reev list…" would send the user looking for it.
    throw new CliError("NOT_FOUND", `Execution "${id}" has no consolidated session yet, so there is nothing to draw.`, {
      field: "id",
      hint: `${howConsolidated(execution)}; then it can be drawn.`,
      exitCode: 2,
    });
  return { content: newest.consolidatedContent, execution };
}

/** What consolidates a run that has no consolidated session: its own end, reev recover, or reev consolidate. */
function howConsolidated(execution: ExecutionSessionRecord): string {
  const id = shellWord(execution.executionId);
  if (execution.status !== "running") return `${reevCommand(`consolidate ${id}`)} consolidates it`;
  if (runMark(execution) === "abandoned") return `Its process is gone: ${recoverWords()}`;
  return `It is consolidated when it finishes: ${reevCommand(`status ${id}`)} says where it stands`;
}

export async function diagramCommand(
  db: Database,
  id: string,
  options: { format: DiagramFormat; out: string | undefined; json?: boolean },
  io: CliIO,
): Promise<number> {
  const { content, execution } = await consolidatedContent(db, id);
  const checks = await db.writer.getChecks(execution.executionId);
  await emit(drawRun(options.format, content, execution, checks), options.out, io, { json: options.json ?? false });
  return 0;
}
