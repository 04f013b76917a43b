// Opening to read never changes a database; PostgreSQL is migrated only when asked; a non-empty
// database without migration history is never migrated into (P3005); near-miss URLs are refused.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newPGlite } from "../src/embedded-pglite.js";
import { type Database, DatabaseError, openDatabase, SchemaError } from "../src/index.js";
import { migrateDeploy, readSchemaState } from "../src/internal.js";
import { readMigrationList } from "../src/migrate/migration-files.js";
import { MIGRATIONS_DIR } from "../src/paths.js";
import { catalogSnapshot, createPostgresDatabase, olderMigrations, postgresCatalogSnapshot } from "../src/testing/index.js";
import { expectDbError } from "./helpers.js";
import { migrationBackends } from "./migration-backends.js";

const baseUrl = process.env.REEV_TEST_DATABASE_URL;

async function expectSchemaError(promise: Promise<unknown>, kind: SchemaError["problem"]["kind"]): Promise<SchemaError> {
  const error = await expectDbError(promise, "SCHEMA", "url");
  expect(error).toBeInstanceOf(SchemaError);
  expect((error as SchemaError).problem.kind).toBe(kind);
  expect(error.httpStatus).toBe(503);
  expect(error.retryable).toBe(false);
  return error as SchemaError;
}

async function pgliteCatalog(dataDir: string): Promise<string[]> {
  const pglite = newPGlite({ dataDir });
  try {
    return await catalogSnapshot(async (sql) => (await pglite.query<{ line: string }>(sql)).rows);
  } finally {
    await pglite.close();
  }
}

let temp: string;
let older: ReturnType<typeof olderMigrations>;
beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), "reev-read-only-"));
  older = olderMigrations();
});
afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
  older?.remove();
});

