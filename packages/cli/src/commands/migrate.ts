import { resolveTarget } from "@reev/db";
import type { Command } from "commander";
import { invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, createdNow, withDatabase, writeJson } from "../context.js";
import { counted } from "../format.js";
import { type DbOptions, dbOption, examples, type JsonOptions, jsonOption } from "../options.js";

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .summary("bring a database's schema up to date")
    .description(
      "Apply the migrations this reev carries that the database has not applied yet, as prisma migrate deploy does. " +
        "A PostgreSQL database is only ever migrated this way (or with --migrate on run, demo and import); " +
        "the embedded database also migrates itself when a command writes to it. " +
        "A database that holds other tables but no migration history is refused.",
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

/** `reev migrate`: the migrations applied (or that there were none to apply), as text or JSON. */
export async function migrateCommand(url: string | undefined, options: { json: boolean }, io: CliIO): Promise<number> {
  if (resolveTarget(url).kind === "pglite-memory") {
    throw invalidArgument("memory:// is a new database every time, migrated as it is opened: there is nothing to migrate.", "--db");
  }
  return withDatabase(url, "migrate", async (db) => {
    const applied = db.appliedMigrations;
    if (options.json) {
      writeJson(io, { database: db.description, applied });
      return 0;
    }
    const count = counted(applied.length, "migration");
    // A directory made now (a mistyped --db makes one): said, as the writing commands say it.
    const made = createdNow(db);
    io.stdout.write(
      applied.length
        ? `Applied ${count} to ${db.description}${made}:\n${applied.map((name) => `  ${name}\n`).join("")}`
        : `${db.description}${made} is up to date.\n`,
    );
    return 0;
  });
}
