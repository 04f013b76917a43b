import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";

/**
 * Where a database stands against the migrations of this build, read from the catalog and
 * `_prisma_migrations` without changing anything:
 * - `missing`: there is no database at all (an embedded directory that does not exist, or is empty);
 * - `empty`: a database with nothing in its schema: never migrated;
 * - `foreign`: a schema that holds things but no migration history of reev's (Prisma's P3005 case):
 *   another application's database, which reev must not migrate into;
 * - `failed`: a migration started and never finished (Prisma's P3009 case): someone must resolve it;
 * - `behind`: migrations of this build not applied yet;
 * - `current`: every migration applied (`unknown` lists applied ones this build does not have: a
 *   newer reev migrated it, which `prisma migrate deploy` tolerates too).
 */
export type SchemaState =
  | { kind: "missing"; reason: "does not exist" | "is empty" }
  | { kind: "empty" }
  | { kind: "foreign"; objects: string[]; more: boolean }
  | { kind: "failed"; failed: string[] }
  | { kind: "behind"; pending: string[] }
  | { kind: "current"; unknown: string[] };

/** Catalog objects named in messages: enough to recognise the database, not a listing. */
const NAMED_OBJECTS = 5;

async function rows(adapter: SqlDriverAdapter, sql: string, schema: string | undefined): Promise<unknown[][]> {
  const result = await adapter.queryRaw({
    sql,
    args: schema === undefined ? [] : [schema],
    argTypes: schema === undefined ? [] : [{ scalarType: "string", arity: "scalar" }],
  });
  return result.rows;
}

/**
 * What the schema (the connection's, else `current_schema()`) holds besides `_prisma_migrations`:
 * relations (tables, views, sequences, indexes…), types of their own (enums, domains, ranges) and
 * routines, as Prisma counts a schema as "not empty". Text columns only, so both adapters hand back
 * the same plain values.
 */
const CATALOG = (schemaParam: string) => `
  WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = ${schemaParam}),
  objects AS (
    SELECT c.relname::text AS name, c.relkind IN ('r', 'p', 'v', 'm', 'f') AS named FROM pg_class c, ns
      WHERE c.relnamespace = ns.oid AND c.relname <> '_prisma_migrations' AND c.relname <> '_prisma_migrations_pkey'
    UNION ALL
    SELECT t.typname::text, true FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typtype IN ('e', 'd', 'r', 'm')
    UNION ALL
    SELECT p.proname::text, true FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
  )
  SELECT
    (SELECT count(*) FROM objects)::text,
    (SELECT count(*) FROM objects WHERE named)::text,
    (SELECT string_agg(name, ',' ORDER BY name) FROM (SELECT name FROM objects WHERE named ORDER BY name LIMIT ${NAMED_OBJECTS}) n),
    (SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relname = '_prisma_migrations' AND c.relkind = 'r') THEN 'yes' ELSE 'no' END)`;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Reads where the database behind `factory` stands against `migrations` (see SchemaState). Two
 * catalog queries and no schema engine: cheap enough for every command that opens a database.
 */
export async function readSchemaState(factory: SqlMigrationAwareDriverAdapterFactory, migrations: MigrationList): Promise<SchemaState> {
  const adapter = await factory.connect();
  try {
    const schema = adapter.getConnectionInfo?.().schemaName;
    const [catalog] = await rows(adapter, CATALOG(schema === undefined ? "current_schema()" : "$1"), schema);
    const [count, named, names, hasHistory] = (catalog ?? []) as [string, string, string | null, string];
    const objects = names ? names.split(",") : [];
    const foreign = { kind: "foreign" as const, objects, more: Number(named) > objects.length };
    const folder = migrations.migrationDirectories.map((d) => d.path);
    if (hasHistory !== "yes") return Number(count) ? foreign : { kind: "empty" };
    const table = `${schema ? `${quoteIdent(schema)}.` : ""}${quoteIdent("_prisma_migrations")}`;
    const history = (await rows(
      adapter,
      `SELECT migration_name,
         CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled back' WHEN finished_at IS NULL THEN 'unfinished' ELSE 'applied' END
       FROM ${table}`,
      undefined,
    )) as [string, string][];
    const failed = history.filter(([, state]) => state === "unfinished").map(([name]) => name);
    if (failed.length) return { kind: "failed", failed };
    const applied = new Set(history.filter(([, state]) => state === "applied").map(([name]) => name));
    const unknown = [...applied].filter((name) => !folder.includes(name)).sort();
    // A history with none of reev's migrations but others' is another application's (Prisma) database.
    if (unknown.length && !folder.some((name) => applied.has(name)) && Number(count)) return foreign;
    const pending = folder.filter((name) => !applied.has(name));
    return pending.length ? { kind: "behind", pending } : { kind: "current", unknown };
  } finally {
    await adapter.dispose().catch(() => {});
  }
}
