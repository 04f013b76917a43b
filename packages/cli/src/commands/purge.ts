import {
  DEFAULT_PURGE_BATCH,
  EXECUTION_STATUSES,
  type FinalExecutionStatus,
  listExecutionsPage,
  MAX_PURGE_BATCH,
  type PurgeReport,
  ZFinalExecutionStatus,
} from "@reev/db";
import { closestWord, orList } from "@reev/orchestrator";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { counted, utcStamp } from "../format.js";
import { reevCommand } from "../hint.js";
import {
  exitAtOnce,
  type InterruptNotices,
  type InterruptSignal,
  interruptExitCode,
  stopNotices,
  takesOverInterrupts,
  withInterrupts,
  writeInterrupted,
} from "../interrupt.js";
import { meantFlow } from "../meant-flow.js";
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

/**
 * `--status`: the statuses a finished execution ends with. `running`, or a slip of it (`runing`), is
 * answered with why it cannot be purged, never with a "Did you mean running?" that is then refused.
 */
function purgeStatus(value: string): FinalExecutionStatus {
  if (value === "running" || closestWord(value, EXECUTION_STATUSES) === "running") {
    throw invalidArgument(
      `--status ${value}: a running execution is never purged; name the statuses of finished runs to purge: ${orList(ZFinalExecutionStatus.options)}.`,
      "--status",
    );
  }
  return finalStatus(value);
}

