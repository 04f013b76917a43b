import { randomBytes } from "node:crypto";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { type Database, maskUrl, type OpenDatabaseOptions, openDatabase } from "../open-database.js";
import { MIGRATIONS_DIR } from "../paths.js";
import { ensurePgliteTemplate } from "../pglite-template.js";

/**
 * Test databases for @reev/db and its users: in-memory PGlite always, PostgreSQL as well when
 * REEV_TEST_DATABASE_URL is set. Every call gets a database of its own, so test files run in parallel.
 * Nothing here imports vitest: the bench creates its scratch PostgreSQL databases with it too.
 */
export type TestBackend = { name: "pglite" } | { name: "postgres"; url: string };

export function testBackends(): TestBackend[] {
  const url = process.env.REEV_TEST_DATABASE_URL;
  return url ? [{ name: "pglite" }, { name: "postgres", url }] : [{ name: "pglite" }];
}

const templates = new Map<string, Promise<Uint8Array>>();

/**
 * The migrated PGlite template, held in memory once per process and migration set: each in-memory
 * test database is cloned from it instead of paying initdb (~3.5 s here).
 */
function pgliteTemplate(migrationsDir = MIGRATIONS_DIR): Promise<Uint8Array> {
  let template = templates.get(migrationsDir);
  if (!template) {
    template = ensurePgliteTemplate(migrationsDir);
    templates.set(migrationsDir, template);
  }
  return template;
}

/** Creates an empty database on the server of `baseUrl`; `drop()` removes it (even if still connected). */
export async function createPostgresDatabase(
  baseUrl: string,
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
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
  // `migrated`: brought up to date first, as `reev migrate` would, for tests of other things than
  // migrating (a server database is never migrated implicitly).
  if (options.migrated) await (await openDatabase({ url: url.toString(), migrate: true })).close();
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

/**
 * How a test database is opened: anything `openDatabase` takes but where it is, and `wrapAdapter`,
 * which fault-injection tests pass (an internal option of `openDatabase`, so it is named here again).
 */
export type TestDatabaseOptions = Omit<OpenDatabaseOptions, "url" | "pgliteTemplate" | "afterClose"> & {
  wrapAdapter?: (adapter: SqlDriverAdapterFactory) => SqlDriverAdapterFactory;
};

/** A fresh, migrated database on `backend`; `close()` also drops a PostgreSQL test database. */
export async function openTestDatabase(backend: TestBackend, options: TestDatabaseOptions = {}): Promise<Database> {
  if (backend.name === "pglite") {
    return openDatabase({ ...options, url: "memory://", pgliteTemplate: await pgliteTemplate(options.migrationsDir) });
  }
  const created = await createPostgresDatabase(backend.url);
  try {
    // A server database is migrated only when asked: a fresh test database is, unless the test says otherwise.
    return await openDatabase({ migrate: true, ...options, url: created.url, afterClose: created.drop });
  } catch (error) {
    await created.drop();
    throw error;
  }
}
