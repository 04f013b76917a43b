import { createHash } from "node:crypto";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";

/** The provider the migrations' lock file must name for the engine to accept them on PostgreSQL. */
const PROVIDER = "postgresql";

/** As the engine reads `migration_lock.toml`: the first line starting with "provider". */
function lockfileProvider(content: string | null): string | undefined {
  if (content === null) return undefined;
  const line = content.split("\n").find((l) => l.startsWith("provider"));
  return line ? line.replace(/^provider = /, "").replace(/^"+|"+$/g, "") : "<PROVIDER NOT FOUND>";
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Whether `_prisma_migrations` proves that `migrate deploy` has nothing to do: every migration in
 * `migrations` has a finished, not rolled back record whose checksum is the SHA-256 of its script as
 * it is now (Prisma's current checksum format), no migration is failed or in progress, and the lock
 * file names PostgreSQL. Loading the schema engine to conclude the same costs a WebAssembly compile
 * per process; this is one query. Anything it cannot prove (no table yet, an edited or missing
 * migration, a checksum in a legacy format, a failed migration, an error) answers `false`, and the
 * engine decides and reports as before: the check can make a deploy faster, never different.
 */
export async function migrationsAlreadyApplied(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrations: MigrationList,
): Promise<boolean> {
  const provider = lockfileProvider(migrations.lockfile.content);
  if (provider !== undefined && provider !== PROVIDER) return false;
  const expected = new Map<string, string>();
  for (const { path, migrationFile } of migrations.migrationDirectories) {
    if (migrationFile.content.tag !== "ok") return false;
    expected.set(path, createHash("sha256").update(migrationFile.content.value).digest("hex"));
  }
  let adapter: SqlDriverAdapter | undefined;
  try {
    adapter = await factory.connect();
    const schema = adapter.getConnectionInfo?.().schemaName;
    const table = `${schema ? `${quoteIdent(schema)}.` : ""}${quoteIdent("_prisma_migrations")}`;
    // Text columns only, so both adapters hand back the same plain values.
    const result = await adapter.queryRaw({
      sql: `SELECT migration_name, checksum,
              CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled back' WHEN finished_at IS NULL THEN 'unfinished' ELSE 'applied' END AS state
            FROM ${table}`,
      args: [],
      argTypes: [],
    });
    const applied = new Set<string>();
    for (const [name, checksum, state] of result.rows as [string, string, string][]) {
      if (state === "unfinished") return false;
      if (state === "applied" && expected.get(name) === checksum) applied.add(name);
    }
    return [...expected.keys()].every((name) => applied.has(name));
  } catch {
    return false;
  } finally {
    await adapter?.dispose().catch(() => {});
  }
}
