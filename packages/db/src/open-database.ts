import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import type { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { Client as PgClient, QueryResultRow } from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { connectFailure } from "./connect-failure.js";
import { acquireDirectoryLock } from "./directory-lock.js";
import { newPGlite } from "./embedded-pglite.js";
import { DatabaseError, lastLine, toDatabaseError } from "./errors.js";
import { type Prisma, PrismaClient } from "./generated/prisma/client.js";
import type { ResolvedMigration } from "./migrate/interrupted-migration.js";
import { migrateDeploy } from "./migrate/migrate.js";
import { readMigrationList } from "./migrate/migration-files.js";
import { readSchemaState } from "./migrate/schema-state.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { findPgliteTemplate, unpackPgliteTemplate } from "./pglite-template.js";
import { statementName } from "./prepared-statement.js";
import { SchemaError } from "./schema-error.js";
import { refuseMalformedUrl } from "./url-typos.js";
import type { WriterOptions } from "./writer/context.js";
import { DatabaseWriter } from "./writer/database-writer.js";

/** Where the embedded database lives when nothing else is said, relative to the working directory. */
export const DEFAULT_DATA_DIR = ".reev/db";

export type DatabaseTarget = { kind: "pglite-dir"; dataDir: string } | { kind: "pglite-memory" } | { kind: "postgres"; url: string };

export type OpenDatabaseOptions = {
  /**
   * `postgres://…` / `postgresql://…` → PostgreSQL; `memory://` → in-memory PGlite; a path (or
   * `file:` URL) → PGlite in that directory. Default: `REEV_DATABASE_URL`, else `.reev/db`.
   */
  url?: string;
  /**
   * What opening does about the schema (default `"embedded"`):
   * - `"embedded"`: to write. The embedded database (a PGlite directory, `memory://`) is reev's own and
   *   is created and migrated as needed; a PostgreSQL database is never migrated implicitly (as with
   *   `prisma migrate deploy`, that is an explicit step) and must be up to date already.
   * - `"read"`: to read. Nothing is created or migrated: a PGlite directory must exist, and every
   *   database must be up to date (`memory://` excepted: it is new, and gone with the process).
   * - `true`: migrates any database (the explicit step: `reev migrate`, `--migrate`).
   * - `false`: neither migrates nor checks (tests that shape the tables themselves).
   * A database that is not ready is left as it was, with a `SchemaError` (code SCHEMA) saying why.
   */
  migrate?: boolean | "embedded" | "read";
  /**
   * Whether a PGlite directory that is missing or empty may become a new database (default: unless
   * `migrate` is `"read"`). False for a command that changes a database the user already has (recover
   * finishing runs): a mistyped path is then refused with the same SchemaError as a read's, instead of
   * a new, empty database where nothing is found.
   */
  create?: boolean;
  migrationsDir?: string;
  writer?: WriterOptions;
  /** Directory that relative PGlite paths resolve against (default: the working directory). */
  cwd?: string;
  /**
   * @internal the migrated template (a data-directory tar) a new PGlite starts from, instead of the
   * one looked up for the migrations: tests hold theirs in memory rather than read it per database.
   */
  pgliteTemplate?: Uint8Array;
  /**
   * @internal wraps the driver adapter the Prisma client queries through (not the migrations'):
   * fault-injection tests fail chosen statements on their way to the real database.
   */
  wrapAdapter?: (adapter: SqlDriverAdapterFactory) => SqlDriverAdapterFactory;
  /** @internal runs after the database is closed: a test database drops itself. */
  afterClose?: () => Promise<void>;
};

/**
 * An open database: its writer, and `close()`. Close it when done — `await using db = await
 * openDatabase()` does — because an unclosed PGlite keeps the process alive.
 */
export type Database = AsyncDisposable & {
  readonly target: DatabaseTarget;
  /** Human-readable location, password masked. */
  readonly description: string;
  readonly writer: DatabaseWriter;
  /** The migrations applied while opening it, in order (none when it was up to date). */
  readonly appliedMigrations: readonly string[];
  /** A migration an interrupted migrate had left unfinished, resolved while opening it (before those applied). */
  readonly resolvedMigration: ResolvedMigration | undefined;
  /** True when this open made the embedded database (in a new or empty directory): a mistyped path makes a new, empty one. */
  readonly created: boolean;
  /** Disconnects and, for PGlite, closes the engine and releases the directory. Idempotent. */
  close(): Promise<void>;
};

/**
 * A read straight on the driver, beside the Prisma client and on the same connections: rows as the
 * driver types them (timestamps as Date), and on PostgreSQL a statement marked `prepared` is
 * prepared once per connection.
 */
export type DriverRead = <R>(sql: Prisma.Sql) => Promise<R[]>;

/** What a Database holds beyond its public face, for the internal accessors below. */
const internals = new WeakMap<Database, { prisma: PrismaClient; pglite: PGlite | undefined; read: DriverRead }>();

function internalsOf(db: Database) {
  const found = internals.get(db);
  if (!found) throw new Error("not a Database returned by openDatabase");
  return found;
}

/**
 * The Prisma client an open database's writer runs on: the escape hatch for tests and tools that
 * must look at or shape the tables directly (snapshots, fixtures, EXPLAIN). Not for applications:
 * everything they need goes through `db.writer`, which validates, locks and classifies errors.
 */
export const prismaClientOf = (db: Database): PrismaClient => internalsOf(db).prisma;

/**
 * The embedded engine of an open PGlite database (undefined on PostgreSQL), for tools that must
 * query the very same database beside the writer — the bench's raw side. PGlite runs one transaction
 * at a time: never query it while a writer transaction is open.
 */
export const pgliteOf = (db: Database): PGlite | undefined => internalsOf(db).pglite;

/** The driver read of an open database (see `DriverRead`), for `runDriverRead`. */
export const driverReadOf = (db: Database): DriverRead => internalsOf(db).read;

/** Masks the password of a connection URL so it can appear in messages and logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    // Up to the last "@": an unencoded "@" in the password must not leave its tail visible.
    return url.replace(/\/\/([^:/@]+):.*@/, "//$1:***@");
  }
}

export function resolveTarget(url: string | undefined, cwd = process.cwd()): DatabaseTarget {
  // From JavaScript anything can come: said in words, not as a TypeError from .trim().
  if (url !== undefined && typeof url !== "string") {
    throw new DatabaseError("VALIDATION", `The database URL must be text (a directory, memory:// or postgresql://…), not ${typeof url}.`, {
      field: "url",
    });
  }
  // An empty value is a mistake, not "here": it would make the working directory the data directory.
  if (url !== undefined && !url.trim()) throw new DatabaseError("VALIDATION", "The database URL is empty.", { field: "url" });
  const raw = url ?? (process.env.REEV_DATABASE_URL?.trim() || DEFAULT_DATA_DIR);
  if (raw.includes("\u0000")) throw new DatabaseError("VALIDATION", "The database URL contains a NUL character", { field: "url" });
  refuseMalformedUrl(raw);
  if (/^postgres(ql)?:\/\//i.test(raw)) return { kind: "postgres", url: raw };
  if (/^memory:\/\//i.test(raw)) return { kind: "pglite-memory" };
  if (/^file:/i.test(raw)) {
    const path = raw.startsWith("file://") ? fileUrlPath(raw) : raw.slice("file:".length);
    return { kind: "pglite-dir", dataDir: canonicalDir(resolve(cwd, path)) };
  }
  return { kind: "pglite-dir", dataDir: canonicalDir(resolve(cwd, raw)) };
}

function fileUrlPath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw new DatabaseError("VALIDATION", `Unusable file URL "${url}": ${(error as Error).message}`, { field: "url", cause: error });
  }
}

/**
 * One spelling per directory (trailing slashes, `..`, symlinks resolved), so the lock file beside it
 * is the same however the directory was named.
 */
function canonicalDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    try {
      return join(realpathSync(dirname(dir)), basename(dir));
    } catch {
      return dir;
    }
  }
}

