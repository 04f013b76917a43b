// A command about one execution the user names: `reev show`, `reev status`, and any later view of a
// run take the same argument and options and fail the same way when the id is unknown.
import { type Database, type ExecutionSessionRecord, executionIdsContaining } from "@reev/db";
import { nearWords, OrchestratorError } from "@reev/orchestrator";
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
