// migrate deploy's fast path: when `_prisma_migrations` proves every local migration applied (finished,
// not rolled back, same checksum) the schema engine is not loaded. Whatever it cannot prove — a missing,
// edited or failed migration, another provider in the lock file, no history table — goes to the engine,
// which applies, refuses or reports exactly as before.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrateDeploy, migrateStatus } from "../src/internal.js";
import { readMigrationList } from "../src/migrate/migration-files.js";
import { migrationsAlreadyApplied } from "../src/migrate/migration-history.js";
import { expectDbError, uid } from "./helpers.js";
import { type MigrationBackend, migrationBackends } from "./migration-backends.js";

const backends = migrationBackends({ migrated: true });

describe.each(backends)("migrate deploy's fast path on $name", ({ open }) => {
  let scratch: string;
  let db: MigrationBackend;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "reev-migrations-fast-path-"));
    db = await open();
  });
  afterAll(async () => {
    await db?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A copy of the committed migrations to change. */
  const copyMigrations = (name: string) => {
    const dir = join(scratch, name);
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    return dir;
  };
  const applied = async (dir = MIGRATIONS_DIR) => migrationsAlreadyApplied(db.factory(), await readMigrationList(dir));

  it("an up-to-date database is proven so, and deploy reports nothing to apply", async () => {
    expect(await applied()).toBe(true);
    expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: [] });
    expect(await migrateStatus(db.factory())).toMatchObject({ upToDate: true });
  });

  it("a migration not yet applied is not proven, and the engine applies it", async () => {
    const dir = copyMigrations("missing");
    const name = "29990101000000_added_later";
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "migration.sql"), `-- ${uid("added")}\nCREATE TABLE added_later (id int);\n`);
    expect(await applied(dir)).toBe(false);
    expect(await migrateDeploy(db.factory(), { migrationsDir: dir })).toEqual({ appliedMigrationNames: [name] });
    expect(await db.query("SELECT to_regclass('added_later')::text AS t")).toEqual([{ t: "added_later" }]);
    // Now the history proves it.
    expect(await applied(dir)).toBe(true);
    // The committed folder, which lacks it, is still proven applied: deploy ignores what it does not know.
    expect(await applied()).toBe(true);
  });

  it("an edited migration is not proven; the engine deploys nothing (as Prisma) and status reports the edit", async () => {
    const dir = copyMigrations("edited");
    const [first] = (await readMigrationList(dir)).migrationDirectories;
    const file = join(dir, first?.path ?? "", "migration.sql");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n-- edited after it was applied\n`);
    expect(await applied(dir)).toBe(false);
    expect(await migrateDeploy(db.factory(), { migrationsDir: dir })).toEqual({ appliedMigrationNames: [] });
    expect((await migrateStatus(db.factory(), { migrationsDir: dir })).edited).toEqual([first?.path]);
  });

  it("a lock file naming another provider is not proven, and the engine refuses it", async () => {
    const dir = copyMigrations("provider");
    writeFileSync(join(dir, "migration_lock.toml"), 'provider = "mysql"\n');
    expect(await applied(dir)).toBe(false);
    const error = await expectDbError(migrateDeploy(db.factory(), { migrationsDir: dir }), "MIGRATION");
    expect(error.message).toMatch(/mysql/);
  });

  it("no history table is not proven (the engine creates it)", async () => {
    await db.query("ALTER TABLE _prisma_migrations RENAME TO _prisma_migrations_aside");
    try {
      expect(await applied()).toBe(false);
    } finally {
      await db.query("ALTER TABLE _prisma_migrations_aside RENAME TO _prisma_migrations");
    }
    expect(await applied()).toBe(true);
  });

  it("a failed migration is not proven, and a deploy refuses until it is resolved", async () => {
    // Last: it leaves the history with a failed migration until it is rolled back.
    const name = "29990101000001_failed";
    await db.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ('${uid("id")}', 'x', '${name}', now(), 0)`,
    );
    expect(await applied()).toBe(false);
    // Not one of this reev's migrations, so the schema cannot prove which way it went (migrations-interrupted.test.ts).
    const error = await expectDbError(migrateDeploy(db.factory()), "SCHEMA");
    expect(error.message).toContain(name);
    expect(error.message).toContain("it is not one of this reev's migrations");
    // Resolved (prisma migrate resolve --rolled-back): a rolled-back record proves nothing and blocks nothing.
    await db.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${name}'`);
    expect(await applied()).toBe(true);
    expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: [] });
  });
});