/**
 * Whether `dataDir` holds a database or is still to become one (missing or empty). Refuses to turn a
 * directory that holds something else (a project, say) into a database. `reading` (with the directory
 * --db paths are relative to): a command that only reads, for which a new directory is no way out.
 */
function isNewDataDir(dataDir: string, reading?: { cwd: string }): boolean {
  if (!existsSync(dataDir)) {
    // Its parent must be (or become) a directory: a file on the way is the user's mistake, not ours.
    const blocker = firstNonDirectory(dirname(dataDir));
    if (blocker) throw new DatabaseError("VALIDATION", `${dataDir} cannot be a database directory: ${blocker} is a file`, { field: "url" });
    return true;
  }
  if (!statSync(dataDir).isDirectory()) {
    // A command that reads needs the database that is there, not a new directory it would find empty.
    const instead = reading ? "the directory reev run or reev migrate created (by default .reev/db)" : "a new or empty directory";
    throw new DatabaseError("VALIDATION", `${dataDir} is a file, not a database directory: point --db at ${instead}`, { field: "url" });
  }
  if (existsSync(join(dataDir, "PG_VERSION"))) return false;
  const entries = readdirSync(dataDir);
  if (entries.length && reading) {
    // `--db .reev` for the default `.reev/db`: the database one level down is what was meant.
    const inside = entries.map((e) => join(dataDir, e)).find((d) => existsSync(join(d, "PG_VERSION")));
    const near = inside && relative(canonicalDir(reading.cwd), inside);
    const shown = near && !near.startsWith("..") && !isAbsolute(near) ? near : inside;
    throw new DatabaseError(
      "VALIDATION",
      inside
        ? `${dataDir} is not a reev database, but ${shown} in it is: use --db ${shown}`
        : `${dataDir} is not a reev database: point --db at the directory reev run or reev migrate created (by default .reev/db)`,
      { field: "url" },
    );
  }
  if (entries.length) {
    throw new DatabaseError("VALIDATION", `${dataDir} is not empty and is not a PGlite database: point --db at a new or empty directory`, {
      field: "url",
    });
  }
  return true;
}

