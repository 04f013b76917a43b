import { type Database, openDatabase } from "@reev/db";
import { openFailure } from "./error-report.js";

/** Where a command writes: results to `stdout`, progress and diagnostics to `stderr`. */
export type CliIO = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** What every command's action gets: the streams, and where it leaves its exit code. */
export type CliContext = { io: CliIO; exitCode: number };

/** Opens the database a command was pointed at (default: the embedded one) and always closes it. */
export async function withDatabase<T>(url: string | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(url === undefined ? {} : { url }).catch((error: unknown) => {
    throw openFailure(error, url);
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
