import type { Database } from "@reev/db";
import { consolidateAgain, consolidationReport, droppedCostWarning, type PriceTable } from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { costNoteFields, metricsLine, unrunStepsField } from "../format.js";
import { inMemoryNote, reevCommand, shellWord } from "../hint.js";
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
import { executionWithConsolidationJson } from "../json-views.js";
import { recoverWords, runMark } from "../liveness.js";
import { type DbOptions, dbOption, examples, executionIdArgument, type JsonOptions, jsonOption } from "../options.js";
import { loadPrices, PRICES_HELP, pricesOption } from "../prices.js";
import { renderFields } from "../text-table.js";
import { requireExecution } from "./execution-view.js";

type ConsolidateFlags = DbOptions & JsonOptions & { prices?: string | undefined };

export function registerConsolidate(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before it opens anything: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("consolidate"))
    .summary("consolidate a finished run")
    .description(
      "Consolidate a finished run: its committed steps into one consolidated session with the run's metrics, " +
        "which reev diagram draws. For a run recorded with --no-consolidate, or whose consolidation failed; " +
        "a run consolidated already gets a new session, and the newest is the one shown and drawn.",
    )
    .addArgument(executionIdArgument())
    .addOption(pricesOption("model prices per million tokens (YAML or JSON): the run's consolidated cost"))
    .addOption(dbOption())
    .addOption(jsonOption("print the run as reev status --json does (errors as JSON too, on stderr)"))
    .addHelpText(
      "after",
      [
        examples([
          ["reev consolidate <executionId>", "after reev run --no-consolidate"],
          ["reev consolidate <executionId> --prices prices.yaml", "again, with the cost of its tokens"],
        ]),
        "",
        PRICES_HELP,
        "Ctrl-C before the consolidation begins stops it (nothing changed); once it has begun, it is let finish (one transaction).",
        "Exit codes: 0 consolidated, 1 the consolidation failed, 2 bad input (a run still running, an unknown id), 130/143 interrupted.",
      ].join("\n"),
    )
    .action(async (executionId: string, flags: ConsolidateFlags) => {
      // Read and checked before the database is opened: a bad price file changes nothing.
      const prices = await loadPrices(flags.prices);
      const json = flags.json ?? false;
      const { value, interrupted } = await withInterrupts(
        ctx.io,
        (signal) => withDatabase(flags.db, "update", (db) => consolidateCommand(db, executionId, { prices, json, signal }, ctx.io)),
        { notices: consolidateNotices(executionId, json) },
      );
      ctx.exitCode = interrupted ? interruptExitCode(interrupted) : value;
    });
}

/**
 * What Ctrl-C means during a consolidate: one transaction, so nothing to stop halfway. Before it begins
 * the command stops there; once begun it is let finish, and the report is printed as usual.
 */
function consolidateNotices(executionId: string, json: boolean): InterruptNotices {
  return stopNotices(json, {
    first: (name) =>
      `Interrupted (${name}): a consolidation under way is let finish (it is one transaction); one not begun is not begun. ${exitAtOnce(name)}`,
    again: (name) =>
      `${name} again: exiting at once. A consolidation under way is rolled back whole: the run keeps the consolidation it had (its status may read in_progress). Run ${reevCommand(`consolidate ${shellWord(executionId)}`)} again to consolidate it.`,
  });
}

/** What a signal during a consolidate left, said last. */
function interruptedWords(signal: InterruptSignal, executionId: string, consolidated: boolean): string {
  return consolidated
    ? `Interrupted (${signal}) while consolidating: the consolidation was let finish and is stored (above).`
    : `Interrupted (${signal}) before the consolidation began: nothing was changed. Run ${reevCommand(`consolidate ${shellWord(executionId)}`)} again to consolidate it.`;
}

/**
 * `reev consolidate`: what the API's POST /executions/{id}/consolidate does, for a finished run only: a
 * running one is consolidated when it finishes, or by reev recover once its process is gone.
 */
export async function consolidateCommand(
  db: Database,
  executionId: string,
  options: { prices: PriceTable | null; json: boolean; signal?: AbortSignal },
  io: CliIO,
): Promise<number> {
  const e = await requireExecution(db, executionId);
  if (e.status === "running") {
    const abandoned = runMark(e) === "abandoned";
    throw new CliError(
      "INVALID_ARGUMENT",
      `Execution "${executionId}" is still running${abandoned ? ", but its process is gone" : ""}: only a finished run is consolidated.`,
      {
        field: "executionId",
        hint: abandoned
          ? `${recoverWords()}.`
          : `It is consolidated when it finishes; ${reevCommand(`status ${shellWord(executionId)}`)} says where it stands.`,
      },
    );
  }
  // Said before it begins: a run of thousands of steps takes a while.
  if (!options.json) io.stderr.write(`Consolidating ${executionId} in ${db.description}…\n`);
  const before = await interruptHeard(options.signal);
  if (before) {
    writeInterrupted(io, options.json, interruptedWords(before, executionId, false));
    return 0;
  }
  const done = await consolidateAgain(db, executionId, { prices: options.prices });
  // Heard while it ran (it was let finish): said after the report.
  const signal = await interruptHeard(options.signal);
  // Read again: the record holds the consolidation's new status, which the report goes by.
  const consolidated = await requireExecution(db, executionId);
  const report = await consolidationReport(db, consolidated);
  const warning = done.droppedCost
    ? droppedCostWarning(
        done.droppedCost,
        `To keep it, consolidate with a price file: ${reevCommand(`consolidate ${shellWord(executionId)} --prices FILE`)}`,
      )
    : undefined;
  if (options.json) {
    // stderr is for the error's JSON line alone: the warning goes with the answer.
    writeJson(io, { ...executionWithConsolidationJson(consolidated, report), ...(warning ? { warning } : {}) });
    if (signal) writeInterrupted(io, true, interruptedWords(signal, executionId, true));
    return 0;
  }
  if (warning) io.stderr.write(`Warning: ${warning}\n`);
  const fields: [string, string][] = [
    ["Consolidated", `${executionId}: ${done.consolidatedSessionId}`],
    ["Metrics", metricsLine(done.metadata)],
    ...costNoteFields(executionId, done.costGaps),
    ...unrunStepsField(consolidated, report.recordedSteps),
  ];
  const drawn = reevCommand(`diagram ${shellWord(executionId)} --format html --out run.html`);
  io.stdout.write(`${renderFields(fields)}\n${inMemoryNote() ?? `Next: ${drawn}`}\n`);
  if (signal) writeInterrupted(io, false, interruptedWords(signal, executionId, true));
  return 0;
}
