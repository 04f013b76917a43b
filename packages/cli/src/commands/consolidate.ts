import type { Database } from "@reev/db";
import { consolidateAgain, consolidationReport, droppedCostWarning, type PriceTable } from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { costNoteFields, metricsLine, unrunStepsField } from "../format.js";
import { inMemoryNote, reevCommand, shellWord } from "../hint.js";
import { executionWithConsolidationJson } from "../json-views.js";
import { recoverWords, runMark } from "../liveness.js";
import { type DbOptions, dbOption, examples, executionIdArgument, type JsonOptions, jsonOption } from "../options.js";
import { loadPrices, PRICES_HELP, pricesOption } from "../prices.js";
import { renderFields } from "../text-table.js";
import { requireExecution } from "./execution-view.js";

type ConsolidateFlags = DbOptions & JsonOptions & { prices?: string | undefined };

export function registerConsolidate(program: Command, ctx: CliContext): void {
  program
    .command("consolidate")
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
        "Exit codes: 0 consolidated, 1 the consolidation failed, 2 bad input (a run still running, an unknown id).",
      ].join("\n"),
    )
    .action(async (executionId: string, flags: ConsolidateFlags) => {
      // Read and checked before the database is opened: a bad price file changes nothing.
      const prices = await loadPrices(flags.prices);
      ctx.exitCode = await withDatabase(flags.db, "update", (db) =>
        consolidateCommand(db, executionId, { prices, json: flags.json ?? false }, ctx.io),
      );
    });
}

/**
 * `reev consolidate`: what the API's POST /executions/{id}/consolidate does, for a finished run only: a
 * running one is consolidated when it finishes, or by reev recover once its process is gone.
 */
export async function consolidateCommand(
  db: Database,
  executionId: string,
  options: { prices: PriceTable | null; json: boolean },
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
  const done = await consolidateAgain(db, executionId, { prices: options.prices });
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
  return 0;
}
