import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { MIGRATIONS_DIR } from "../paths.js";

/**
 * Everything a command could create or change in a database's schema, as sorted lines: every relation
 * (tables, indexes, sequences, views) and type outside the system schemas, every schema, and every row
 * of `_prisma_migrations`. Two equal snapshots mean nothing was created, migrated or recorded between.
 */
const CATALOG_SQL = `
  SELECT 'schema ' || nspname AS line FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  UNION ALL
  SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;

const MIGRATIONS_SQL = `
  SELECT 'migration ' || concat_ws(' ', id, migration_name, checksum, finished_at::text, rolled_back_at::text, applied_steps_count::text) AS line
  FROM _prisma_migrations`;

/** The catalog snapshot through any way of running a query that returns `{ line }` rows. */
export async function catalogSnapshot(query: (sql: string) => Promise<{ line: string }[]>): Promise<string[]> {
  const lines = (await query(CATALOG_SQL)).map((r) => r.line);
  if (lines.some((line) => /^relation \S+\._prisma_migrations r$/.test(line)))
    lines.push(...(await query(MIGRATIONS_SQL)).map((r) => r.line));
  return lines.sort();
}

/** The catalog snapshot of a PostgreSQL database, read over a connection of its own. */
export async function postgresCatalogSnapshot(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await catalogSnapshot(async (sql) => (await client.query<{ line: string }>(sql)).rows);
  } finally {
    await client.end();
  }
}

/**
 * A copy of this build's migrations without the newest `drop` of them: deployed, it leaves a database
 * one step behind, as a database migrated by the previous release is. `remove()` deletes the copy.
 */
export function olderMigrations(drop = 1): { dir: string; missing: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "reev-older-migrations-"));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const missing = names.slice(-drop);
  for (const name of missing) rmSync(join(dir, name), { recursive: true });
  return { dir, missing, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
