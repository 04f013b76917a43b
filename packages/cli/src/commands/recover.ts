import type { AbandonedEvaluation, AbandonedExecution, Database } from "@reev/db";
import { consolidateExecution, errorMessage } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, changedNow, withDatabase, writeJson } from "../context.js";
import { counted, utcTime } from "../format.js";
import { reevCommand, shellWord } from "../hint.js";
import {
  exitAtOnce,
  type InterruptNotices,
  type InterruptSignal,
  interruptExitCode,
  interruptHeard,
  interruptionOf,
  stopNotices,
  takesOverInterrupts,
  withInterrupts,
  writeInterrupted,
} from "../interrupt.js";
import { abandonedEvaluationJson, abandonedJson } from "../json-views.js";
import { staleAfterMs } from "../liveness.js";
import { type DbOptions, dbOption, duration, examples, type JsonOptions, jsonOption } from "../options.js";
import { clip, renderTable } from "../text-table.js";

/** The database keeps the stale threshold as a 32-bit count of milliseconds (24.8 days): the longest whole day under it. */
const MAX_STALE_AFTER_MS = 24 * 86_400_000;

type RecoverFlags = DbOptions & JsonOptions & { staleAfter?: number; olderThan?: number; dryRun: boolean };
export type RecoverQuery = { staleAfterMs: number; olderThanMs?: number | undefined; dryRun: boolean };
type Consolidated = { status: string; consolidatedSessionId: string | null; error: string | null };

export function registerRecover(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before it opens anything: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("recover"))
    .summary("finish the runs and evaluations whose process is gone")
    .description(
      // Commander wraps it to the terminal's width: hard line breaks would leave ragged lines.
      "Finish every run whose process is gone (killed, crashed, the machine lost power): roll back its open " +
        "transaction, finish it as failed, and consolidate its committed steps. Then finish every evaluation " +
        "(reev eval) whose process is gone as incomplete. A live run or evaluation is never touched. " +
        "Ctrl-C lets the run under way be finished and consolidated (each run is its own transaction), then stops; " +
        "running it again finishes the rest.",
    )
    .option("--dry-run", "list what would be finished, and change nothing", false)
    .option(
      "--stale-after <age>",
      "a run owned by another host counts as gone when its heartbeat is older than this: 90s, 5m, 1h, at most 24d (default $REEV_STALE_AFTER_MS in ms, else 2m)",
      duration("--stale-after", { positive: true, maxMs: MAX_STALE_AFTER_MS }),
    )
    .option(
      "--older-than <age>",
      "also finish runs recorded without an owner (by an older reev) that show no sign of life for this long: 30m, 12h, 7d; 0d is all of them",
      duration("--older-than"),
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      [
        examples([
          ["reev recover --dry-run", "what would be finished, and why"],
          ["reev recover", "finish them"],
          ["reev recover --json", "the same, for a script"],
          ["reev recover --stale-after 10m", "runs of other hosts count as gone after 10 minutes without a heartbeat"],
        ]),
        "",
        "A run is gone when its process on this host has exited (or its pid now belongs to another process),",
        "or, for a run on another host, when its heartbeat (refreshed every 10 s while it runs) is stale.",
      ].join("\n"),
    )
    .action(async (flags: RecoverFlags) => {
      const query = { staleAfterMs: flags.staleAfter ?? staleAfterMs(), olderThanMs: flags.olderThan, dryRun: flags.dryRun };
      const json = flags.json ?? false;
      const progress = new RecoverProgress();
      const { value, interrupted } = await withInterrupts(
        ctx.io,
        (signal) =>
          withDatabase(flags.db, flags.dryRun ? "read" : "update", (db) => recoverCommand(db, query, { json, signal, progress }, ctx.io)),
        { notices: recoverNotices(query.dryRun, json, progress) },
      );
      ctx.exitCode = interrupted ? interruptExitCode(interrupted) : value;
    });
}

/** Consolidates a finished run's committed steps; a failure is reported, not thrown: the run stays finished. */
async function consolidate(db: Database, found: AbandonedExecution): Promise<Consolidated> {
  try {
    const done = await consolidateExecution(db, found.execution.executionId);
    return { status: "completed", consolidatedSessionId: done.consolidatedSessionId, error: null };
  } catch (error) {
    return { status: "failed", consolidatedSessionId: null, error: errorMessage(error) };
  }
}

const utc = (date: Date | null) => (date ? utcTime(date) : "—");

/**
 * Where a recovery stands, for the notices of a signal: the runs found (undefined until they are
 * listed), finished, the one under way, and whether the evaluations are being finished.
 */
export class RecoverProgress {
  found: number | undefined;
  finished = 0;
  current: string | undefined;
  evaluations = false;
}

/** Only the same signal again exits at once (another one is "already stopping", see withInterrupts). */

