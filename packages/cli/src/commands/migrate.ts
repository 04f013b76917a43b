import { type ResolvedMigration, resolveTarget } from "@reev/db";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, createdNow, withDatabase, writeJson } from "../context.js";
import { counted } from "../format.js";
import { reevCommand } from "../hint.js";
import {
  exitAtOnce,
  type InterruptNotices,
  interruptExitCode,
  stopNotices,
  takesOverInterrupts,
  withInterrupts,
  writeInterrupted,
} from "../interrupt.js";
import { type DbOptions, dbOption, examples, type JsonOptions, jsonOption } from "../options.js";

export function registerMigrate(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before it opens anything: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("migrate"))
    .summary("bring a database's schema up to date")
    .description(
      "Apply the migrations this reev carries that the database has not applied yet, as prisma migrate deploy does. " +
        "A PostgreSQL database is only ever migrated this way (or with --migrate on run, demo and import); " +
        "the embedded database also migrates itself when a command writes to it. " +
        "A database that holds other tables but no migration history is refused. " +
        "Ctrl-C lets every pending migration finish (they are applied in one go; a migration stopped halfway would leave the database unusable), " +
        "then exits; a migration a killed migrate left unfinished is checked against the database's tables and " +
        "recorded as applied or applied again, or refused when the tables do not prove either.",
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples([
        ["reev migrate --db postgresql://reev@localhost/reev", "migrate a PostgreSQL database"],
        ["REEV_DATABASE_URL=postgresql://… reev migrate", "the same, the URL from the environment"],
        ["reev migrate", "the embedded database in ./.reev/db (created if missing)"],
      ]),
    )
    .action(async (options: DbOptions & JsonOptions) => {
      ctx.exitCode = await migrateCommand(options.db, { json: options.json ?? false }, ctx.io);
    });
}

/**
 * What Ctrl-C means during a migrate: nothing stops. The engine applies each migration as one
 * transaction and records it after; a process that dies in between leaves a history row that every
 * other command refuses until migrate resolves it. So the first signal only says it will finish.
 */
function migrateNotices(json: boolean): InterruptNotices {
  return stopNotices(json, {
    first: (name) =>
      `Interrupted (${name}): letting every pending migration finish (they are applied in one go), so the database is not left half-migrated. ${exitAtOnce(name)}`,
    again: (name) =>
      `${name} again: exiting at once. The migration under way may be left unfinished: run ${reevCommand("migrate")} again, and it finds out whether it was applied and finishes it.`,
  });
}

/** How a migration an earlier migrate left unfinished was resolved, as the first line of the report. */
function resolvedWords({ name, as }: ResolvedMigration): string {
  return as === "applied"
    ? `${name} had been left unfinished by an interrupted migrate; the database's tables show its SQL was applied, so it is now recorded as applied.\n`
    : `${name} had been left unfinished by an interrupted migrate; the database's tables show its SQL was not applied, so it was applied again.\n`;
}

type MigrateReport = { database: string; applied: readonly string[]; resolved: ResolvedMigration | undefined; made: string };

function writeReport({ database, applied, resolved, made }: MigrateReport, io: CliIO): void {
  if (resolved) io.stdout.write(resolvedWords(resolved));
  io.stdout.write(
    applied.length
      ? `Applied ${counted(applied.length, "migration")} to ${database}${made}:\n${applied.map((name) => `  ${name}\n`).join("")}`
      : `${database}${made} is up to date.\n`,
  );
}

/**
 * `reev migrate`: the migrations applied (or that there were none to apply), as text or JSON, and a
 * migration an interrupted migrate had left unfinished when it resolved one. A signal during it
 * exits 130/143 once the deploy is done (see migrateNotices).
 */
export async function migrateCommand(url: string | undefined, options: { json: boolean }, io: CliIO): Promise<number> {
  if (resolveTarget(url).kind === "pglite-memory") {
    throw invalidArgument("memory:// is a new database every time, migrated as it is opened: there is nothing to migrate.", "--db");
  }
  // The signal is not acted on: the deploy runs to its end, and only then does the command say so and exit.
  const { value: report, interrupted } = await withInterrupts(
    io,
    () =>
      withDatabase(url, "migrate", async (db) => ({
        database: db.description,
        applied: db.appliedMigrations,
        resolved: db.resolvedMigration,
        // A directory made now (a mistyped --db makes one): said, as the writing commands say it.
        made: createdNow(db),
      })),
    { notices: migrateNotices(options.json) },
  );
  if (options.json) {
    writeJson(io, { database: report.database, applied: report.applied, resolved: report.resolved ?? null });
  } else {
    writeReport(report, io);
  }
  if (!interrupted) return 0;
  writeInterrupted(io, options.json, interruptedWords(interrupted));
  return interruptExitCode(interrupted);
}

const interruptedWords = (signal: string) =>
  `Interrupted (${signal}): the migrations were let finish, so the database is complete and consistent; nothing is left to resolve.`;
