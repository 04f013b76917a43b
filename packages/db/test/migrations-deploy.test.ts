// migrate deploy / status on a fresh database: deploying twice is a no-op; a failing migration is
// recorded as failed, its DDL rolled back; a later deploy, finding it proved rolled back, tries it again.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrateDeploy, migrateStatus } from "../src/internal.js";
import { expectDbError } from "./helpers.js";
import { migrationBackends } from "./migration-backends.js";

const backends = migrationBackends({ migrated: false });

/** Timers that keep this process alive (unref'd ones are not listed). */
const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

const committed = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe.each(backends)("migrations on $name", ({ open }) => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "reev-migrations-"));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  // One fresh database per backend (a fresh PGlite costs ~3.5 s), used as a deployment history would be:
  // the committed migrations are deployed, deployed again (a no-op), then a broken migration arrives.
  it("deploying twice is a no-op; a failing migration is recorded as failed, its DDL rolled back, and the next deploy, proving it rolled back, tries it again", async () => {
    expect(committed.length).toBeGreaterThan(0);
    const db = await open();
    try {
      // Deploy twice.
      expect(await migrateStatus(db.factory())).toMatchObject({ pending: committed, failed: [], upToDate: false });
      const timersBefore = refTimers();
      expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: committed });
      // The engine arms a 10 s advisory-lock timer and never clears it: unless it is unref'd, every
      // process that migrated (`reev run` on a fresh directory, `reev migrate`) lingers 10 s after its work.
      expect(refTimers(), "a timer the migration left keeps the process alive").toBeLessThanOrEqual(timersBefore);
      expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: [] });
      expect(await migrateStatus(db.factory())).toEqual({ pending: [], failed: [], edited: [], unknown: [], upToDate: true });
      const applied = await db.query(
        "SELECT migration_name, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name",
      );
      expect(applied).toHaveLength(committed.length);
      for (const [i, row] of applied.entries()) {
        expect(row).toMatchObject({ migration_name: committed[i], rolled_back_at: null, applied_steps_count: 1 });
        expect(row.finished_at).not.toBeNull();
      }
      expect(await db.query("SELECT to_regclass('execution_sessions')::text AS t")).toEqual([{ t: "execution_sessions" }]);

      // A later migration that creates a table, then fails.
      const dir = join(scratch, "migrations");
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      const broken = "29990101000000_broken";
      mkdirSync(join(dir, broken));
      writeFileSync(join(dir, broken, "migration.sql"), "-- creates a table, then fails\nCREATE TABLE t1 (id int);\nSELECT 1/0;\n");
      expect(await migrateStatus(db.factory(), { migrationsDir: dir })).toMatchObject({ pending: [broken], failed: [], upToDate: false });

      const error = await expectDbError(migrateDeploy(db.factory(), { migrationsDir: dir }), "MIGRATION");
      expect(error.message).toMatch(/^Failed to apply migrations: /);
      expect(error.message).toContain(broken);
      expect(error.cause).toBeDefined();

      const rows = await db.query(
        `SELECT migration_name, finished_at, logs, rolled_back_at FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.map((r) => r.migration_name)).toEqual([...committed, broken]);
      expect(rows.at(-1)).toMatchObject({ migration_name: broken, finished_at: null, rolled_back_at: null });
      expect(String(rows.at(-1)?.logs)).toMatch(/division by zero/);
      // The failed script ran as one transaction: its CREATE TABLE is gone.
      expect(await db.query("SELECT to_regclass('t1')::text AS t")).toEqual([{ t: null }]);

      const status = await migrateStatus(db.factory(), { migrationsDir: dir });
      expect(status.failed).toEqual([broken]);
      expect(status.upToDate).toBe(false);

      // Prisma refuses to deploy over a failed migration until it is resolved (P3009). Here the catalog
      // proves it rolled back, so the next deploy resolves it as such and tries it again: it fails again
      // with its own error, recorded as a new failed row…
      const again = await expectDbError(migrateDeploy(db.factory(), { migrationsDir: dir }), "MIGRATION");
      expect(again.message).toMatch(/division by zero/);
      expect(await db.query("SELECT count(*)::int AS n FROM _prisma_migrations WHERE rolled_back_at IS NOT NULL")).toEqual([{ n: 1 }]);
      // …and a folder without the broken one cannot prove anything about it: refused, nothing changed.
      const refused = await expectDbError(migrateDeploy(db.factory()), "SCHEMA");
      expect(refused.message).toContain(`migration ${broken} was started and never finished, and it is not one of this reev's migrations`);
      expect(await db.query("SELECT count(*)::int AS n FROM _prisma_migrations")).toEqual([{ n: committed.length + 2 }]);
      expect(await db.query("SELECT to_regclass('t1')::text AS t")).toEqual([{ t: null }]);
    } finally {
      await db.close();
    }
  });
});
