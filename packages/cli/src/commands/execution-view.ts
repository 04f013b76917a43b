// A command about one execution the user names: `reev show`, `reev status`, and any later view of a
// run take the same argument and options and fail the same way when the id is unknown.
import { type Database, type ExecutionIdsContaining, type ExecutionSessionRecord, executionIdsContaining } from "@reev/db";
import { didYouMean, OrchestratorError } from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import { reevCommand } from "../hint.js";
import { type DbOptions, dbOption, examples, executionIdArgument, type JsonOptions, jsonOption } from "../options.js";

/**
 * The execution the user named, or NOT_FOUND saying in which database it was looked for; an
 * evaluation's id given instead is told as such, with the commands that take one.
 */
export async function requireExecution(db: Database, executionId: string): Promise<ExecutionSessionRecord> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (execution) return execution;
  if (await db.writer.getEvaluationRun(executionId)) {
    throw new CliError("NOT_FOUND", `"${executionId}" is an evaluation in ${db.description}, not an execution.`, {
      field: "executionId",
      hint: `${reevCommand("evaluations")} lists the evaluations and ${reevCommand("compare <A> <B>")} compares two; ${reevCommand("list")} lists the executions.`,
      exitCode: 2,
    });
  }
  // A failure to look is not the user's problem: the not-found error stands on its own.
  const near = await executionIdsContaining(db, executionId).catch(() => ({ ids: [], more: false }));
  throw new OrchestratorError("NOT_FOUND", `No execution "${executionId}" in ${db.description}.${nearWords(near, "execution ids")}`, {
    path: "executionId",
  });
}

/** How many stored ids a not-found message names at most. */
const NAMED = 3;

/** The stored ids that contain a not-found one (a cut-short id), as a not-found message ends: "Did you mean …?", or how many and which. */
export function nearWords({ ids, more }: ExecutionIdsContaining, noun: string): string {
  if (ids.length === 0) return "";
  if (ids.length === 1) return didYouMean(ids[0]);
  const count = more ? `At least ${ids.length}` : String(ids.length);
  if (ids.length <= NAMED) return ` ${count} ${noun} contain it: ${ids.join(", ")}.`;
  return ` ${count} ${noun} contain it; the newest ${NAMED}: ${ids.slice(0, NAMED).join(", ")}.`;
}

/** A read command about one execution: its words, and what it prints (text, or JSON with --json). */
export type ExecutionView = {
  name: string;
  summary: string;
  description: string;
  examples: readonly (readonly [command: string, what: string])[];
  print: (db: Database, executionId: string, options: { json: boolean }, io: CliIO) => Promise<number>;
};

/** `reev NAME <executionId> [--db URL] [--json]`. */
export function registerExecutionView(program: Command, ctx: CliContext, view: ExecutionView): void {
  program
    .command(view.name)
    .summary(view.summary)
    .description(view.description)
    .addArgument(executionIdArgument())
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText("after", examples(view.examples))
    .action(async (executionId: string, options: DbOptions & JsonOptions) => {
      ctx.exitCode = await withDatabase(options.db, "read", (db) => view.print(db, executionId, { json: options.json ?? false }, ctx.io));
    });
}
