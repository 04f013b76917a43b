import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { migrateDeploy } from "../migrate/migrate.js";
import { type Database, maskUrl, type OpenDatabaseOptions, openDatabase } from "../open-database.js";
import { MIGRATIONS_DIR } from "../paths.js";

/**
 * Test databases for @reev/db and its users: in-memory PGlite always, PostgreSQL as well when
 * REEV_TEST_DATABASE_URL is set. Every call gets a database of its own, so test files run in parallel.
 */
export type TestBackend = { name: "pglite" } | { name: "postgres"; url: string };

export function testBackends(): TestBackend[] {
  const url = process.env.REEV_TEST_DATABASE_URL;
  return url ? [{ name: "pglite" }, { name: "postgres", url }] : [{ name: "pglite" }];
}

function migrationsFingerprint(): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    const file = join(MIGRATIONS_DIR, name, "migration.sql");
    if (existsSync(file)) hash.update(name).update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

let template: Promise<Blob> | undefined;

/**
 * A migrated PGlite data dump, built once per machine and migration set: a fresh PGlite costs ~3.5 s
 * to initialise, loading a dump well under one. Written atomically (rename), so parallel workers that
 * race to build it both end up reading a whole file.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const path = join(tmpdir(), `reev-pglite-template-${migrationsFingerprint()}.tar`);
    if (!existsSync(path)) {
      const db = new PGlite();
      try {
        await migrateDeploy(new PrismaPGlite(db));
        const dump = await db.dumpDataDir("none");
        const partial = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
        writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
        renameSync(partial, path);
      } finally {
        await db.close();
      }
    }
    return new Blob([readFileSync(path)]);
  })();
  return template;
}

/** Creates an empty database on the server of `baseUrl`; `drop()` removes it (even if still connected). */
export async function createPostgresDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  // Named after the base database, so whoever owns that (a CI run) can find and drop leftovers.
  const base = decodeURIComponent(new URL(baseUrl).pathname.slice(1)) || "postgres";
  const name = `${base.slice(0, 40)}_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
  } catch (error) {
    throw new Error(`Could not create a test database on ${maskUrl(baseUrl)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh, migrated database on `backend`; `close()` also drops a PostgreSQL test database. */
export async function openTestDatabase(
  backend: TestBackend,
  options: Omit<OpenDatabaseOptions, "url" | "pgliteDataDump"> = {},
): Promise<Database> {
  if (backend.name === "pglite") {
    return openDatabase({ ...options, url: "memory://", pgliteDataDump: await pgliteTemplate() });
  }
  const created = await createPostgresDatabase(backend.url);
  let db: Database;
  try {
    db = await openDatabase({ ...options, url: created.url });
  } catch (error) {
    await created.drop();
    throw error;
  }
  return {
    ...db,
    close: async () => {
      await db.close();
      await created.drop();
    },
  };
}
