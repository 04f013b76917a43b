import type { PGlite } from "@electric-sql/pglite";
import { type Database, openDatabase } from "@reev/db";
import { pgliteOf } from "@reev/db/internal";

/**
 * Opens a PGlite database through `openDatabase` and hands back the writer's own PGlite engine too,
 * so the raw side queries the very same database (same engine, same single connection) instead of
 * a twin.
 */
export async function openWithPGlite(url: string): Promise<{ db: Database; pglite: PGlite }> {
  const db = await openDatabase({ url });
  const pglite = pgliteOf(db);
  if (!pglite) {
    await db.close();
    throw new Error(`${url} did not open an embedded PGlite database`);
  }
  return { db, pglite };
}
