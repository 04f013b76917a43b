import {
  type Database,
  DEFAULT_PURGE_BATCH,
  type FinalExecutionStatus,
  MAX_PURGE_BATCH,
  type PurgeReport,
  ZFinalExecutionStatus,
} from "@reev/db";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { counted, utcStamp } from "../format.js";
import { commaList, type DbOptions, dbOption, duration, examples, integer, type JsonOptions, jsonOption, oneOf } from "../options.js";
import { renderTable } from "../text-table.js";

type PurgeFlags = DbOptions &
  JsonOptions & { olderThan?: number; status?: FinalExecutionStatus[]; flow?: string; dryRun: boolean; batch: number };

/** What `reev purge` was asked, as its report repeats it. */
export type PurgeQuery = {
  olderThanMs: number;
  statuses?: FinalExecutionStatus[] | undefined;
  flowId?: string | undefined;
  dryRun: boolean;
  batchSize: number;
};

const finalStatus = oneOf("--status", "status", ZFinalExecutionStatus.options);

/** `--status`: the statuses a finished execution ends with; a running one is never purged, and says so. */
function purgeStatus(value: string): FinalExecutionStatus {
  if (value === "running") {
    throw invalidArgument("--status running: a running execution is never purged; name the final statuses to purge.", "--status");
  }
  return finalStatus(value);
}

export function registerPurge(program: Command, ctx: CliContext): void {
  program
    .command("purge")
    .summary("delete finished runs older than an age, with everything recorded about them")
    .description(
      // Commander wraps it to the terminal's width: hard line breaks would leave ragged lines.
      "Delete the executions that finished more than --older-than ago, with their steps, attempts, tool calls and " +
        "consolidated sessions, in batches (each its own short transaction, so live runs are not held up). " +
        "Never touched: a running execution, one with an open transaction, one being consolidated, one of an " +
        "evaluation still running. Prints how many rows of each table went.",
    )
    // Not commander's requiredOption: that check runs before the unknown-option check, so a typo such
    // as --older-then was reported as a missing --older-than instead of "did you mean".
    .option(
      "--older-than <age>",
      "runs that finished at least this long ago: 30d, 12h, 90m, 2w; 0d is every finished run",
      duration("--older-than"),
    )
    .option(
      "--status <statuses>",
      "only runs that ended so, comma-separated: completed,failed,timed_out,rolled_back,cancelled",
      commaList(purgeStatus),
    )
    .option("--flow <flowId>", "only runs of this flow")
    .option("--dry-run", "count what would be deleted, and delete nothing", false)
    .option("--batch <n>", "executions per batch, each its own transaction", integer("--batch", 1, MAX_PURGE_BATCH), DEFAULT_PURGE_BATCH)
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev purge --older-than 30d --dry-run", "what would go: rows per table"],
        ["reev purge --older-than 30d", "delete runs that finished over 30 days ago"],
        ["reev purge --older-than 7d --status failed,cancelled", "…only failed and cancelled ones, after a week"],
        ["reev purge --older-than 0d --flow my-flow --json", "every finished run of one flow, for a script"],
      ]),
    )
    .action(async (flags: PurgeFlags) => {
      if (flags.olderThan === undefined) {
        throw invalidArgument("reev purge needs --older-than, as in --older-than <age>.", "--older-than");
      }
      const query: PurgeQuery = {
        olderThanMs: flags.olderThan,
        statuses: flags.status,
        flowId: flags.flow,
        dryRun: flags.dryRun,
        batchSize: flags.batch,
      };
      // Opened as for reading, dry run or not: nothing is created or migrated, so a purge of a mistyped
      // --db says there is no database there instead of making one and finding nothing to purge.
      ctx.exitCode = await withDatabase(flags.db, "read", (db) => purgeCommand(db, query, { json: flags.json ?? false }, ctx.io));
    });
}

const TABLES: readonly [keyof PurgeReport["deleted"], string][] = [
  ["executions", "execution_sessions"],
  ["steps", "step_sessions"],
  ["stepAttempts", "step_attempts"],
  ["toolCalls", "tool_calls"],
  ["consolidatedSessions", "consolidated_sessions"],
];

const batches = (n: number) => counted(n, "batch", "batches");
const rows = (report: PurgeReport) => TABLES.reduce((sum, [key]) => sum + report.deleted[key], 0);

/** Progress on stderr, at most once a second: only a long purge shows any (and none with --json: see purgeCommand). */
function progressPrinter(io: CliIO, dryRun: boolean): (report: PurgeReport) => void {
  let last = performance.now();
  return (report) => {
    if (performance.now() - last < 1_000) return;
    last = performance.now();
    io.stderr.write(
      `${dryRun ? "Counted" : "Purged"} ${counted(report.deleted.executions, "execution")} (${counted(rows(report), "row")}) in ${batches(report.batches)} so far…\n`,
    );
  };
}

/** `reev purge`: deletes (or, with --dry-run, counts) the finished runs older than the age, and reports rows per table. */
export async function purgeCommand(db: Database, query: PurgeQuery, options: { json: boolean }, io: CliIO): Promise<number> {
  const report = await db.writer.purgeExecutions(
    {
      olderThanMs: query.olderThanMs,
      ...(query.statuses ? { statuses: query.statuses } : {}),
      ...(query.flowId === undefined ? {} : { flowId: query.flowId }),
      dryRun: query.dryRun,
      batchSize: query.batchSize,
    },
    // With --json, stderr carries the error's JSON line and nothing else: a script reads it as the error.
    options.json ? {} : { onBatch: progressPrinter(io, query.dryRun) },
  );
  if (options.json) {
    writeJson(io, {
      dryRun: report.dryRun,
      olderThanMs: query.olderThanMs,
      cutoff: report.cutoff.toISOString(),
      statuses: query.statuses ?? null,
      flowId: query.flowId ?? null,
      batchSize: query.batchSize,
      batches: report.batches,
      deleted: report.deleted,
    });
    return 0;
  }
  const filters = `${query.statuses ? ` (${query.statuses.join(", ")})` : ""}${query.flowId === undefined ? "" : ` of flow ${query.flowId}`}`;
  const before = `finished before ${utcStamp(report.cutoff)}`;
  const runs = `${counted(report.deleted.executions, "run")}${filters} that ${before}`;
  if (!report.deleted.executions) {
    io.stdout.write(`Nothing to purge in ${db.description}: no run${filters} ${before}.\n`);
    return 0;
  }
  io.stdout.write(
    query.dryRun
      ? `Would purge ${runs} from ${db.description} (a dry run: nothing changed; run again without --dry-run):\n`
      : `Purged ${runs} from ${db.description}, in ${batches(report.batches)}:\n`,
  );
  const table = TABLES.map(([key, name]) => [name, String(report.deleted[key])]);
  io.stdout.write(`${renderTable(["table", query.dryRun ? "rows to delete" : "rows deleted"], table, new Set([1]))}\n`);
  return 0;
}
