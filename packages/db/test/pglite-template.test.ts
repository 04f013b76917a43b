// The migrated PGlite template: a new embedded database (a missing or empty directory, or memory://)
// starts from it instead of running initdb, and is the same working, migrated, persistent database.
// A template that does not match the migrations is never used, a non-database directory is still
// refused, and a broken template costs time, not a database. Which databases came from the template
// is told by PostgreSQL's system identifier: initdb draws a new one, a copy of the template keeps its.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newPGlite } from "../src/embedded-pglite.js";
import { type Database, openDatabase } from "../src/index.js";
import { MIGRATIONS_DIR, prismaClientOf } from "../src/internal.js";
import { readMigrationList } from "../src/migrate/migration-files.js";
import {
  bundledTemplatePath,
  cachedTemplatePath,
  ensurePgliteTemplate,
  findPgliteTemplate,
  readPgliteTemplate,
  templateFingerprint,
  unpackPgliteTemplate,
  writePgliteTemplate,
} from "../src/pglite-template.js";
import { createExecution, expectDbError, uid, visibleSteps } from "./helpers.js";

const committed = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

async function systemIdentifier(db: Database): Promise<string> {
  const [row] = await prismaClientOf(db).$queryRaw<{ id: string }[]>`SELECT system_identifier::text AS id FROM pg_control_system()`;
  return row?.id ?? "";
}

async function appliedMigrations(db: Database): Promise<string[]> {
  const rows = await prismaClientOf(db).$queryRaw<{ name: string }[]>`
    SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1`;
  return rows.map((r) => r.name);
}

/** What the template's unpacking may leave beside a data directory: nothing but the lock while open. */
const leftovers = (dataDir: string) => readdirSync(dirname(dataDir)).filter((n) => n.startsWith(`${basename(dataDir)}.from-template-`));

