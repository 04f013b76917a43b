import { type Database, markedStatus } from "@reev/db";
import { storedSummary } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { examplesArgument } from "../examples-dir.js";
import { utcTime } from "../format.js";
import { inMemoryNote, reevCommand } from "../hint.js";
import { evaluationJson } from "../json-views.js";
import { runMark, writeMarkHelp } from "../liveness.js";
import { type DbOptions, dbOption, examples, integer, type JsonOptions, jsonOption } from "../options.js";
import { clip, renderTable } from "../text-table.js";

/** The database returns at most this many evaluations per call. */
const MAX_LIMIT = 1000;

type EvaluationsOptions = DbOptions & JsonOptions & { limit: number };

export function registerEvaluations(program: Command, ctx: CliContext): void {
  program
    .command("evaluations")
    .summary("list the recorded evaluations (reev eval)")
    .description("List the evaluations reev eval recorded, newest first: the ids reev compare and reev eval --baseline take. Reads only.")
    .option("--limit <n>", `at most this many rows, 1 to ${MAX_LIMIT}`, integer("--limit", 1, MAX_LIMIT), 50)
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev evaluations", "the 50 newest evaluations"],
        ["reev evaluations --limit 2", "the two newest, to compare them"],
        ["reev evaluations --json | jq -r '.evaluations[].evaluationId'", "their ids, for a script"],
      ]),
    )
    .action(async (options: EvaluationsOptions) => {
      ctx.exitCode = await withDatabase(options.db, "read", (db) =>
        evaluationsCommand(db, { limit: options.limit }, { json: options.json ?? false }, ctx.io),
      );
    });
}

const count = (n: number | undefined) => (n === undefined ? "—" : String(n));

/** `reev evaluations`: a table, or `{ "evaluations": [...], "more": boolean }` with --json. */
export async function evaluationsCommand(db: Database, query: { limit: number }, options: { json: boolean }, io: CliIO): Promise<number> {
  const { items, nextCursor } = await db.writer.listEvaluationRuns({ limit: query.limit });
  if (options.json) {
    writeJson(io, { evaluations: items.map(evaluationJson), more: nextCursor !== null });
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
    io.stdout.write(
      query.limit < MAX_LIMIT
        ? `${query.limit === 1 ? "Only the newest is shown" : `Only the ${query.limit} newest are shown`}: ${reevCommand(`evaluations --limit ${MAX_LIMIT}`)} shows more.\n`
        : `Only the ${MAX_LIMIT} newest are shown.\n`,
    );
  }
  return 0;
}
