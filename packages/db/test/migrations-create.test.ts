// The committed migrations produce exactly schema.prisma (drift check), and migrateCreate writes the
// migration for a schema change the way `prisma migrate dev --create-only` does.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffMigrationsToSchema, MIGRATIONS_DIR, migrateCreate, SCHEMA_PATH } from "../src/internal.js";
import { writeMigration } from "../src/migrate/migration-files.js";
import { expectDbError } from "./helpers.js";

const dirsOf = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

describe("migrations and schema.prisma", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "reev-migrate-create-"));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("drift check: the committed migrations produce exactly schema.prisma", async () => {
    expect(await diffMigrationsToSchema()).toBe("");
  });

  it("migrateCreate writes <timestamp>_<name>/migration.sql for a schema change, then nothing when up to date", async () => {
    const migrationsDir = join(scratch, "migrations");
    cpSync(MIGRATIONS_DIR, migrationsDir, { recursive: true });
    const schemaPath = join(scratch, "schema.prisma");
    const schema = readFileSync(SCHEMA_PATH, "utf8");
    const anchor = /^(\s*metadata\s+Json\?\s*)$/m;
    expect(schema).toMatch(anchor);
    writeFileSync(schemaPath, schema.replace(anchor, '$1\n  testColumn String? @map("test_column")'));
    const before = dirsOf(migrationsDir);

    const created = await migrateCreate("add_test_column", { migrationsDir, schemaPath });
    expect(created).toBeDefined();
    expect(basename(created!)).toMatch(/^\d{14}_add_test_column$/);
    expect(dirsOf(migrationsDir)).toEqual([...before, basename(created!)].sort());
    expect(dirsOf(migrationsDir).at(-1)).toBe(basename(created!)); // sorts after the existing ones
    const sql = readFileSync(join(created!, "migration.sql"), "utf8");
    expect(sql).toMatch(/ALTER TABLE "execution_sessions" ADD COLUMN\s+"test_column" TEXT/);
    expect(sql).not.toMatch(/CREATE TABLE/);

    // The new migration brings the history up to the changed schema: nothing more to create.
    expect(await migrateCreate("again", { migrationsDir, schemaPath })).toBeUndefined();
    expect(dirsOf(migrationsDir)).toHaveLength(before.length + 1);
    // The real migrations folder was not touched.
    expect(dirsOf(MIGRATIONS_DIR)).toEqual(before);
  });

  it("a new migration sorts after one named for a later time than the clock's", async () => {
    const dir = join(scratch, "future");
    mkdirSync(join(dir, "20261203100000_keys"), { recursive: true });
    const now = new Date("2026-12-03T07:00:00Z");
    expect(basename(await writeMigration(dir, "next", "SELECT 1;", now))).toBe("20261203100001_next");
    mkdirSync(join(dir, "20991231235959_last_second"));
    expect(basename(await writeMigration(dir, "rolls_over", "SELECT 1;", now))).toBe("21000101000000_rolls_over");
    // Behind the clock, the clock names it.
    expect(basename(await writeMigration(dir, "later", "SELECT 1;", new Date("2100-01-02T03:04:05Z")))).toBe("21000102030405_later");
    expect(dirsOf(dir).at(-1)).toBe("21000102030405_later");
  });

  it.each(["add-column", "has space", "", "../escape"])("an invalid migration name %j → VALIDATION on name", async (name) => {
    await expectDbError(migrateCreate(name, { migrationsDir: join(scratch, "never") }), "VALIDATION", "name");
  });
});
