import { type Database, encodePageCursor, markedStatus, type PageCursorKey } from "@reev/db";
import { storedSummary } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { examplesArgument } from "../examples-dir.js";
import { utcTime } from "../format.js";
import { inMemoryNote, reevCommand, shellWord } from "../hint.js";
import { evaluationJson } from "../json-views.js";
import { runMark, writeMarkHelp } from "../liveness.js";
import { type DbOptions, dbOption, examples, integer, type JsonOptions, jsonOption } from "../options.js";
import { afterOption } from "../page-cursor.js";
import { clip, renderTable } from "../text-table.js";

/** The database returns at most this many evaluations per call. */
const MAX_LIMIT = 1000;

const DEFAULT_LIMIT = 50;

type EvaluationsOptions = DbOptions & JsonOptions & { limit: number; after?: PageCursorKey | undefined };
/** A page: at most `limit`, older than `after` when given. */
type EvaluationsQuery = { limit: number; after?: PageCursorKey | undefined };

export function registerEvaluations(program: Command, ctx: CliContext): void {
  program
    .command("evaluations")
    .summary("list the recorded evaluations (reev eval)")
    .description("List the evaluations reev eval recorded, newest first: the ids reev compare and reev eval --baseline take. Reads only.")
    .option("--limit <n>", `at most this many rows, 1 to ${MAX_LIMIT}`, integer("--limit", 1, MAX_LIMIT), DEFAULT_LIMIT)
    .addOption(afterOption("evaluations"))
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev evaluations", "the 50 newest evaluations"],
        ["reev evaluations --limit 2", "the two newest, to compare them"],
        ["reev evaluations --after <cursor>", "the next 50, as the previous page's last line says"],
        ["reev evaluations --json | jq -r '.evaluations[].evaluationId'", "their ids, for a script"],
      ]),
    )
    .action(async (options: EvaluationsOptions) => {
      ctx.exitCode = await withDatabase(options.db, "read", (db) =>
        evaluationsCommand(db, { limit: options.limit, after: options.after }, { json: options.json ?? false }, ctx.io),
      );
    });
}

const count = (n: number | undefined) => (n === undefined ? "—" : String(n));

/** `reev evaluations`: a table, or `{ "evaluations": [...], "more": boolean, "nextCursor" }` with --json. */
export async function evaluationsCommand(db: Database, query: EvaluationsQuery, options: { json: boolean }, io: CliIO): Promise<number> {
  const page = await db.writer.listEvaluationRuns({ limit: query.limit, cursor: query.after ?? null });
  const { items } = page;
  const nextCursor = page.nextCursor ? encodePageCursor("evaluations", page.nextCursor) : null;
  if (options.json) {
    writeJson(io, { evaluations: items.map(evaluationJson), more: nextCursor !== null, nextCursor });
    return 0;
  }
  if (!items.length && query.after) {
    io.stdout.write(`No evaluations older than the --after cursor in ${db.description}.\n`);
    return 0;
  }
  if (!items.length) {
    const next =
      inMemoryNote() ??
      `Record one by evaluating your flow files (or a directory of them); ${reevCommand(`eval ${examplesArgument()}`)} evaluates the bundled examples.`;
    io.stdout.write(`No evaluations in ${db.description}.\n${next}\n`);
    return 0;
  }
  const marks = items.map((e) => runMark(e));
  const rows = items.map((e, i) => {
    // Runs and passes are the stored report's: none while it runs, nor when it ended without one.
    const report = storedSummary(e);
    return [
      e.id,
      e.name === null ? "—" : clip(e.name, 30),
      markedStatus(e, marks[i]),
      clip(e.model ? `${e.agent}/${e.model}` : e.agent, 40),
      utcTime(e.startedAt),
      count(report?.runs),
      count(report?.passes),
    ];
  });
  io.stdout.write(
    `${renderTable(["evaluation", "name", "status", "agent/model", "started (UTC)", "runs", "passes"], rows, new Set([5, 6]))}\n`,
  );
  writeMarkHelp(marks, "evaluation", io);
  if (nextCursor !== null) {
    // One page on by key, with the same limit: a copy never repeats or skips an evaluation.
    const args = `evaluations${query.limit === DEFAULT_LIMIT ? "" : ` --limit ${query.limit}`} --after ${shellWord(nextCursor)}`;
    io.stdout.write(`Older evaluations are stored: ${reevCommand(args)} shows the next ${query.limit}.\n`);
  }
  return 0;
}
