import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { newPGlite } from "./embedded-pglite.js";
import { DatabaseError } from "./errors.js";
import { makeDirectories } from "./make-directories.js";
import { migrateDeploy } from "./migrate/migrate.js";
import { readMigrationList } from "./migrate/migration-files.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { untar } from "./untar.js";

// A new PGlite runs initdb, which takes seconds; a data directory unpacked from a migrated template is
// ready in a fraction of that. A template is a tar of such a directory (PGlite's `dumpDataDir`), stored
// gzipped behind a header line naming its fingerprint: what it was built from. One whose fingerprint
// differs from what a database would be built from now is never used, only slower to do without.

/** Bump when what a template holds or how it is stored changes, so older files stop matching. */
const FORMAT = 1;
const MAGIC = "reev-pglite-template";

const require = createRequire(import.meta.url);
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Where `pnpm build` puts the template: packages/db/dist/pglite-template/ (src/ and dist/ are siblings). */
const BUNDLED_TEMPLATE_DIR = fileURLToPath(new URL("../dist/pglite-template/", import.meta.url));

let pgliteVersionMemo: string | undefined;

/** A data directory is only as portable as the PostgreSQL build that wrote it. */
function pgliteVersion(): string {
  if (pgliteVersionMemo) return pgliteVersionMemo;
  // The package's exports leave out its package.json: find it above the resolved entry point.
  for (let dir = dirname(require.resolve("@electric-sql/pglite")); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "@electric-sql/pglite" && pkg.version) {
      pgliteVersionMemo = pkg.version;
      return pkg.version;
    }
  }
  throw new DatabaseError("INTERNAL", "Cannot find the version of @electric-sql/pglite");
}

/** What a template built from `migrations` holds: the migrations as the engine reads them, and the PGlite build. */
export function templateFingerprint(migrations: MigrationList): string {
  const hash = createHash("sha256").update(`${MAGIC} ${FORMAT}\0@electric-sql/pglite ${pgliteVersion()}\0`);
  for (const { path, migrationFile } of migrations.migrationDirectories) {
    hash.update(`${path}\0${migrationFile.content.tag}\0${migrationFile.content.value}\0`);
  }
  return hash.digest("hex");
}

export function bundledTemplatePath(fingerprint: string): string {
  return join(BUNDLED_TEMPLATE_DIR, `${fingerprint.slice(0, 16)}.tpl`);
}

/**
 * The per-user cache of templates built on demand (by tests). The uid in the name keeps users of a
 * shared temporary directory from blocking each other's cache.
 */
export function cachedTemplatePath(fingerprint: string): string {
  return join(tmpdir(), `${MAGIC}-${process.getuid?.() ?? "user"}-${fingerprint.slice(0, 16)}.tpl`);
}

function header(fingerprint: string): Buffer {
  return Buffer.from(`${MAGIC} ${fingerprint}\n`);
}

/**
 * The template at `path` if it is one for `fingerprint`, whole (gzip checks its CRC) and, when
 * `ownedByMe`, written by this user: a shared temporary directory lets anyone put a file there.
 * Anything else, missing included, is `undefined`.
 */
export async function readPgliteTemplate(
  path: string,
  fingerprint: string,
  options: { ownedByMe?: boolean } = {},
): Promise<Uint8Array | undefined> {
  try {
    const uid = process.getuid?.();
    if (options.ownedByMe && uid !== undefined && statSync(path).uid !== uid) return undefined;
    const file = await readFile(path);
    const head = header(fingerprint);
    if (!file.subarray(0, head.length).equals(head)) return undefined;
    // Large output chunks: with the default 16 KiB, callbacks for ~40 MB cost more than the inflating.
    return await gunzipAsync(file.subarray(head.length), { chunkSize: 8 << 20 });
  } catch {
    return undefined;
  }
}