export function registerPurge(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before it opens anything: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("purge"))
    .summary("delete finished runs older than an age, with everything recorded about them")
    .description(
      // Commander wraps it to the terminal's width: hard line breaks would leave ragged lines.
      "Delete the executions that finished more than --older-than ago, with their steps, attempts, tool calls and " +
        "consolidated sessions, in batches (each its own short transaction, so live runs are not held up). " +
        "Never touched: a running execution, one with an open transaction, one being consolidated, one of an " +
        "evaluation still running. Prints how many rows of each table went. Ctrl-C stops it between two batches " +
        "and prints what went until then; the same command again purges the rest.",
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
      ctx.exitCode = await purgeCommand(flags.db, query, { json: flags.json ?? false }, ctx.io);
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
function progressPrinter(io: CliIO, dryRun: boolean, now: () => number): (report: PurgeReport) => void {
  let last = now();
  return (report) => {
    if (now() - last < 1_000) return;
    last = now();
    io.stderr.write(
      `${dryRun ? "Counted" : "Purged"} ${counted(report.deleted.executions, "execution")} (${counted(rows(report), "row")}) in ${batches(report.batches)} so far…\n`,
    );
  };
}

/**
 * What Ctrl-C means during a purge: it stops between two batches. Each batch is its own transaction,
 * so what the report counts is gone and the rest is untouched. With --json, stderr stays empty but for
 * the error line a script takes as the error (the second signal's, or the report's: see purgeCommand).
 */
function purgeNotices(dryRun: boolean, json: boolean): InterruptNotices {
  return stopNotices(json, {
    first: (name) => `Interrupted (${name}): stopping once the batch under way is ${dryRun ? "counted" : "committed"}. ${exitAtOnce(name)}`,
    again: (name) =>
      dryRun
        ? `${name} again: exiting at once, before the count was done. Nothing was changed.`
        : `${name} again: exiting at once. The batches done are purged; the one under way is rolled back, and the rest is untouched. Run the same command again to purge the rest.`,
  });
}

/**
 * `reev purge`: deletes (or, with --dry-run, counts) the finished runs older than the age, and reports
 * rows per table. Ctrl-C stops it between two batches; the report then says what went before it.
 * `now` is the progress line's clock: a test gives one that runs fast, as "a purge long enough to show
 * progress" is a matter of time, and a fast database finished the test's purge within the second.
 */
export async function purgeCommand(
  url: string | undefined,
  query: PurgeQuery,
  options: { json: boolean; now?: () => number },
  io: CliIO,
): Promise<number> {
  const { value, interrupted } = await withInterrupts(
    io,
    (signal) =>
      // Opened as for reading, dry run or not: nothing is created or migrated, so a purge of a mistyped
      // --db says there is no database there instead of making one and finding nothing to purge.
      withDatabase(url, "read", async (db) => {
        const report = await db.writer.purgeExecutions(
          {
            olderThanMs: query.olderThanMs,
            ...(query.statuses ? { statuses: query.statuses } : {}),
            ...(query.flowId === undefined ? {} : { flowId: query.flowId }),
            dryRun: query.dryRun,
            batchSize: query.batchSize,
          },
          // With --json, stderr carries the error's JSON line and nothing else: a script reads it as the error.
          options.json ? { signal } : { signal, onBatch: progressPrinter(io, query.dryRun, options.now ?? (() => performance.now())) },
        );
        // Nothing of a flow that has no run at all is a misspelt --flow more often than a clean database.
        const unknownFlow =
          query.flowId !== undefined &&
          report.deleted.executions === 0 &&
          (await listExecutionsPage(db, { flowId: query.flowId, limit: 1 })).executions.length === 0;
        const meant = unknownFlow && query.flowId !== undefined ? await meantFlow(db, query.flowId) : "";
        return { report, where: db.description, unknownFlow, meant };
      }),
    { notices: purgeNotices(query.dryRun, options.json) },
  );
  // A signal that came once the last batch was done stopped nothing: the purge is complete, and says so.
  const stopped = value.report.complete ? undefined : interrupted;
  writeReport(value, query, options, io, stopped);
  return stopped ? interruptExitCode(stopped) : 0;
}

/** The report: text, or JSON (`complete: false` when a signal stopped it), and for a stopped purge what that left. */
function writeReport(
  { report, where, unknownFlow, meant }: { report: PurgeReport; where: string; unknownFlow: boolean; meant: string },
  query: PurgeQuery,
  options: { json: boolean },
  io: CliIO,
  stopped: InterruptSignal | undefined,
): void {
  const unfinished = stopped && interruptedWords(report, query.dryRun, stopped);
  if (options.json) {
    writeJson(io, {
      dryRun: report.dryRun,
      olderThanMs: query.olderThanMs,
      cutoff: report.cutoff.toISOString(),
      statuses: query.statuses ?? null,
      flowId: query.flowId ?? null,
      batchSize: query.batchSize,
      batches: report.batches,
      complete: report.complete,
      deleted: report.deleted,
    });
    // Exit 130 says it stopped; the one line on stderr says what that left, as an error does.
    if (unfinished) writeInterrupted(io, true, unfinished);
    return;
  }
  const filters = `${query.statuses ? ` (${query.statuses.join(", ")})` : ""}${query.flowId === undefined ? "" : ` of flow ${query.flowId}`}`;
  const before = `finished before ${utcStamp(report.cutoff)}`;
  const runs = `${counted(report.deleted.executions, "run")}${filters} that ${before}`;
  if (report.deleted.executions) {
    io.stdout.write(
      query.dryRun
        ? `Would purge ${runs} from ${where} (a dry run: nothing changed; run again without --dry-run):\n`
        : `Purged ${runs} from ${where}, in ${batches(report.batches)}:\n`,
    );
    const table = TABLES.map(([key, name]) => [name, String(report.deleted[key])]);
    io.stdout.write(`${renderTable(["table", query.dryRun ? "rows to delete" : "rows deleted"], table, new Set([1]))}\n`);
  } else if (unknownFlow && !unfinished) {
    io.stdout.write(
      `Nothing to purge in ${where}: no run of flow ${query.flowId} is stored at all.${meant} ${reevCommand("list")} shows the stored runs and their flows.\n`,
    );
  } else if (!unfinished) {
    io.stdout.write(`Nothing to purge in ${where}: no run${filters} ${before}.\n`);
  }
  if (unfinished) writeInterrupted(io, false, unfinished);
}

/** What a purge stopped by a signal leaves, and how to go on: the same command again starts where it stopped. */
function interruptedWords(report: PurgeReport, dryRun: boolean, signal: InterruptSignal): string {
  const counted = report.deleted.executions > 0;
  if (dryRun) {
    return counted
      ? `Interrupted (${signal}): the count above is only part of it, and nothing was changed. Run the same command again for the whole count.`
      : `Interrupted (${signal}) before anything was counted: nothing was changed. Run the same command again to count.`;
  }
  return counted
    ? `Interrupted (${signal}) between two batches: the runs counted above are gone, and the rest is untouched. Run the same command again to purge the rest.`
    : `Interrupted (${signal}) before the first batch: nothing was purged. Run the same command again to purge.`;
}