/** The nearest existing ancestor of `dir` (itself included) when it is not a directory. */
function firstNonDirectory(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) return statSync(d).isDirectory() ? undefined : d;
    if (dirname(d) === d) return undefined;
  }
}

function describe(target: DatabaseTarget): string {
  if (target.kind === "postgres") return `PostgreSQL at ${maskUrl(target.url)}`;
  if (target.kind === "pglite-memory") return "in-memory PGlite";
  return `embedded PGlite at ${target.dataDir}`;
}

/** PGlite runs one transaction at a time, so a writer's transactions queue: allow for the wait. */
const PGLITE_TRANSACTION = { maxWait: 30_000, timeout: 30_000 };
const POSTGRES_TRANSACTION = { maxWait: 10_000, timeout: 30_000 };

type Backend = {
  adapter: PrismaPg | PrismaPGlite;
  pglite?: PGlite;
  read: DriverRead;
  migrationFactory: () => SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
  /** An embedded database's directory was made by this open. */
  created?: boolean;
};

/**
 * The migrated template a new PGlite starts from, so it skips initdb (seconds); `undefined` when there
 * is no current one, or the database will not be migrated (it starts empty then). Never throws: the
 * migrations report their own problems, and without a template the database is only slower to create.
 */
async function templateFor(options: OpenDatabaseOptions, migrations: MigrationList | undefined): Promise<Uint8Array | undefined> {
  if (!migrations) return undefined;
  return options.pgliteTemplate ?? (await findPgliteTemplate(migrations));
}

/**
 * The directory's lock (see acquireDirectoryLock), taken after making its parent: a parent the file
 * system will not make (under /proc, read-only, not permitted) is the user's path at fault, said as such.
 */
function lockDataDir(dataDir: string): () => void {
  try {
    return acquireDirectoryLock(dataDir);
  } catch (error) {
    const { code, syscall, path } = error as NodeJS.ErrnoException;
    if (syscall !== "mkdir" || !path || !["ENOENT", "EACCES", "EPERM", "EROFS"].includes(code ?? "")) throw error;
    const why =
      code === "ENOENT"
        ? `${dirname(path)} does not take new directories`
        : code === "EROFS"
          ? "the file system is read-only"
          : "permission denied";
    throw new DatabaseError("VALIDATION", `${dataDir} cannot be a database directory: reev cannot create ${path} (${why})`, {
      field: "url",
      cause: error,
    });
  }
}

