import type { PGlite } from "@electric-sql/pglite";
import { type Database, openDatabase } from "@reev/db";

/**
 * Opens a PGlite database through `openDatabase` and hands back the writer's own PGlite engine too,
 * so the raw side queries the very same database (same engine, same single connection) instead of
 * a twin. `openDatabase` keeps its engine private; its internal `wrapAdapter` hook sees the Prisma
 * adapter factory, which holds the engine as `client` (pglite-prisma-adapter 0.7). If that ever
 * changes, this fails loudly rather than measuring something else.
 */
export async function openWithPGlite(url: string): Promise<{ db: Database; pglite: PGlite }> {
  let engine: unknown;
  const db = await openDatabase({
    url,
    wrapAdapter: (factory) => {
      engine = (factory as unknown as { client?: unknown }).client;
      return factory;
    },
  });
  const looksLikePGlite = (v: unknown): v is PGlite =>
    typeof (v as PGlite | undefined)?.query === "function" && typeof (v as PGlite).transaction === "function";
  if (!looksLikePGlite(engine)) {
    await db.close();
    throw new Error("cannot reach the writer's PGlite engine (the Prisma adapter no longer exposes it as `client`)");
  }
  return { db, pglite: engine };
}