describe("--db values that are almost a known form", () => {
  const cases: [url: string, suggestion: string][] = [
    ["memory:", "Did you mean memory://"],
    ["memory:/", "Did you mean memory://"],
    ["MEMORY:x", "Did you mean memory://"],
    ["mem://", "Did you mean memory://"],
    ["postgres:/x", "Did you mean postgres://x?"],
    ["postgresql:/x", "Did you mean postgresql://x?"],
    ["postgresql:x", "Did you mean postgresql://x?"],
    ["postgres://", "Did you mean postgres://user@host:5432/db?"],
    ["postgre://h/db", "Did you mean postgresql://h/db?"],
    ["pg://h/db", "Did you mean postgresql://h/db?"],
    ["file:", "Did you mean a directory path"],
    ["file://", "Did you mean a directory path"],
    ["pglite:", "Did you mean a directory path"],
    ["pglite:data", "Did you mean data (a directory path"],
  ];

  it.each(cases)("%s is refused with a suggestion, and nothing is created", async (url, suggestion) => {
    const cwd = mkdtempSync(join(temp, "typo-"));
    for (const migrate of ["read", "embedded", true] as const) {
      const error = await expectDbError(openDatabase({ url, cwd, migrate }), "VALIDATION", "url");
      expect(error.message).toContain(suggestion);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("unknown schemes are refused too, password masked; a one-letter scheme is a Windows drive, a path", async () => {
    const cwd = mkdtempSync(join(temp, "scheme-"));
    const mysql = await expectDbError(openDatabase({ url: "mysql://root:s3cret@localhost/reev", cwd }), "VALIDATION", "url");
    expect(mysql.message).toBe(
      'Unsupported database URL "mysql://root:***@localhost/reev": use postgresql://user@host:5432/db, memory://, or a directory path.',
    );
    const colon = await expectDbError(openDatabase({ url: "backup:2024", cwd }), "VALIDATION", "url");
    expect(colon.message).toContain("or ./backup:2024 for a directory with a colon in its name");
    const masked = await expectDbError(openDatabase({ url: "postgres:/reev:s3cret@db/reev", cwd }), "VALIDATION", "url");
    expect(masked.message).not.toContain("s3cret");
    expect(masked.message).toContain("Did you mean postgres://reev:***@db/reev?");
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("reading the embedded database", () => {
  it("a directory that does not exist is not created, and no lock file appears beside it", async () => {
    const dir = join(temp, "nothing-here", "db");
    const error = await expectSchemaError(openDatabase({ url: dir, migrate: "read" }), "missing");
    expect(error.message).toBe(
      `There is no database at ${dir}: the directory does not exist. Check the url, or open it with \`migrate: true\` to create it.`,
    );
    // What reev's CLI says, with its own next step.
    expect(error.description).toBe(`There is no database at ${dir}: the directory does not exist.`);
    expect(existsSync(join(temp, "nothing-here"))).toBe(false);
  });

  it("an empty directory stays empty", async () => {
    const dir = join(temp, "empty-dir");
    mkdirSync(dir);
    const error = await expectSchemaError(openDatabase({ url: dir, migrate: "read" }), "missing");
    expect(error.description).toBe(`There is no database at ${dir}: the directory is empty.`);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });

  // Older migrations have no bundled template: the directory is made by PGlite's initdb, slow on a busy machine.
  it("one that is behind is reported and left as it was; a write migrates it, then reading works", async () => {
    const dir = join(temp, "behind");
    await (await openDatabase({ url: dir, migrationsDir: older.dir })).close();
    const before = await pgliteCatalog(dir);
    const error = await expectSchemaError(openDatabase({ url: dir, migrate: "read" }), "behind");
    expect(error.problem).toEqual({ kind: "behind", pending: older.missing });
    expect(error.message).toBe(
      `embedded PGlite at ${dir} is behind this version of reev: 1 migration (${older.missing[0]}) not applied yet. ` +
        "Open it with `migrate: true` (what `reev migrate` does) to apply them.",
    );
    expect(await pgliteCatalog(dir)).toEqual(before);

    const written = await openDatabase({ url: dir });
    expect(written.appliedMigrations).toEqual(older.missing);
    await written.close();
    const read = await openDatabase({ url: dir, migrate: "read" });
    try {
      expect(read.appliedMigrations).toEqual([]);
      expect(await read.writer.listExecutionSessions({})).toEqual([]);
    } finally {
      await read.close();
    }
  }, 180_000);

  it("memory:// can be read: it is new, so it is migrated (and gone on close)", async () => {
    const db = await openDatabase({ url: "memory://", migrate: "read" });
    try {
      expect(await db.writer.listExecutionSessions({})).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe("a non-empty database without migration history is never migrated into (Prisma's P3005)", () => {
  describe.each(migrationBackends({ migrated: false }))("on $name", (backend) => {
    it("migrateDeploy refuses in plain words, naming what it found, and changes nothing", async () => {
      const db = await backend.open();
      try {
        await db.query("CREATE TABLE customers (id int PRIMARY KEY)");
        await db.query("CREATE TYPE mood AS ENUM ('ok')");
        const before = await catalogSnapshot(db.query as (sql: string) => Promise<{ line: string }[]>);
        const error = await expectSchemaError(migrateDeploy(db.factory(), { database: "the customers database" }), "foreign");
        expect(error.message).toBe(
          "Refusing to migrate the customers database: it is not empty and has no reev migration history, and it holds tables or types (customers, mood) that reev did not create. Give reev an empty database of its own.",
        );
        expect(await catalogSnapshot(db.query as (sql: string) => Promise<{ line: string }[]>)).toEqual(before);
      } finally {
        await db.close();
      }
    });

    it("another application's Prisma history is foreign too; an empty database is empty", async () => {
      const db = await backend.open();
      try {
        const migrations = await readMigrationList(MIGRATIONS_DIR);
        expect(await readSchemaState(db.factory(), migrations)).toEqual({ kind: "empty" });
        await db.query(
          `CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
             migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
             applied_steps_count integer NOT NULL DEFAULT 0)`,
        );
        await db.query(
          `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
             VALUES ('1', 'x', now(), '20200101000000_their_app', 1)`,
        );
        await db.query("CREATE TABLE invoices (id int)");
        expect(await readSchemaState(db.factory(), migrations)).toEqual({ kind: "foreign", objects: ["invoices"], more: false });
        await expectSchemaError(migrateDeploy(db.factory()), "foreign");
      } finally {
        await db.close();
      }
    });
  });
});

describe.each(migrationBackends({ migrated: true }))("a migration that failed halfway, on $name", (backend) => {
  it("is reported as failed, not as up to date or behind", async () => {
    const db = await backend.open();
    try {
      const migrations = await readMigrationList(MIGRATIONS_DIR);
      expect(await readSchemaState(db.factory(), migrations)).toEqual({ kind: "current", unknown: [] });
      const last = migrations.migrationDirectories.at(-1)!.path;
      await db.query(`UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '${last}'`);
      expect(await readSchemaState(db.factory(), migrations)).toEqual({ kind: "failed", failed: [last] });
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!baseUrl)("PostgreSQL is migrated only when asked", () => {
  const opened: Database[] = [];
  const dropped: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const db of opened) await db.close();
    for (const drop of dropped) await drop();
  });
  const fresh = async () => {
    const created = await createPostgresDatabase(baseUrl!);
    dropped.push(created.drop);
    return created.url;
  };

  it("a fresh, empty database: reading and writing both refuse, and the catalog is unchanged", async () => {
    const url = await fresh();
    const before = await postgresCatalogSnapshot(url);
    for (const migrate of ["read", "embedded"] as const) {
      const error = await expectSchemaError(openDatabase({ url, migrate }), "empty");
      expect(error.message).toBe(
        `PostgreSQL at ${url} has no reev tables: it has never been migrated. Open it with \`migrate: true\` (what \`reev migrate\` does) to create them.`,
      );
    }
    expect(await postgresCatalogSnapshot(url)).toEqual(before);
  });

  it("a database one migration behind: refused, unchanged; migrate: true brings it up to date", async () => {
    const url = await fresh();
    await (await openDatabase({ url, migrate: true, migrationsDir: older.dir })).close();
    const before = await postgresCatalogSnapshot(url);
    for (const migrate of ["read", "embedded"] as const) {
      const error = await expectSchemaError(openDatabase({ url, migrate }), "behind");
      expect(error.problem).toEqual({ kind: "behind", pending: older.missing });
    }
    expect(await postgresCatalogSnapshot(url)).toEqual(before);

    const migrated = await openDatabase({ url, migrate: true });
    opened.push(migrated);
    expect(migrated.appliedMigrations).toEqual(older.missing);
    const reader = await openDatabase({ url, migrate: "read" });
    opened.push(reader);
    expect(await reader.writer.listExecutionSessions({})).toEqual([]);
  });

  it("a password in the URL never reaches the message", async () => {
    const url = new URL(await fresh());
    // The test server trusts its users, so any password logs in: enough to see it masked.
    url.password = "s3cret";
    const error = await expectSchemaError(openDatabase({ url: url.toString(), migrate: "read" }), "empty");
    expect(error.message).toContain(`${url.username}:***@`);
    expect(error.message).not.toContain("s3cret");
    expect(error).toBeInstanceOf(DatabaseError);
  });
});