async function openPGlite(
  target: DatabaseTarget & { kind: "pglite-dir" | "pglite-memory" },
  options: OpenDatabaseOptions,
  migrations: MigrationList | undefined,
): Promise<Backend> {
  const dataDir = target.kind === "pglite-dir" ? target.dataDir : undefined;
  // Refused before the lock is taken, so a directory that is not ours gets no lock file beside it.
  if (dataDir) isNewDataDir(dataDir);
  const release = dataDir ? lockDataDir(dataDir) : () => {};
  let pglite: PGlite | undefined;
  let created = false;
  try {
    if (dataDir) {
      // Asked again under the lock: another process may have created the database meanwhile.
      created = isNewDataDir(dataDir);
      const template = created ? await templateFor(options, migrations) : undefined;
      if (template) {
        try {
          unpackPgliteTemplate(template, dataDir);
        } catch {
          // PGlite runs initdb instead: slower, the same database.
        }
      }
      pglite = newPGlite({ dataDir });
    } else {
      const template = await templateFor(options, migrations);
      pglite = newPGlite(template ? { loadDataDir: new Blob([template]) } : {});
    }
    await pglite.waitReady;
  } catch (error) {
    await pglite?.close().catch(() => {});
    release();
    if (DatabaseError.is(error)) throw error;
    throw new DatabaseError("CONNECTION", `Could not open ${describe(target)}: ${(error as Error).message}`, { cause: error });
  }
  const engine = pglite;
  return {
    created,
    pglite: engine,
    // PGlite runs a query only between transactions (it queues behind an open one), as the adapter's do.
    read: async <R>(sql: Prisma.Sql) => (await engine.query<R>(sql.text, sql.values)).rows,
    adapter: new PrismaPGlite(engine),
    migrationFactory: () => new PrismaPGlite(engine),
    close: async () => {
      try {
        await engine.close();
      } finally {
        release();
      }
    },
  };
}

async function openPostgres(url: string): Promise<Backend> {
  // Loaded on demand: node-postgres is dead weight at the start of every embedded (PGlite) run.
  const [{ PrismaPg }, { default: pg }] = await Promise.all([import("@prisma/adapter-pg"), import("pg")]);
  // One pool for the client and the driver reads; the client ends it when it disconnects.
  const pool = new pg.Pool({ connectionString: url, Client: closingClient(pg.Client) });
  return {
    read: async <R>(sql: Prisma.Sql) => {
      const name = statementName({ sql: sql.text });
      return (await pool.query<R & QueryResultRow>({ text: sql.text, values: sql.values, ...(name ? { name } : {}) })).rows;
    },
    adapter: new PrismaPg(pool, { statementNameGenerator: statementName, disposeExternalPool: true }),
    migrationFactory: () => new PrismaPg({ connectionString: url }),
    // Ended here only if the client never connected (opening failed before its first query).
    close: async () => {
      if (!pool.ending) await pool.end();
    },
  };
}

/**
 * pg leaves a client's socket open when its login fails part-way (a SCRAM login to a server that asks
 * for a password the URL does not give): the process could not exit until the server's
 * authentication_timeout (a minute) closed it. This client closes its own socket when connecting fails.
 */
function closingClient(Client: typeof PgClient): typeof PgClient {
  return class ClosingClient extends Client {
    override connect(): Promise<this>;
    override connect(callback: (error: Error | null) => void): void;
    override connect(callback?: (error: Error | null) => void): Promise<this> | undefined {
      const close = () => (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      if (callback) {
        super.connect((error: Error | null) => {
          if (error) close();
          callback(error);
        });
        return undefined;
      }
      return super.connect().catch((error: unknown) => {
        close();
        throw error;
      }) as Promise<this>;
    }
  };
}

async function checkPostgres(prisma: PrismaClient, target: DatabaseTarget): Promise<void> {
  try {
    await prisma.$queryRaw`SELECT 1`;
  } catch (error) {
    const reason = error instanceof Error ? lastLine(error.message) : String(error);
    // Whether a retry can help is the classifier's call: a server that is down may come back, a
    // database that does not exist or a refused login will not.
    const classified = toDatabaseError(error, "connect");
    const words = connectFailure(error, target.kind === "postgres" ? target.url : undefined, "the URL");
    const message = words
      ? `${words.message} ${words.hint}`
      : `Could not connect to ${describe(target)}: ${reason}. Is the server running, and do the database and user exist?`;
    throw new DatabaseError("CONNECTION", message, {
      cause: error,
      retryable: classified.code !== "CONNECTION" || classified.retryable,
    });
  }
}

const MIGRATE_POLICIES: readonly unknown[] = [true, false, "embedded", "read"];

/**
 * Whether opening migrates: always when asked to, never when told not to; otherwise only reev's own
 * embedded database, and for reading only a new in-memory one (it cannot be read before it exists).
 */
function migratesOnOpen(policy: NonNullable<OpenDatabaseOptions["migrate"]>, target: DatabaseTarget): boolean {
  if (typeof policy === "boolean") return policy;
  if (policy === "read") return target.kind === "pglite-memory";
  return target.kind !== "postgres";
}

/**
 * The adapter, refusing to connect once the database is closed. Prisma connects again on the next
 * query after `$disconnect`, so on PostgreSQL a closed database went on reading and writing (PGlite's
 * engine, closed, failed with an INTERNAL error instead).
 */
function refuseAfterClose(factory: SqlDriverAdapterFactory, isClosed: () => boolean, description: string): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => {
      if (isClosed()) return Promise.reject(closedError(description));
      return factory.connect();
    },
  };
}