/** What stopping does now, at the point the recovery has reached: said as it is, never a run that is not under way. */
function stoppingWords(progress: RecoverProgress): string {
  const { current, finished, found, evaluations } = progress;
  if (current)
    return `finishing run ${current}, under way (rolled back, finished as failed and consolidated), then stopping; the other runs are left as they are.`;
  if (evaluations) return "letting the evaluations under way be finished (each in one transaction), then stopping.";
  if (finished === 0)
    return `no run is under way yet: stopping before any is finished, so nothing is changed${found ? ` (the ${counted(found, "abandoned run")} found are left as they are)` : ""}.`;
  if (found !== undefined && finished >= found)
    return `every abandoned run is finished (${finished}); stopping before any evaluation is looked at.`;
  return `stopping before the next run: the ${finished} finished stay finished, the other runs are left as they are.`;
}

/**
 * What Ctrl-C means during a recover: it stops between two runs. Each run is rolled back and finished
 * in one transaction, then consolidated; the one under way is let finish both, the others are left as
 * they are, for the next recover. A dry run changes nothing, so it simply ends.
 */
export function recoverNotices(dryRun: boolean, json: boolean, progress: RecoverProgress): InterruptNotices {
  return stopNotices(json, {
    first: (name) =>
      dryRun
        ? `Interrupted (${name}): a dry run changes nothing; reev exits once it has listed what it found. ${exitAtOnce(name)}`
        : `Interrupted (${name}): ${stoppingWords(progress)} ${exitAtOnce(name)}`,
    again: (name) => {
      if (dryRun) return `${name} again: exiting at once. Nothing was changed (a dry run).`;
      const { current, finished, found } = progress;
      const done = `${finished} of ${counted(found ?? 0, "abandoned run")} finished`;
      const underWay = current
        ? ` Run ${current} was under way: finished whole or not at all, but perhaps not consolidated (${reevCommand(`status ${shellWord(current)}`)} says; ${reevCommand(`consolidate ${shellWord(current)}`)} consolidates it).`
        : "";
      return `${name} again: exiting at once, ${done}.${underWay} Run ${reevCommand("recover")} again to finish the rest.`;
    },
  });
}

/** What a signal left, said last: how many runs were finished, and that recover again finishes the rest. */
function interruptedWords(
  signal: InterruptSignal,
  report: { found: number; finished: number; evaluationsLooked: boolean },
  dryRun: boolean,
): string {
  const again = `Run ${reevCommand("recover")} again to finish the rest.`;
  if (dryRun) return `Interrupted (${signal}): nothing was changed (a dry run).`;
  if (report.finished === 0 && report.found > 0)
    return `Interrupted (${signal}) before any run was finished: nothing was changed. ${again}`;
  if (report.finished < report.found)
    return `Interrupted (${signal}): finished ${report.finished} of ${counted(report.found, "abandoned run")} (above), ${counted(report.found - report.finished, "run")} left untouched, and no evaluation was looked at. ${again}`;
  if (!report.evaluationsLooked)
    return `Interrupted (${signal}): every abandoned run is finished, but no evaluation was looked at. Run ${reevCommand("recover")} again to finish the evaluations.`;
  return `Interrupted (${signal}) once everything was finished: nothing is left to recover.`;
}

type RecoverRun = { signal?: AbortSignal; progress?: RecoverProgress };

/**
 * Finishes the abandoned runs one at a time, each consolidated as soon as it is finished, until a
 * signal is heard between two. Returns the runs finished and their consolidations, in order.
 */
async function recoverRuns(
  db: Database,
  found: AbandonedExecution[],
  { signal, progress = new RecoverProgress() }: RecoverRun,
  io: CliIO | undefined,
): Promise<{ runs: AbandonedExecution[]; consolidations: Consolidated[]; processed: number }> {
  const runs: AbandonedExecution[] = [];
  const consolidations: Consolidated[] = [];
  progress.found = found.length;
  for (const [i, run] of found.entries()) {
    if (await interruptHeard(signal)) return { runs, consolidations, processed: i };
    progress.current = run.execution.executionId;
    const done = await db.writer.recoverAbandonedExecution(run);
    // Finished or alive again meanwhile: not this recover's, and not reported.
    const consolidated = done && (await consolidate(db, done));
    // Done before it is said: a signal heard as the line goes out finds no run under way.
    progress.current = undefined;
    progress.finished = i + 1;
    if (done && consolidated) {
      runs.push(done);
      consolidations.push(consolidated);
      io?.stderr.write(
        `Finished ${done.execution.executionId} as failed; consolidation ${consolidated.status} (${i + 1} of ${found.length}).\n`,
      );
    }
  }
  return { runs, consolidations, processed: found.length };
}

/**
 * `reev recover`: finishes abandoned runs, then abandoned evaluations (or, with --dry-run, lists them)
 * and prints tables, or JSON. Given withInterrupts' signal, a signal stops it between two runs (see
 * recoverNotices); the report then says what was finished and what is left.
 */
