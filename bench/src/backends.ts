import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { type Database, MIGRATIONS_DIR, maskUrl, openDatabase, type StepInput } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/testing";
import pg from "pg";
import type { CleanupScope } from "./cleanup.js";
import { pgClientDriver, pgliteDriver, pgPoolDriver, type RawDriver } from "./raw-driver.js";
import { RawStepWriter } from "./raw-step-writer.js";

/** What a case needs from one side (the writer, or the raw driver). */
export interface Side {
  readonly label: "writer" | "raw";
  createExecution(executionId: string): Promise<void>;
  storeStep(executionId: string, step: StepInput): Promise<void>;
  storeStepSession(executionId: string, stepIndex: number, content: string): Promise<void>;
  beginTransaction(executionId: string): Promise<void>;
  commitTransaction(executionId: string): Promise<void>;
  /** BEGIN; SELECT 1; COMMIT — the fixed cost of one interactive transaction. */
  emptyTransaction(): Promise<void>;
  /** What is stored for executions whose id starts with `prefix` (no LIKE wildcards in it). */
  count(prefix: string): Promise<RowCounts>;
}

export type RowCounts = { steps: number; committed: number; toolCalls: number; contentBytes: number; toolJsonBytes: number };

export interface Backend {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly writer: Side;
  /** Sequential raw side: one connection. */
  readonly raw: Side;
  /** Raw side for the concurrency case: a pool on PostgreSQL, PGlite's single connection otherwise. */
  readonly rawConcurrent: Side;
}

const COUNT_SQL = `
  SELECT
    (SELECT count(*)::int FROM step_sessions WHERE execution_id LIKE $1) AS steps,
    (SELECT count(*)::int FROM step_sessions WHERE execution_id LIKE $1 AND state = 'committed') AS committed,
    (SELECT coalesce(sum(octet_length(content)), 0)::float8 FROM step_sessions WHERE execution_id LIKE $1) AS "contentBytes",
    (SELECT count(*)::int FROM tool_calls t JOIN step_sessions s ON s.session_id = t.session_id WHERE s.execution_id LIKE $1) AS "toolCalls",
    (SELECT coalesce(sum(octet_length(t.input::text) + octet_length(t.output::text)), 0)::float8
       FROM tool_calls t JOIN step_sessions s ON s.session_id = t.session_id WHERE s.execution_id LIKE $1) AS "toolJsonBytes"`;

function toCounts(row: Record<string, unknown> | undefined): RowCounts {
  if (!row) throw new Error("count query returned no row");
  return {
    steps: Number(row.steps),
    committed: Number(row.committed),
    toolCalls: Number(row.toolCalls),
    contentBytes: Number(row.contentBytes),
    toolJsonBytes: Number(row.toolJsonBytes),
  };
}

function writerSide(db: Database): Side {
  const w = db.writer;
  return {
    label: "writer",
    createExecution: async (executionId) => {
      await w.createExecutionSession({ executionId, flowId: "bench", agent: "bench", prompt: "bench" });
    },
    storeStep: async (executionId, step) => {
      await w.storeStep(executionId, step);
    },
    storeStepSession: (executionId, stepIndex, content) => w.storeStepSession(executionId, stepIndex, content),
    beginTransaction: async (executionId) => {
      await w.beginTransaction(executionId);
    },
    commitTransaction: (executionId) => w.commitTransaction(executionId),
    emptyTransaction: async () => {
      await db.prisma.$transaction(async (tx) => tx.$queryRaw`SELECT 1`);
    },
    count: async (prefix) => toCounts((await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(COUNT_SQL, `${prefix}%`))[0]),
  };
}

function rawSide(driver: RawDriver): Side {
  const raw = new RawStepWriter(driver);
  return {
    label: "raw",
    createExecution: (executionId) => raw.createExecution(executionId),
    storeStep: (executionId, step) => raw.storeStep(executionId, step),
    storeStepSession: (executionId, stepIndex, content) => raw.storeStepSession(executionId, stepIndex, content),
    beginTransaction: (executionId) => raw.beginTransaction(executionId),
    commitTransaction: (executionId) => raw.commitTransaction(executionId),
    emptyTransaction: async () => {
      await driver.transaction((q) => q("SELECT 1"));
    },
    count: async (prefix) => toCounts((await driver.query(COUNT_SQL, [`${prefix}%`]))[0]),
  };
}

/** The schema the writer gets from its migrations, applied by hand to the raw side's own PGlite. */
async function applyMigrations(query: (sql: string) => Promise<unknown>): Promise<void> {
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    const file = join(MIGRATIONS_DIR, name, "migration.sql");
    if (existsSync(file)) await query(readFileSync(file, "utf8"));
  }
}

async function openWriter(scope: CleanupScope, url: string): Promise<Database> {
  const db = await openDatabase({ url });
  scope.defer(`close ${db.description}`, () => db.close());
  return db;
}

/**
 * PGlite cannot be shared with the writer (its engine lives inside openDatabase), so the raw side
 * gets its own PGlite of the same kind with the same migrations: same schema, same engine, same
 * single connection.
 */
async function openRawPGlite(scope: CleanupScope, dataDir?: string): Promise<RawDriver> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  scope.defer(`close raw PGlite${dataDir ? ` at ${dataDir}` : ""}`, () => db.close());
  await applyMigrations((sql) => db.exec(sql));
  return pgliteDriver(db);
}

export async function pgliteMemoryBackend(scope: CleanupScope): Promise<Backend> {
  const db = await openWriter(scope, "memory://");
  const raw = rawSide(await openRawPGlite(scope));
  return { key: "pglite-memory", name: "PGlite in-memory", description: db.description, writer: writerSide(db), raw, rawConcurrent: raw };
}

export async function pgliteDirBackend(scope: CleanupScope): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "reev-bench-"));
  scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const db = await openWriter(scope, join(dir, "writer"));
  const raw = rawSide(await openRawPGlite(scope, join(dir, "raw")));
  return { key: "pglite-dir", name: "PGlite directory", description: `embedded PGlite in ${dir}`, writer: writerSide(db), raw, rawConcurrent: raw };
}

/** Where PostgreSQL is looked for, and whether that was asked for or only a guess. */
export function postgresBaseUrl(): { url: string; explicit: boolean } {
  const url = process.env.REEV_BENCH_DATABASE_URL || process.env.REEV_TEST_DATABASE_URL;
  return url ? { url, explicit: true } : { url: "postgresql://postgres@127.0.0.1:5432/postgres", explicit: false };
}

/** Throws when the server cannot be reached, with the reason. */
export async function checkPostgres(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const rows = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows;
    return rows[0]?.v.split(" ")[0] ?? "?";
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh database on the server (dropped at the end), shared by the writer and the raw driver. */
export async function postgresBackend(scope: CleanupScope, baseUrl: string, serverVersion: string): Promise<Backend> {
  const created = await createPostgresDatabase(baseUrl);
  scope.defer(`drop the bench database ${maskUrl(created.url)}`, () => created.drop());
  const db = await openWriter(scope, created.url);
  const client = await pgClientDriver(created.url);
  scope.defer("close the raw pg client", () => client.close());
  const pool = pgPoolDriver(created.url);
  scope.defer("close the raw pg pool", () => pool.close());
  return {
    key: "postgres",
    name: `PostgreSQL ${serverVersion}`,
    description: `fresh database ${maskUrl(created.url)}`,
    writer: writerSide(db),
    raw: rawSide(client),
    rawConcurrent: rawSide(pool),
  };
}
