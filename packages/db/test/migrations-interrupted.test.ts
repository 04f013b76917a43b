// A migrate killed between recording a migration as started and recording it finished leaves its
// history row unfinished. The next deploy proves from the catalog whether the migration's SQL was
// applied and resolves the row as `prisma migrate resolve` would; a schema that proves neither is
// refused, with nothing changed.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrateDeploy, readSchemaState } from "../src/internal.js";
import { readMigrationList } from "../src/migrate/migration-files.js";
import { SchemaError } from "../src/schema-error.js";
import { olderMigrations } from "../src/testing/index.js";
import { expectDbError } from "./helpers.js";
import { type MigrationBackend, migrationBackends } from "./migration-backends.js";

const committed = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** The history row the engine writes before running a migration's script: started, not finished. */
const startedRow = (name: string) =>
  `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
   VALUES ('${randomUUID()}', 'x', '${name}', now(), 0)`;

const history = (db: MigrationBackend) =>
  db.query(
    `SELECT migration_name AS name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
     FROM _prisma_migrations ORDER BY started_at, finished_at`,
  );

/** A database migrated up to (not including) the `drop` newest migrations, the first of those left started. */
async function interruptedBefore(db: MigrationBackend, drop: number): Promise<string> {
  const older = olderMigrations(drop);
  try {
    await migrateDeploy(db.factory(), { migrationsDir: older.dir });
  } finally {
    older.remove();
  }
  const [name] = older.missing;
  await db.query(startedRow(name as string));
  return name as string;
}

// Each test deploys a fresh database and replays the migrations into a scratch one: slow on a busy machine.
describe.each(migrationBackends({ migrated: false }))("an interrupted migration on $name", { timeout: 300_000 }, ({ open }) => {
  let db: MigrationBackend | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it("whose SQL was not applied is marked rolled back and applied again, with the ones after it", async () => {
    db = await open();
    const name = await interruptedBefore(db, 3);
    const result = await migrateDeploy(db.factory(), { database: "the test database" });
    expect(result).toEqual({ appliedMigrationNames: committed.slice(-3), resolved: { name, as: "rolled-back" } });
    const rows = await history(db);
    expect(rows.filter((r) => r.name === name)).toEqual([
      { name, finished: false, rolled_back: true },
      { name, finished: true, rolled_back: false },
    ]);
    expect(rows.filter((r) => !r.finished && !r.rolled_back)).toEqual([]);
    expect(await readSchemaState(db.factory(), await readMigrationList(MIGRATIONS_DIR))).toEqual({ kind: "current", unknown: [] });
    // Resolved once: the next deploy has nothing to do.
    expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: [] });
  });

  it("whose SQL was applied is marked applied, not run again, and the ones after it applied", async () => {
    db = await open();
    const older = olderMigrations(1);
    try {
      await migrateDeploy(db.factory(), { migrationsDir: older.dir });
    } finally {
      older.remove();
    }
    const name = committed.at(-2) as string;
    await db.query(`UPDATE _prisma_migrations SET finished_at = NULL, applied_steps_count = 0 WHERE migration_name = '${name}'`);
    const result = await migrateDeploy(db.factory(), { database: "the test database" });
    expect(result).toEqual({ appliedMigrationNames: committed.slice(-1), resolved: { name, as: "applied" } });
    expect((await history(db)).filter((r) => r.name === name)).toEqual([
      { name, finished: false, rolled_back: true },
      { name, finished: true, rolled_back: false },
    ]);
    expect(await readSchemaState(db.factory(), await readMigrationList(MIGRATIONS_DIR))).toEqual({ kind: "current", unknown: [] });
  });

  it("whose schema matches neither side is refused, and nothing is changed", async () => {
    db = await open();
    const name = await interruptedBefore(db, 2);
    await db.query("CREATE TABLE stray (id int)");
    const before = await history(db);
    const error = await expectDbError(migrateDeploy(db.factory(), { database: "the test database" }), "SCHEMA", "url");
    expect(error).toBeInstanceOf(SchemaError);
    expect(error.message).toBe(
      `Refusing to migrate the test database: migration ${name} was started and never finished, and the schema matches neither ` +
        "the migrations before it nor the ones including it; reev cannot tell whether its SQL was applied, so it changed nothing. " +
        `Restore it from a backup taken before the migration, or repair it by hand to match ${MIGRATIONS_DIR}/${name}/migration.sql, then open it with \`migrate: true\`.`,
    );
    expect((error as SchemaError).unresolved?.sql).toBe(`${MIGRATIONS_DIR}/${name}/migration.sql`);
    expect(await history(db)).toEqual(before);
    expect(await readSchemaState(db.factory(), await readMigrationList(MIGRATIONS_DIR))).toEqual({ kind: "failed", failed: [name] });
  });

  it("whose SQL changes nothing a schema shows (lz4 compression, which only some servers offer) is refused", async () => {
    db = await open();
    const name = await interruptedBefore(db, 1);
    expect(name).toMatch(/_consolidated_content_lz4$/);
    const error = await expectDbError(migrateDeploy(db.factory(), { database: "the test database" }), "SCHEMA", "url");
    expect(error.message).toContain("it changes no table, column, index or type, so the schema cannot show whether it ran");
    expect(await readSchemaState(db.factory(), await readMigrationList(MIGRATIONS_DIR))).toEqual({ kind: "failed", failed: [name] });
  });

  it("that this reev does not have is refused, and nothing is changed", async () => {
    db = await open();
    await migrateDeploy(db.factory());
    await db.query(startedRow("29990101000000_from_a_newer_reev"));
    const before = await history(db);
    const error = await expectDbError(migrateDeploy(db.factory(), { database: "the test database" }), "SCHEMA", "url");
    expect(error.message).toContain("it is not one of this reev's migrations (a newer reev started it)");
    expect(await history(db)).toEqual(before);
  });
});