describe("PGlite template", () => {
  let scratch: string;
  let template: Uint8Array;
  let templateId: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "reev-pglite-template-"));
    template = await ensurePgliteTemplate();
    const pglite = newPGlite({ loadDataDir: new Blob([template]) });
    try {
      templateId = (await pglite.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0]?.id ?? "";
    } finally {
      await pglite.close();
    }
    expect(templateId).toMatch(/^\d+$/);
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("is found for the committed migrations, from the build or the cache", async () => {
    const migrations = await readMigrationList(MIGRATIONS_DIR);
    const fingerprint = templateFingerprint(migrations);
    const found = await findPgliteTemplate(migrations);
    expect(found).toBeDefined();
    expect(Buffer.from(found as Uint8Array).equals(Buffer.from(template))).toBe(true);
    const onDisk = [bundledTemplatePath(fingerprint), cachedTemplatePath(fingerprint)].filter((p) => existsSync(p));
    expect(onDisk.length).toBeGreaterThan(0);
  });

  it("a missing directory starts from the template: migrated, working, and it persists across close and reopen", async () => {
    const dataDir = join(scratch, "fresh", "db");
    // Scratch a crashed process left beside the directory is cleared away.
    mkdirSync(join(scratch, "fresh", "db.from-template-999999-dead"), { recursive: true });
    const id = uid("tpl");
    const db = await openDatabase({ url: dataDir });
    try {
      expect(await systemIdentifier(db)).toBe(templateId);
      expect(await appliedMigrations(db)).toEqual(committed);
      await createExecution(db.writer, id);
      await db.writer.storeStepSession(id, 0, "stored in a database born from the template");
      expect(await visibleSteps(db.writer, id)).toEqual([0]);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
    expect(leftovers(dataDir)).toEqual([]);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const again = await openDatabase({ url: dataDir });
    try {
      expect(await systemIdentifier(again)).toBe(templateId);
      expect(await visibleSteps(again.writer, id)).toEqual([0]);
      expect((await again.writer.getSessionsForConsolidation(id)).map((s) => s.content)).toEqual([
        "stored in a database born from the template",
      ]);
    } finally {
      await again.close();
    }
  });

  it("an empty directory and memory:// start from the template too", async () => {
    const dataDir = join(scratch, "empty");
    mkdirSync(dataDir);
    for (const url of [dataDir, "memory://"]) {
      const db = await openDatabase({ url });
      try {
        expect(await systemIdentifier(db)).toBe(templateId);
        expect(await appliedMigrations(db)).toEqual(committed);
        const id = await createExecution(db.writer);
        await db.writer.storeStepSession(id, 0, "works");
        expect(await visibleSteps(db.writer, id)).toEqual([0]);
      } finally {
        await db.close();
      }
    }
  });

  it("a non-empty directory that is not a database is still refused, untouched", async () => {
    const dir = join(scratch, "project");
    mkdirSync(dir);
    writeFileSync(join(dir, "README.md"), "my project");
    const error = await expectDbError(openDatabase({ url: dir }), "VALIDATION", "url");
    expect(error.message).toContain("is not a PGlite database");
    expect(readdirSync(dir)).toEqual(["README.md"]);
    expect(readdirSync(scratch).filter((n) => n.startsWith("project"))).toEqual(["project"]);
  });

  it("a template for other migrations, or one filed under the wrong fingerprint, is not used", async () => {
    // Migrations the committed template was not built from: the committed ones and one more.
    const migrationsDir = join(scratch, "migrations");
    cpSync(MIGRATIONS_DIR, migrationsDir, { recursive: true });
    const extra = "29990101000000_extra";
    mkdirSync(join(migrationsDir, extra));
    writeFileSync(join(migrationsDir, extra, "migration.sql"), `-- ${uid("unique")}\nCREATE TABLE extra_marker (id int);\n`);
    const fingerprint = templateFingerprint(await readMigrationList(migrationsDir));
    expect(fingerprint).not.toBe(templateFingerprint(await readMigrationList(MIGRATIONS_DIR)));

    // The committed template, filed under the new fingerprint's name (a stale or misplaced file):
    // its header still names what it was built from.
    const planted = cachedTemplatePath(fingerprint);
    await writePgliteTemplate(planted, templateFingerprint(await readMigrationList(MIGRATIONS_DIR)), template);
    try {
      expect(await readPgliteTemplate(planted, fingerprint)).toBeUndefined();
      expect(await findPgliteTemplate(await readMigrationList(migrationsDir))).toBeUndefined();

      const dataDir = join(scratch, "stale");
      const db = await openDatabase({ url: dataDir, migrationsDir });
      try {
        expect(await systemIdentifier(db)).not.toBe(templateId);
        expect(await appliedMigrations(db)).toEqual([...committed, extra]);
        expect(await prismaClientOf(db).$queryRaw`SELECT to_regclass('extra_marker')::text AS t`).toEqual([{ t: "extra_marker" }]);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(planted, { force: true });
    }
  });

  it("a damaged template file is not read, and a damaged archive leaves no directory behind", async () => {
    const fingerprint = templateFingerprint(await readMigrationList(MIGRATIONS_DIR));
    const file = join(scratch, "damaged.tpl");
    await writePgliteTemplate(file, fingerprint, template);
    expect(await readPgliteTemplate(file, fingerprint)).toBeDefined();
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
    expect(await readPgliteTemplate(file, fingerprint)).toBeUndefined();

    const dataDir = join(scratch, "damaged-db");
    const corrupt = Uint8Array.from(template);
    corrupt[600] = (corrupt[600] as number) ^ 0xff; // inside the second entry's header: its checksum no longer matches
    expect(() => unpackPgliteTemplate(corrupt, dataDir)).toThrow(/checksum/);
    expect(existsSync(dataDir)).toBe(false);
    expect(leftovers(dataDir)).toEqual([]);

    // An archive entry that points outside the directory is refused as well.
    const outside = Uint8Array.from(template.subarray(0, 512 * 3));
    outside.set(Buffer.alloc(100), 0);
    outside.set(Buffer.from("/../../escaped"), 0);
    outside.set(Buffer.from("0"), 156);
    outside.set(Buffer.from("00000000000\0"), 124);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (outside[i] as number);
    outside.set(Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    expect(() => unpackPgliteTemplate(outside, dataDir)).toThrow(/outside/);
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(scratch, "..", "escaped"))).toBe(false);
  });
});
