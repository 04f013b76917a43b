import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import type { SqlMigrationAwareDriverAdapterFactory, SqlQueryable, Transaction } from "@prisma/driver-adapter-utils";
import type { MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";
import { newPGlite } from "../embedded-pglite.js";
import { SchemaError } from "../schema-error.js";

/** The advisory lock key Prisma's schema engine holds while it migrates (see withSchemaEngine). */
const PRISMA_MIGRATION_LOCK = 72707369;

/** How an interrupted migration's history row was resolved, as `prisma migrate resolve` would have. */
export type ResolvedMigration = { name: string; as: "rolled-back" | "applied" };

/**
 * The schema as sorted lines: relations, columns (type, nullability, default), constraints, indexes,
 * types (enum labels), routines, triggers and views, without `_prisma_migrations`. The schema's own
 * name is stripped from definitions so a database in another schema compares equal to the scratch one
 * in `public`. Left out, as the scratch PGlite and a server differ there for the same migrations: the
 * NOT NULL constraints PostgreSQL 18 lists besides `attnotnull`, and column compression (lz4 is only
 * set where the server offers it). Text only, so both adapters hand back plain strings.
 */
const FINGERPRINT = (schemaParam: string) => `
  WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ${schemaParam}),
  rel AS (SELECT c.* FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname NOT IN ('_prisma_migrations', '_prisma_migrations_pkey')),
  lines AS (
    SELECT 'relation ' || relname || ' ' || relkind::text AS line FROM rel
    UNION ALL
    SELECT 'column ' || rel.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
        || ' ' || a.attidentity::text || a.attgenerated::text
      FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint ' || rel.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN rel ON rel.oid = k.conrelid
      WHERE k.contype <> 'n'
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN rel ON rel.oid = i.indrelid
    UNION ALL
    SELECT 'type ' || t.typname || ' ' || t.typtype::text
        || coalesce(' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typtype IN ('e', 'd', 'r', 'm')
    UNION ALL
    SELECT 'routine ' || CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' END
      FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN rel ON rel.oid = g.tgrelid WHERE NOT g.tgisinternal
    UNION ALL
    SELECT 'view ' || relname || ' ' || pg_get_viewdef(oid) FROM rel WHERE relkind IN ('v', 'm')
  )
  SELECT replace(line, (SELECT quote_ident(nspname) FROM ns) || '.', '')::text AS line FROM lines`;

const sameLines = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((line, i) => line === b[i]);

const textArgs = (args: string[]) => ({ args, argTypes: args.map(() => ({ scalarType: "string" as const, arity: "scalar" as const })) });

async function textRows(queryable: SqlQueryable, sql: string, args: string[] = []): Promise<string[][]> {
  const result = await queryable.queryRaw({ sql, ...textArgs(args) });
  return result.rows as string[][];
}

async function fingerprint(queryable: SqlQueryable, schema: string | undefined): Promise<string[]> {
  const rows = await textRows(
    queryable,
    FINGERPRINT(schema === undefined ? "current_schema()" : "$1"),
    schema === undefined ? [] : [schema],
  );
  return rows.map(([line]) => line ?? "").sort();
}

/**
 * The schemas the migrations before `index` and up to `index` build, replayed into a throwaway
 * in-memory PGlite the way the engine runs each one (the whole script as one simple query). `after`
 * is undefined when the migration fails there: no database in the `before` state can have applied it.
 */
async function replayedSchemas(migrations: MigrationList, index: number): Promise<{ before: string[]; after: string[] | undefined }> {
  const scratch = newPGlite();
  const lines = async () => (await scratch.query<{ line: string }>(FINGERPRINT("$1"), ["public"])).rows.map((r) => r.line).sort();
  try {
    const scripts = migrations.migrationDirectories.map((d) => (d.migrationFile.content.tag === "ok" ? d.migrationFile.content.value : ""));
    for (const script of scripts.slice(0, index)) await scratch.exec(script);
    const before = await lines();
    const failed = await scratch.exec(scripts[index] ?? "").then(
      () => false,
      () => true,
    );
    return { before, after: failed ? undefined : await lines() };
  } finally {
    await scratch.close();
  }
}

/**
 * Ends `tx` as Prisma's own client does: an adapter whose transactions are not "phantom" (adapter-pg)
 * only releases the connection on commit() and rollback(), so COMMIT or ROLLBACK is sent first.
 */
async function endTransaction(tx: Transaction, action: "COMMIT" | "ROLLBACK"): Promise<void> {
  try {
    if (!tx.options.usePhantomQuery) await tx.executeRaw({ sql: action, args: [], argTypes: [] });
  } finally {
    await (action === "COMMIT" ? tx.commit() : tx.rollback());
  }
}

type HistoryRow = { id: string; name: string; state: "applied" | "unfinished" | "rolled back" };

/**
 * Resolves the history row a killed `migrate deploy` left unfinished, as `prisma migrate resolve` would,
 * when the database's catalog proves which way it went; otherwise refuses with a SchemaError saying why.
 *
 * Why it can be proved: the engine records the row (its own statement), then runs the migration's
 * script as one simple query, which PostgreSQL runs as one implicit transaction, then sets
 * `finished_at`. A process killed in between leaves either none of the script (the server rolls the
 * transaction back when the connection drops) or all of it; a script that failed with an error was
 * rolled back the same way. So a schema equal to the one the migrations before it build means "rolled
 * back" (it is then applied again), equal to the one including it means "applied"; anything else (a
 * script with its own COMMIT that stopped between, hand edits) is refused, never guessed. The check
 * holds Prisma's migration lock, which the killed session keeps until the server has ended it, so a
 * script the server is still finishing is waited for, not raced.
 */
export async function resolveInterruptedMigration(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrations: MigrationList,
  paths: { database: string; migrationsDir: string },
): Promise<ResolvedMigration | undefined> {
  const folder = migrations.migrationDirectories.map((d) => d.path);
  const adapter = await factory.connect();
  const schema = adapter.getConnectionInfo?.().schemaName;
  const table = `${schema ? `"${schema.replaceAll('"', '""')}".` : ""}"_prisma_migrations"`;
  const tx = await adapter.startTransaction();
  let committed = false;
  try {
    await tx.executeRaw({ sql: "SET LOCAL lock_timeout = '10s'", args: [], argTypes: [] });
    await textRows(tx, `SELECT pg_advisory_xact_lock(${PRISMA_MIGRATION_LOCK})::text`);
    const history: HistoryRow[] = (
      await textRows(
        tx,
        `SELECT id, migration_name,
           CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled back' WHEN finished_at IS NULL THEN 'unfinished' ELSE 'applied' END
         FROM ${table} ORDER BY started_at`,
      )
    ).map(([id, name, state]) => ({ id: id ?? "", name: name ?? "", state: state as HistoryRow["state"] }));
    const unfinished = history.filter((row) => row.state === "unfinished");
    // Another reev migrate resolved it while this one waited for the lock.
    if (!unfinished.length) return undefined;
    const refuse = (reason: string): never => {
      throw new SchemaError({ kind: "failed", failed: unfinished.map((row) => row.name) }, paths.database, {
        unresolved: { reason, sql: join(paths.migrationsDir, unfinished[0]?.name ?? "", "migration.sql") },
      });
    };
    const [row] = unfinished;
    if (!row || unfinished.length > 1) return refuse("there are several such migrations, which one interrupted migrate never leaves");
    const index = folder.indexOf(row.name);
    if (index < 0) return refuse("it is not one of this reev's migrations (a newer reev started it)");
    const applied = history
      .filter((r) => r.state === "applied")
      .map((r) => r.name)
      .sort();
    if (!sameLines(applied, folder.slice(0, index))) {
      return refuse("the migrations recorded as applied are not exactly the ones before it");
    }
    const { before, after } = await replayedSchemas(migrations, index);
    if (after && sameLines(before, after)) {
      return refuse("it changes no table, column, index or type, so the schema cannot show whether it ran");
    }
    const actual = await fingerprint(tx, schema);
    const as = sameLines(actual, before) ? "rolled-back" : after && sameLines(actual, after) ? "applied" : undefined;
    if (!as) return refuse("the schema matches neither the migrations before it nor the ones including it");
    // As `prisma migrate resolve`: the row is marked rolled back; for --applied a finished row is recorded beside it.
    await tx.executeRaw({
      sql: `UPDATE ${table} SET rolled_back_at = now() WHERE id = $1`,
      ...textArgs([row.id]),
    });
    if (as === "applied") {
      const content = migrations.migrationDirectories[index]?.migrationFile.content;
      const checksum = createHash("sha256")
        .update(content?.tag === "ok" ? content.value : "")
        .digest("hex");
      await tx.executeRaw({
        sql: `INSERT INTO ${table} (id, checksum, started_at, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), now(), $3, 0)`,
        ...textArgs([randomUUID(), checksum, row.name]),
      });
    }
    await endTransaction(tx, "COMMIT");
    committed = true;
    return { name: row.name, as };
  } finally {
    if (!committed) await endTransaction(tx, "ROLLBACK").catch(() => {});
    await adapter.dispose().catch(() => {});
  }
}
