import { randomBytes } from "node:crypto";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { readMigrationList } from "../migrate/migration-files.js";
import { type Database, maskUrl, type OpenDatabaseOptions, openDatabase } from "../open-database.js";
import { MIGRATIONS_DIR } from "../paths.js";
import { ensurePgliteTemplate, templateFingerprint } from "../pglite-template.js";

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

/** Test databases are named after the base database, so whoever owns that (a CI run) can find and drop leftovers. */
const testPrefix = (baseUrl: string) => `${(decodeURIComponent(new URL(baseUrl).pathname.slice(1)) || "postgres").slice(0, 40)}_t_`;

const databaseUrl = (baseUrl: string, name: string) => {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

async function withAdmin<T>(baseUrl: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: baseUrl });
  try {
    await admin.connect();
    return await work(admin);
  } finally {
    await admin.end().catch(() => {});
  }
}

const migratedTemplates = new Map<string, Promise<string>>();

/**
 * The name of a database on the server of `baseUrl` migrated with reev's migrations, which test
 * databases are copied from (`CREATE DATABASE … TEMPLATE`) instead of each being migrated: migrating
 * one took 1–2 s of the test run's CPU (the schema engine), and a CI run makes about a hundred. Named
 * by the migrations' hash, so every test process of a run shares one and a changed migration gets a
 * new one; built under an advisory lock by the first process that needs it, under a temporary name
 * until it is complete. It stays for later runs (a CI run's is dropped with its `_t_` databases).
 */
function migratedTemplate(baseUrl: string): Promise<string> {
  let template = migratedTemplates.get(baseUrl);
  if (!template) {
    template = buildMigratedTemplate(baseUrl);
    migratedTemplates.set(baseUrl, template);
  }
  return template;
}

async function buildMigratedTemplate(baseUrl: string): Promise<string> {
  // The PGlite template's fingerprint: the migrations (and PGlite's version, which a server copy does not need but does no harm).
  const name = `${testPrefix(baseUrl)}template_${templateFingerprint(await readMigrationList(MIGRATIONS_DIR)).slice(0, 16)}`;
  await withAdmin(baseUrl, async (admin) => {
    await admin.query("SELECT pg_advisory_lock(hashtext($1))", [name]);
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (rowCount) return;
      const building = `${testPrefix(baseUrl)}${randomBytes(6).toString("hex")}`;
      await admin.query(`CREATE DATABASE "${building}"`);
      await (await openDatabase({ url: databaseUrl(baseUrl, building), migrate: true })).close();
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    } finally {
      await admin.query("SELECT pg_advisory_unlock(hashtext($1))", [name]);
    }
  });
  return name;
}

/**
 * Creates a database on the server of `baseUrl`; `drop()` removes it (even if still connected).
 * Empty, or with `migrated` up to date with reev's migrations (copied from a migrated template), as
 * `reev migrate` would leave it, for tests of other things than migrating: a server database is never
 * migrated implicitly.
 */
export async function createPostgresDatabase(
  baseUrl: string,
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${testPrefix(baseUrl)}${randomBytes(6).toString("hex")}`;
  try {
    const template = options.migrated ? await migratedTemplate(baseUrl) : undefined;
    await withAdmin(baseUrl, (admin) => admin.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`));
  } catch (error) {
    throw new Error(`Could not create a test database on ${maskUrl(baseUrl)}: ${(error as Error).message}`, { cause: error });
  }
  return {
    url: databaseUrl(baseUrl, name),
    drop: () => withAdmin(baseUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
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
  // A server database is migrated only when asked: a fresh test database is, unless the test says
  // otherwise. With reev's own migrations it is copied migrated; opening it checks it is up to date.
  const migrate = options.migrate ?? true;
  const created = await createPostgresDatabase(backend.url, { migrated: migrate === true && options.migrationsDir === undefined });
  try {
    return await openDatabase({ ...options, migrate, url: created.url, afterClose: created.drop });
  } catch (error) {
    await created.drop();
    throw error;
  }
}
