// The schema stays ready to shard by execution_id (docs/scaling.md): read from PostgreSQL's own
// catalog (pg_index for every unique index, primary keys and unique constraints included; pg_constraint
// for foreign keys), every table of reev's schema carries execution_id, and every primary key, unique
// key and foreign key includes it — on both sides of a foreign key — apart from the one exception the
// doc names. A new table or key that lacks it fails here, before a distributed database refuses it;
// so does a foreign key whose update action Citus refuses on the distribution column.
import { describe, expect } from "vitest";
import type { Database } from "../src/index.js";
import { type PrismaClient, prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";

/**
 * The exception (docs/scaling.md, "The one key without execution_id"): the seed's global UNIQUE on
 * consolidated_session_id, kept on a single server; a distributed table cannot have it.
 */
const EXCEPTIONS = ["consolidated_sessions.consolidated_sessions_consolidated_session_id_key (unique): consolidated_session_id"];

/**
 * Reference tables (docs/scaling.md): small, replicated to every node, not keyed by execution. A run
 * table may point to one (a foreign key from a distributed table to a reference table is allowed, and
 * its actions apply to a column that is not the distribution column).
 */
const REFERENCE_TABLES = ["evaluation_runs"];
const referenceList = REFERENCE_TABLES.map((t) => `'${t}'`).join(", ");

/** Every table of the schema but Prisma's migration history and the reference tables. */
const TABLES = `SELECT c.oid, c.relname FROM pg_class c
  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'
    AND c.relname NOT IN (${referenceList})`;
/** Foreign keys to a reference table: outside both checks. */
const TO_RUN_TABLE = `con.confrelid NOT IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname IN (${referenceList}))`;

/** The run tables' keys that lack execution_id, as `table.key (kind): columns`. */
const KEYS_WITHOUT_EXECUTION_ID = `
  WITH tables AS (${TABLES}),
  keys AS (
    SELECT t.relname AS table_name, ic.relname AS key_name, CASE WHEN i.indisprimary THEN 'primary' ELSE 'unique' END AS kind,
      i.indrelid AS rel, i.indkey::int2[] AS cols, NULL::oid AS frel, NULL::int2[] AS fcols
    FROM pg_index i JOIN tables t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indisunique
    UNION ALL
    SELECT t.relname, con.conname, 'foreign', con.conrelid, con.conkey, con.confrelid, con.confkey
    FROM pg_constraint con JOIN tables t ON t.oid = con.conrelid
    WHERE con.contype = 'f' AND ${TO_RUN_TABLE}
  ),
  named AS (
    SELECT k.*,
      (SELECT string_agg(a.attname, ', ' ORDER BY array_position(k.cols, a.attnum)) FROM pg_attribute a
        WHERE a.attrelid = k.rel AND a.attnum = ANY(k.cols)) AS columns,
      (SELECT bool_or(a.attname = 'execution_id') FROM pg_attribute a WHERE a.attrelid = k.rel AND a.attnum = ANY(k.cols)) AS has_it,
      (SELECT bool_or(a.attname = 'execution_id') FROM pg_attribute a WHERE a.attrelid = k.frel AND a.attnum = ANY(k.fcols)) AS references_it
    FROM keys k
  )
  SELECT table_name || '.' || key_name || ' (' || kind || '): ' || columns AS key FROM named
  WHERE NOT coalesce(has_it, false) OR (kind = 'foreign' AND NOT coalesce(references_it, false))
`;

/**
 * Foreign keys of the run tables with an action Citus refuses on a key that includes the distribution
 * column: ON UPDATE CASCADE / SET NULL / SET DEFAULT, ON DELETE SET NULL / SET DEFAULT.
 */
const REFUSED_FOREIGN_KEY_ACTIONS = `
  SELECT t.relname || '.' || con.conname || ' (on update ' || con.confupdtype::text || ', on delete ' || con.confdeltype::text || ')' AS key
  FROM pg_constraint con JOIN (${TABLES}) t ON t.oid = con.conrelid
  WHERE con.contype = 'f' AND ${TO_RUN_TABLE} AND (con.confupdtype IN ('c', 'n', 'd') OR con.confdeltype IN ('n', 'd'))`;

const TABLES_WITHOUT_EXECUTION_ID = `
  SELECT t.relname AS table_name FROM (${TABLES}) t
  WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'execution_id' AND NOT a.attisdropped)
  ORDER BY 1`;

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

const keysFrom = async (prisma: PrismaClient | Tx, sql: string) =>
  (await prisma.$queryRawUnsafe<{ key: string }[]>(sql)).map((r) => r.key).sort();
const lacking = (prisma: PrismaClient | Tx) => keysFrom(prisma, KEYS_WITHOUT_EXECUTION_ID);
const refusedActions = (prisma: PrismaClient | Tx) => keysFrom(prisma, REFUSED_FOREIGN_KEY_ACTIONS);

/** Runs `fn` in a transaction that is always rolled back: a key added in it is gone afterwards. */
async function inRolledBack(db: Database, fn: (tx: Tx) => Promise<string[]>) {
  const rollback = new Error("rolled back on purpose");
  let seen: string[] = [];
  await expect(
    prismaClientOf(db).$transaction(async (tx) => {
      seen = await fn(tx);
      throw rollback;
    }),
  ).rejects.toBe(rollback);
  return seen;
}

describe.each(testBackends())("run-table keys on $name", (backend) => {
  test.override({ backend });

  test("every run table carries execution_id, and every primary, unique and foreign key includes it, but the named exception", async ({
    db,
  }) => {
    const prisma = prismaClientOf(db);
    const tables = (await prisma.$queryRawUnsafe<{ relname: string }[]>(TABLES)).map((t) => t.relname).sort();
    expect(tables).toEqual(expect.arrayContaining(["consolidated_sessions", "execution_sessions", "step_sessions", "tool_calls"]));
    expect(await prisma.$queryRawUnsafe(TABLES_WITHOUT_EXECUTION_ID)).toEqual([]);
    expect(await lacking(prisma)).toEqual(EXCEPTIONS);
    // Keys never change: no foreign key cascades an update (Citus refuses that on the distribution column).
    expect(await refusedActions(prisma)).toEqual([]);
  });

  test("the action check can fail: a foreign key that cascades updates is reported", async ({ db }) => {
    const seen = await inRolledBack(db, async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE tool_calls DROP CONSTRAINT tool_calls_execution_id_step_index_fkey`);
      await tx.$executeRawUnsafe(
        `ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_execution_id_step_index_fkey FOREIGN KEY (execution_id, step_index)
         REFERENCES step_sessions (execution_id, step_index) ON DELETE CASCADE ON UPDATE CASCADE`,
      );
      return refusedActions(tx);
    });
    expect(seen).toEqual(["tool_calls.tool_calls_execution_id_step_index_fkey (on update c, on delete c)"]);
    expect(await refusedActions(prismaClientOf(db))).toEqual([]);
  });

  test("the check can fail: a unique index, a unique constraint or a foreign key without execution_id is reported", async ({ db }) => {
    const seen = await inRolledBack(db, async (tx) => {
      await tx.$executeRawUnsafe(`CREATE UNIQUE INDEX step_sessions_session_id_key ON step_sessions (session_id)`);
      await tx.$executeRawUnsafe(`ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_tool_key UNIQUE (tool_name, call_index)`);
      await tx.$executeRawUnsafe(
        `ALTER TABLE consolidated_sessions ADD CONSTRAINT consolidated_sessions_self_fkey FOREIGN KEY (consolidated_session_id)
         REFERENCES consolidated_sessions (consolidated_session_id)`,
      );
      return lacking(tx);
    });
    expect(seen).toEqual(
      [
        ...EXCEPTIONS,
        "step_sessions.step_sessions_session_id_key (unique): session_id",
        "tool_calls.tool_calls_tool_key (unique): tool_name, call_index",
        "consolidated_sessions.consolidated_sessions_self_fkey (foreign): consolidated_session_id",
      ].sort(),
    );
    expect(await lacking(prismaClientOf(db))).toEqual(EXCEPTIONS);
  });
});
