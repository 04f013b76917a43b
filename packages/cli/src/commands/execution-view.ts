// A command about one execution the user names: `reev show`, `reev status`, and any later view of a
// run take the same argument and options and fail the same way when the id is unknown.
import { type Database, type ExecutionSessionRecord, listExecutionsPage } from "@reev/db";
import { OrchestratorError } from "@reev/orchestrator";
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
  const near = await idsContaining(db, executionId);
  throw new OrchestratorError("NOT_FOUND", `No execution "${executionId}" in ${db.description}.${nearWords(near)}`, {
    path: "executionId",
  });
}

/** How many stored ids a not-found message names at most. */
const NAMED = 3;

/**
 * Stored execution ids that contain what was typed, newest first (at most a page): an id selected
 * short of its end, or only its middle. The list's search also matches flows and prompts, so only
 * the ids are kept. Under three characters nearly every id would match. A failure to look is not
 * the user's problem: the not-found error stands on its own.
 */
async function idsContaining(db: Database, text: string): Promise<{ ids: string[]; more: boolean }> {
  const none = { ids: [], more: false };
  if (text.trim().length < 3) return none;
  const page = await listExecutionsPage(db, { q: text, limit: 50 }).catch(() => null);
  if (!page) return none;
  const ids = page.executions.map((e) => e.executionId).filter((id) => id.toLowerCase().includes(text.toLowerCase()));
  return { ids, more: page.next !== null };
}

function nearWords({ ids, more }: { ids: string[]; more: boolean }): string {
  if (ids.length === 0) return "";
  if (ids.length === 1) return ` Did you mean ${ids[0]}?`;
  const count = more ? `At least ${ids.length}` : String(ids.length);
  if (ids.length <= NAMED) return ` ${count} execution ids contain it: ${ids.join(", ")}.`;
  return ` ${count} execution ids contain it; the newest ${NAMED}: ${ids.slice(0, NAMED).join(", ")}.`;
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