export async function recoverCommand(
  db: Database,
  query: RecoverQuery,
  options: { json: boolean } & RecoverRun,
  io: CliIO,
): Promise<number> {
  // An embedded database made or migrated as it opened: said, as reev run says it.
  const changed = changedNow(db);
  if (changed && !options.json) io.stderr.write(`Database: ${db.description}${changed}\n`);
  const limits = { staleAfterMs: query.staleAfterMs, ...(query.olderThanMs === undefined ? {} : { olderThanMs: query.olderThanMs }) };
  const abandoned = await db.writer.listAbandonedExecutions(limits);
  const {
    runs: found,
    consolidations,
    processed,
  } = query.dryRun
    ? {
        runs: abandoned,
        consolidations: abandoned.map((): Consolidated => ({ status: "would consolidate", consolidatedSessionId: null, error: null })),
        processed: abandoned.length,
      }
    : await recoverRuns(db, abandoned, options, options.json ? undefined : io);
  // After the runs: an evaluation is finished only once none of its runs still runs, so none is
  // looked at once a signal stopped the runs (or came before the evaluations).
  const stopped = processed < abandoned.length;
  const evaluationsLooked = query.dryRun || !(stopped || (await interruptHeard(options.signal)));
  if (evaluationsLooked && !query.dryRun && options.progress) options.progress.evaluations = true;
  const evaluations = !evaluationsLooked
    ? []
    : query.dryRun
      ? await db.writer.listAbandonedEvaluations(limits)
      : await db.writer.recoverAbandonedEvaluations(limits);
  const failed = consolidations.filter((c) => c.status === "failed").length;
  const signal = interruptionOf(options.signal);
  const interrupted = signal && interruptedWords(signal, { found: abandoned.length, finished: processed, evaluationsLooked }, query.dryRun);
  if (options.json) {
    writeJson(io, {
      dryRun: query.dryRun,
      staleAfterMs: query.staleAfterMs,
      olderThanMs: query.olderThanMs ?? null,
      complete: !stopped && evaluationsLooked,
      runs: found.map((run, i) => abandonedJson(run, consolidations[i] as Consolidated)),
      evaluations: evaluations.map(abandonedEvaluationJson),
    });
    if (interrupted) writeInterrupted(io, true, interrupted);
    return failed ? 1 : 0;
  }
  if (!found.length && !evaluations.length && !interrupted) {
    const running = (await db.writer.listExecutionSessions({ status: "running", limit: 1000 })).length;
    const live = running ? ` (${running === 1 ? "1 run is" : `${running} runs are`} still running, owned by a live process)` : "";
    io.stdout.write(`No abandoned runs or evaluations in ${db.description}${live}.\n`);
    return 0;
  }
  if (found.length) writeRuns(found, consolidations, query.dryRun, io);
  if (evaluations.length) writeEvaluations(evaluations, query.dryRun, io);
  if (failed)
    io.stdout.write(`${failed} consolidation(s) failed: see ${reevCommand("status <executionId>")}, the runs themselves are finished.\n`);
  if (interrupted) writeInterrupted(io, false, interrupted);
  return failed ? 1 : 0;
}

function writeRuns(found: AbandonedExecution[], consolidations: Consolidated[], dryRun: boolean, io: CliIO): void {
  const count = found.length === 1 ? "1 abandoned run" : `${found.length} abandoned runs`;
  io.stdout.write(
    dryRun
      ? `Would finish ${count} as failed (a dry run: nothing changed; run again without --dry-run):\n`
      : `Finished ${count} as failed: open transactions rolled back, committed steps consolidated.\n`,
  );
  const rows = found.map((run, i) => {
    const c = consolidations[i] as Consolidated;
    return [
      run.execution.executionId,
      owner(run.execution.owner),
      utc(run.execution.heartbeatAt),
      String(run.pendingSteps),
      String(run.committedSteps),
      c.error ? `${c.status}: ${clip(c.error, 50)}` : c.status,
      clip(run.reason, 70),
    ];
  });
  io.stdout.write(
    `${renderTable(["execution", "owner", "last heartbeat (UTC)", "rolled back", "committed", "consolidation", "why"], rows, new Set([3, 4]))}\n`,
  );
}

function writeEvaluations(found: AbandonedEvaluation[], dryRun: boolean, io: CliIO): void {
  const count = found.length === 1 ? "1 abandoned evaluation" : `${found.length} abandoned evaluations`;
  io.stdout.write(
    dryRun
      ? `Would finish ${count} as incomplete, once its runs are finished (a dry run: nothing changed):\n`
      : `Finished ${count} as incomplete: its runs are final, nothing was counted, and reev purge can now remove them ` +
          `(${reevCommand("purge --older-than 0d --dry-run")} counts every finished run, these included, and deletes nothing).\n`,
  );
  const rows = found.map((e) => [
    e.evaluation.id,
    owner(e.evaluation.owner),
    utc(e.evaluation.heartbeatAt),
    String(e.executions),
    clip(e.reason, 70),
  ]);
  io.stdout.write(`${renderTable(["evaluation", "owner", "last heartbeat (UTC)", "runs", "why"], rows, new Set([3]))}\n`);
}

const owner = (o: { host: string; pid: number } | null) => (o ? `${o.pid}@${o.host}` : "—");
