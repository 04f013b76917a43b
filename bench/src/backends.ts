import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, maskUrl, openDatabase } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/internal";
import pg from "pg";
import type { BackendKey } from "./bench-config.js";
import type { CleanupScope } from "./cleanup.js";
import { pgClientDriver, pgliteDriver, pgPoolDriver, type RawDriver } from "./raw-driver.js";
import { openWithPGlite } from "./writer-pglite.js";

/** PrismaPg opens a `pg.Pool` with pg's default size; the raw pool is as big. */
const PRISMA_PG_POOL_SIZE = 10;

/**
 * One database, reached by both sides: the writer (`openDatabase`) and the raw driver. On PGlite the
 * raw side queries the writer's own engine; on PostgreSQL it connects to the same fresh database.
 */
export type Backend = {
  key: BackendKey;
  name: string;
  description: string;
  db: Database;
  /** One connection: a `pg.Client`, or the PGlite engine. */
  raw: RawDriver;
  /** For concurrent writes: a `pg.Pool` as big as the writer's, or the PGlite engine again (it has one connection). */
  rawPool: RawDriver;
  poolSize: number;
  /** The URL a child process opens to reach this database (PostgreSQL), if it can (PGlite is in-process). */
  childUrl: string | undefined;
};

async function pgliteBackend(scope: CleanupScope, key: BackendKey, url: string, description: string): Promise<Backend> {
  const { db, pglite } = await openWithPGlite(url);
  scope.defer(`close ${db.description}`, () => db.close());
  const raw = pgliteDriver(pglite);
  return {
    key,
    name: key === "memory" ? "PGlite in-memory" : "PGlite directory",
    description,
    db,
    raw,
    rawPool: raw,
    poolSize: 1,
    childUrl: undefined,
  };
}

export function openPGliteMemory(scope: CleanupScope): Promise<Backend> {
  return pgliteBackend(scope, "memory", "memory://", "in-memory PGlite");
}

export async function openPGliteDir(scope: CleanupScope): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "reev-bench-"));
  scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return pgliteBackend(scope, "dir", join(dir, "db"), `embedded PGlite in ${dir}/db`);
}

/** The server's version; throws with the reason when it cannot be reached. */
async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const rows = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows;
    return rows[0]?.v.split(" ")[0] ?? "?";
  } catch (error) {
    throw new Error(`PostgreSQL at ${maskUrl(url)} cannot be reached: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh database on the server (dropped at the end), shared by the writer and the raw driver. */
export async function openPostgres(scope: CleanupScope, baseUrl: string): Promise<Backend> {
  const version = await postgresVersion(baseUrl);
  const created = await createPostgresDatabase(baseUrl);
  scope.defer(`drop the bench database ${maskUrl(created.url)}`, () => created.drop());
  // A fresh server database: migrating it is the explicit step openDatabase never takes on its own.
  const db: Database = await openDatabase({ url: created.url, migrate: true });
  scope.defer(`close ${db.description}`, () => db.close());
  const raw = await pgClientDriver(created.url);
  scope.defer("close the raw pg client", () => raw.close());
  const rawPool = pgPoolDriver(created.url, PRISMA_PG_POOL_SIZE);
  scope.defer("close the raw pg pool", () => rawPool.close());
  return {
    key: "postgres",
    name: `PostgreSQL ${version}`,
    description: `fresh database ${maskUrl(created.url)}`,
    db,
    raw,
    rawPool,
    poolSize: PRISMA_PG_POOL_SIZE,
    childUrl: created.url,
  };
}