const closedError = (description: string) =>
  new DatabaseError("CONNECTION", `${description} was closed (db.close()): open it again with openDatabase to use it.`, {
    retryable: false,
  });

/**
 * Opens reev's database: picks the backend from the URL, migrates it or checks that it is up to date
 * (see `migrate`) and returns its DatabaseWriter and `close()`. Always close it (`await using db = await
 * openDatabase()`, or `await db.close()`): an unclosed PGlite keeps the process alive.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const target = resolveTarget(options.url, options.cwd);
  const policy = options.migrate ?? "embedded";
  if (!MIGRATE_POLICIES.includes(policy)) {
    throw new DatabaseError("VALIDATION", `migrate must be true, false, "embedded" or "read", not ${JSON.stringify(policy)}.`, {
      field: "migrate",
    });
  }
  const migrates = migratesOnOpen(policy, target);
  // Read once, for the template a new PGlite starts from and for the deploy (or the check).
  const migrations = policy === false ? undefined : await readMigrationList(options.migrationsDir ?? MIGRATIONS_DIR);
  // Before anything touches the disk: a database to read (or not to create) must be there already.
  const create = options.create ?? policy !== "read";
  if (!create && target.kind === "pglite-dir" && isNewDataDir(target.dataDir, { cwd: options.cwd ?? process.cwd() })) {
    throw new SchemaError({ kind: "missing", reason: existsSync(target.dataDir) ? "is empty" : "does not exist" }, target.dataDir);
  }
  const backend: Backend =
    target.kind === "postgres" ? await openPostgres(target.url) : await openPGlite(target, options, migrates ? migrations : undefined);
  const transaction = target.kind === "postgres" ? POSTGRES_TRANSACTION : PGLITE_TRANSACTION;
  const description = describe(target);
  let closed: Promise<void> | undefined;
  const refusingAfterClose = refuseAfterClose(backend.adapter, () => closed !== undefined, description);
  const adapter = options.wrapAdapter ? options.wrapAdapter(refusingAfterClose) : refusingAfterClose;
  const prisma = new PrismaClient({ adapter, transactionOptions: transaction });
  const close = () =>
    (closed ??= (async () => {
      try {
        await prisma.$disconnect();
      } finally {
        try {
          await backend.close();
        } finally {
          await options.afterClose?.();
        }
      }
    })());
  let appliedMigrations: string[] = [];
  let resolvedMigration: ResolvedMigration | undefined;
  try {
    if (target.kind === "postgres") await checkPostgres(prisma, target);
    if (migrations && migrates) {
      ({ appliedMigrationNames: appliedMigrations, resolved: resolvedMigration } = await migrateDeploy(backend.migrationFactory(), {
        migrations,
        database: description,
      }));
    } else if (migrations) {
      const state = await readSchemaState(backend.migrationFactory(), migrations).catch((error: unknown) => {
        throw toDatabaseError(error, `read the schema of ${description}`);
      });
      if (state.kind !== "current") throw new SchemaError(state, description);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const writer = new DatabaseWriter(prisma, { ...options.writer, transaction: { ...transaction, ...options.writer?.transaction } });
  const db: Database = {
    target,
    description,
    writer,
    appliedMigrations,
    resolvedMigration,
    created: backend.created ?? false,
    close,
    [Symbol.asyncDispose]: close,
  };
  const read: DriverRead = (sql) => (closed ? Promise.reject(closedError(description)) : backend.read(sql));
  internals.set(db, { prisma, pglite: backend.pglite, read });
  return db;
}
