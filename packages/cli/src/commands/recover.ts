import type { Database } from "@reev/db";
import { formatDuration } from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase, writeJson } from "../context.js";
import { openTransactionJson } from "../json-views.js";
import { type DbOptions, dbOption, examples, integer, type JsonOptions, jsonOption } from "../options.js";
import { renderTable } from "../text-table.js";

/**
 * `reev recover` rolls back transactions older than this unless told otherwise: a live atomic run
 * keeps its transaction open while agents think, and recovering it would undo a run in progress.
 */
const RECOVER_DEFAULT_AGE_MS = 60 * 60 * 1000;

type RecoverOptions = DbOptions & JsonOptions & { olderThan: number; dryRun: boolean };

export function registerRecover(program: Command, ctx: CliContext): void {
  program
    .command("recover")
    .summary("roll back transactions a crashed run left open")
    .description("Roll back execution transactions a crashed run left open; its committed steps stay.")
    .option(
      "--older-than <ms>",
      "only transactions open at least this long, in milliseconds (a live atomic run holds one)",
      integer("--older-than", 0),
      RECOVER_DEFAULT_AGE_MS,
    )
    .option("--dry-run", "list what would be rolled back, and change nothing", false)
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev recover --dry-run", "what would be rolled back (open for over an hour)"],
        ["reev recover --older-than 600000", "roll back transactions open for over 10 minutes"],
      ]),
    )
    .action(async (options: RecoverOptions) => {
      const query = { olderThanMs: options.olderThan, dryRun: options.dryRun };
      ctx.exitCode = await withDatabase(options.db, options.dryRun ? "read" : "write", (db) =>
        recoverCommand(db, query, { json: options.json ?? false }, ctx.io),
      );
    });
}

/** `reev recover`: a table of the transactions rolled back (or, with --dry-run, that would be), or JSON. */
export async function recoverCommand(
  db: Database,
  query: { olderThanMs: number; dryRun: boolean },
  options: { json: boolean },
  io: CliIO,
): Promise<number> {
  const open = query.dryRun ? await db.writer.listOpenTransactions(query) : await db.writer.recoverOpenTransactions(query);
  if (options.json) {
    writeJson(io, { dryRun: query.dryRun, olderThanMs: query.olderThanMs, transactions: open.map(openTransactionJson) });
    return 0;
  }
  if (!open.length) {
    io.stdout.write(`No open transactions older than ${formatDuration(query.olderThanMs)} in ${db.description}.\n`);
    return 0;
  }
  const count = open.length === 1 ? "1 open transaction" : `${open.length} open transactions`;
  io.stdout.write(
    query.dryRun
      ? `Would roll back ${count} (a dry run: nothing changed; run again without --dry-run to roll back):\n`
      : `Rolled back ${count}: their pending steps are gone, the committed steps stay.\n`,
  );
  const rows = open.map((t) => [
    t.executionId,
    t.transactionId,
    t.openedAt.toISOString().replace("T", " ").slice(0, 19),
    String(t.pendingSteps),
  ]);
  io.stdout.write(`${renderTable(["execution", "transaction", "opened (UTC)", "pending steps"], rows, new Set([3]))}\n`);
  return 0;
}
