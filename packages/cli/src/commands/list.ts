import {
  type Database,
  EXECUTION_STATUSES,
  encodePageCursor,
  type ListExecutionsInput,
  type PageCursorKey,
  shownConsolidation,
} from "@reev/db";
import { formatDuration, runVerdict } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { executionStatusLabel, utcTime } from "../format.js";
import { inMemoryNote, reevCommand, shellWord } from "../hint.js";
import { executionJson } from "../json-views.js";
import { runMark, writeMarkHelp } from "../liveness.js";
import { meantFlow } from "../meant-flow.js";
import { type DbOptions, dbOption, examples, integer, type JsonOptions, jsonOption, oneOf } from "../options.js";
import { afterOption } from "../page-cursor.js";
import { renderTable } from "../text-table.js";

/** `--status`, here and in reev purge: one parser, so a typo gets the same "Did you mean running?" in both. */
export const executionStatus = oneOf("--status", "status", EXECUTION_STATUSES);

/** The database returns at most this many rows per call. */
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 50;

type ListOptions = DbOptions &
  JsonOptions & {
    status?: ListExecutionsInput["status"];
    flow?: string | undefined;
    limit: number;
    offset: number;
    after?: PageCursorKey | undefined;
  };

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command("list")
    .summary("list the recorded executions")
    .description("List the recorded executions, newest first.")
    .option("--status <status>", `only executions in this status: ${EXECUTION_STATUSES.join(", ")}`, executionStatus)
    .option("--flow <flowId>", "only executions of this flow")
    .option("--limit <n>", `at most this many rows, 1 to ${MAX_LIMIT}`, integer("--limit", 1, MAX_LIMIT), DEFAULT_LIMIT)
    .addOption(afterOption("executions"))
    .option(
      "--offset <n>",
      "skip this many rows first (may repeat or skip rows while runs are recorded: --after does not)",
      integer("--offset", 0),
      0,
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev list", "the 50 newest executions"],
        ["reev list --status failed --limit 10", "the 10 newest failed ones"],
        ["reev list --flow jup-multiply-usdc", "the runs of one flow"],
        ["reev list --limit 5 --after <cursor>", "the next five, as the previous page's last line says"],
        ["reev list --json | jq -r '.executions[].executionId'", "their ids, for a script"],
      ]),
    )
    .action(async (options: ListOptions) => {
      const query = {
        ...(options.status ? { status: options.status } : {}),
        ...(options.flow === undefined ? {} : { flowId: options.flow }),
        limit: options.limit,
        offset: options.offset,
        ...(options.after ? { after: { startedAt: options.after.startedAt, executionId: options.after.id } } : {}),
      };
      ctx.exitCode = await withDatabase(options.db, "read", (db) => listCommand(db, query, { json: options.json ?? false }, ctx.io));
    });
}

/** `reev list`: a table, or `{ "executions": [...], "more", "nextCursor" }` with --json. */
export async function listCommand(db: Database, query: ListExecutionsInput, options: { json: boolean }, io: CliIO): Promise<number> {
  const { executions, next } = await db.writer.listExecutionSessionsPage(query);
  // Each run judged by its stored checks as `reev show` judges it: a run that completed but failed a
  // check is not "✅ completed" here and "❌ completed, failed a check" there.
  const checks = await db.writer.getChecksOfExecutions(executions.map((e) => e.executionId));
  const verdicts = executions.map((e) => {
    const stored = checks.get(e.executionId);
    return stored ? runVerdict(stored, (i) => stored.stepIds.get(i)) : null;
  });
  const limit = query.limit ?? DEFAULT_LIMIT;
  const offset = query.offset ?? 0;
  const nextCursor = next ? encodePageCursor("executions", { startedAt: next.startedAt, id: next.executionId }) : null;
  if (options.json) {
    // allChecks: the whole run's verdict, as `reev show --json` names it (null when its flow had no expect).
    writeJson(io, {
      executions: executions.map((e, i) => ({ ...executionJson(e), allChecks: verdicts[i] ?? null })),
      more: nextCursor !== null,
      nextCursor,
    });
    return 0;
  }
  if (!executions.length) {
    const which = `${query.flowId === undefined ? "" : ` of flow "${query.flowId}"`}${query.status ? ` with status ${query.status}` : ""}${query.after ? " older than the --after cursor" : ""}${query.offset ? ` past the first ${query.offset}` : ""}`;
    const memory = inMemoryNote();
    const next = memory
      ? `${memory}\n`
      : which
        ? ""
        : `Record one with ${reevCommand("run <flow-file>")}, or try ${reevCommand("demo")}.\n`;
    const meant = query.flowId === undefined ? "" : await meantFlow(db, query.flowId);
    io.stdout.write(`No executions${which} in ${db.description}${offset ? await storedBefore(db, query, offset) : ""}.${meant}\n${next}`);
    return 0;
  }
  const marks = executions.map((e) => runMark(e));
  const rows = executions.map((e, i) => [
    e.executionId,
    e.flowId,
    executionStatusLabel(e.status, marks[i], verdicts[i] ?? null),
    utcTime(e.startedAt),
    formatDuration(e.durationMs),
    shownConsolidation(e.status, e.consolidation).status,
  ]);
  io.stdout.write(`${renderTable(["execution", "flow", "status", "started (UTC)", "duration", "consolidation"], rows, new Set([4]))}\n`);
  writeMarkHelp(marks, "run", io);
  if (nextCursor !== null) {
    // The same query, one page on by key (an offset would shift as runs are recorded, repeating rows):
    // without the status, the flow and the limit, the copy would page another list.
    const args = `list${query.status ? ` --status ${query.status}` : ""}${query.flowId === undefined ? "" : ` --flow ${shellWord(query.flowId)}`}${limit === DEFAULT_LIMIT ? "" : ` --limit ${limit}`} --after ${shellWord(nextCursor)}`;
    io.stdout.write(`More executions are stored: ${reevCommand(args)} shows the next ${limit}.\n`);
  }
  return 0;
}

/** An --offset past the end: how many the list holds, so the user knows where its end is (": only 47 are stored"). */
async function storedBefore(db: Database, query: ListExecutionsInput, offset: number): Promise<string> {
  const stored = (await db.writer.listExecutionSessions({ ...query, offset: 0, limit: Math.min(offset, MAX_LIMIT) })).length;
  if (stored === 0) return "";
  if (stored === MAX_LIMIT && offset > MAX_LIMIT) return `: between ${MAX_LIMIT} and ${offset} are stored`;
  return `: only ${stored} ${stored === 1 ? "is" : "are"} stored`;
}
