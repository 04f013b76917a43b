import { type Database, type OpenDatabaseOptions, openDatabase } from "@reev/db";
import { openFailure, schemaFailure } from "./error-report.js";
import { counted } from "./format.js";

/** Where a command writes: results to `stdout`, progress and diagnostics to `stderr`. */
export type CliIO = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** What every command's action gets: the streams, and where it leaves its exit code. */
export type CliContext = { io: CliIO; exitCode: number };

/**
 * What a command does with its database. `read`: nothing is created or migrated, and a database that
 * is missing or not up to date is an error that says how to migrate it. `write`: the embedded database
 * is created or migrated as needed, a PostgreSQL one must be up to date. `update`: as `write`, but the
 * database must exist already (reev recover, reev consolidate change runs the user has, and reev serve
 * --db shows them: a mistyped --db is refused, not made into a new database where nothing is found). `migrate`: any database is
 * migrated first.
 */
export type DatabaseIntent = "read" | "write" | "update" | "migrate";

const OPEN_POLICY: Record<DatabaseIntent, Pick<OpenDatabaseOptions, "migrate" | "create">> = {
  read: { migrate: "read" },
  write: { migrate: "embedded" },
  update: { migrate: "embedded", create: false },
  migrate: { migrate: true },
};

/**
 * Creating or migrating a database is a change to the user's, said where a writing command names its
 * database, not done in silence: " (new: created now)" for an embedded directory this open made (a
 * mistyped --db starts a new, empty database), " (migrated now: 2 migrations applied)" for --migrate on
 * a fresh PostgreSQL database or an embedded one behind this version, or nothing.
 */
export function changedNow(db: Database): string {
  const applied = db.appliedMigrations.length;
  return createdNow(db) || (applied ? ` (migrated now: ${counted(applied, "migration")} applied)` : "");
}

/** " (new: created now)" for an embedded directory this open made, or nothing. */
export const createdNow = (db: Database): string => (db.created ? " (new: created now)" : "");

/** Opens the database a command was pointed at (default: the embedded one) and always closes it. */
export async function withDatabase<T>(url: string | undefined, intent: DatabaseIntent, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ ...(url === undefined ? {} : { url }), ...OPEN_POLICY[intent] }).catch((error: unknown) => {
    throw schemaFailure(openFailure(error, url), url);
  });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** A command's result for scripts (`--json`): one JSON document on stdout. */
export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
