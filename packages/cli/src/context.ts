import { type Database, openDatabase } from "@reev/db";

/** Where a command writes: results to `stdout`, progress and diagnostics to `stderr`. */
export type CliIO = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

/** Opens the database a command was pointed at (default: the embedded one) and always closes it. */
export async function withDatabase<T>(url: string | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(url === undefined ? {} : { url });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