/** Writes a template atomically (a rename), so a concurrent reader sees the whole file or none. */
export async function writePgliteTemplate(path: string, fingerprint: string, tar: Uint8Array): Promise<void> {
  makeDirectories(dirname(path));
  const partial = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(partial, Buffer.concat([header(fingerprint), await gzipAsync(tar)]));
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** A migrated data directory, built from scratch: a fresh in-memory PGlite (initdb), migrated, dumped. */
async function buildPgliteTemplate(migrations: MigrationList): Promise<Uint8Array> {
  const pglite = newPGlite();
  try {
    await migrateDeploy(new PrismaPGlite(pglite), { migrations });
    // Flushed to the data files, so a database started from the dump has next to no WAL to replay.
    await pglite.exec("CHECKPOINT");
    return new Uint8Array(await (await pglite.dumpDataDir("none")).arrayBuffer());
  } finally {
    await pglite.close();
  }
}

/** A current template for `fingerprint`: from the build, else from this user's cache. */
async function locatePgliteTemplate(fingerprint: string): Promise<{ tar: Uint8Array; from: "bundled" | "cached" } | undefined> {
  const bundled = await readPgliteTemplate(bundledTemplatePath(fingerprint), fingerprint);
  if (bundled) return { tar: bundled, from: "bundled" };
  const cached = await readPgliteTemplate(cachedTemplatePath(fingerprint), fingerprint, { ownedByMe: true });
  return cached && { tar: cached, from: "cached" };
}

/** The template for `migrations`, from the build, else from the cache; `undefined` when neither has a current one. */
export async function findPgliteTemplate(migrations: MigrationList): Promise<Uint8Array | undefined> {
  let fingerprint: string;
  try {
    fingerprint = templateFingerprint(migrations);
  } catch {
    return undefined;
  }
  return (await locatePgliteTemplate(fingerprint))?.tar;
}

/**
 * The template for `migrationsDir`, built (once per machine and migration set) when there is no
 * current one, and cached for the processes after this one: test files clone it instead of paying
 * initdb each. Parallel workers that race to build it each write a whole file under the same name.
 */
export async function ensurePgliteTemplate(migrationsDir = MIGRATIONS_DIR): Promise<Uint8Array> {
  const migrations = await readMigrationList(migrationsDir);
  const fingerprint = templateFingerprint(migrations);
  const found = await locatePgliteTemplate(fingerprint);
  if (found) return found.tar;
  const tar = await buildPgliteTemplate(migrations);
  // A cache that cannot be written costs the next process time, nothing else.
  await writePgliteTemplate(cachedTemplatePath(fingerprint), fingerprint, tar).catch(() => {});
  return tar;
}

/**
 * `pnpm build`'s step: makes sure dist/ holds the template for the committed migrations (reusing the
 * cached one when there is one) and nothing older.
 */
export async function bundlePgliteTemplate(): Promise<{ path: string; built: boolean }> {
  const migrations = await readMigrationList(MIGRATIONS_DIR);
  const fingerprint = templateFingerprint(migrations);
  const path = bundledTemplatePath(fingerprint);
  const found = await locatePgliteTemplate(fingerprint);
  if (found?.from !== "bundled") await writePgliteTemplate(path, fingerprint, found?.tar ?? (await buildPgliteTemplate(migrations)));
  for (const name of readdirSync(BUNDLED_TEMPLATE_DIR)) {
    if (name !== basename(path)) rmSync(join(BUNDLED_TEMPLATE_DIR, name), { recursive: true, force: true });
  }
  return { path, built: !found };
}

const STAGING = ".from-template-";

/**
 * Turns the missing or empty `dataDir` into a database unpacked from `tar`. The files are written into
 * a scratch directory beside it and renamed into place, so a crash midway leaves no half-written
 * database behind (only scratch, removed by the next call). The caller holds the directory's lock.
 */
export function unpackPgliteTemplate(tar: Uint8Array, dataDir: string): void {
  const parent = dirname(dataDir);
  const prefix = `${basename(dataDir)}${STAGING}`;
  // Holding the lock, any scratch of this directory is a dead process's.
  for (const name of readdirSync(parent)) {
    if (name.startsWith(prefix)) rmSync(join(parent, name), { recursive: true, force: true });
  }
  const staging = join(parent, `${prefix}${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    mkdirSync(staging, { mode: 0o700 });
    untar(tar, staging);
    if (!existsSync(join(staging, "PG_VERSION"))) throw new DatabaseError("INTERNAL", "The PGlite template holds no data directory");
    // rename(2) would replace an empty directory on POSIX but not on Windows: remove it first.
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(staging, dataDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
