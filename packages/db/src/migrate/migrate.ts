import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { DiagnoseMigrationHistoryOutput, MigrationList } from "@prisma/schema-engine-wasm/schema_engine_bg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { newPGlite } from "../embedded-pglite.js";
import { DatabaseError } from "../errors.js";
import { MIGRATIONS_DIR, SCHEMA_PATH } from "../paths.js";
import { SchemaError } from "../schema-error.js";
import { type ResolvedMigration, resolveInterruptedMigration } from "./interrupted-migration.js";
import { readMigrationList, readSchemaFiles, writeMigration } from "./migration-files.js";
import { migrationsAlreadyApplied } from "./migration-history.js";
import { withSchemaEngine } from "./schema-engine.js";
import { readSchemaState } from "./schema-state.js";

type Factory = SqlMigrationAwareDriverAdapterFactory;
const NO_FILTER = { externalTables: [] as string[], externalEnums: [] as string[] };

export type MigrationPaths = { migrationsDir?: string; schemaPath?: string };

function migrationError(action: string, error: unknown): DatabaseError {
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError("MIGRATION", `Failed to ${action}: ${message}`, { cause: error });
}

/**
 * `prisma migrate deploy`: applies the migrations not yet applied, in name order, each recorded in
 * `_prisma_migrations` exactly as Prisma does (same engine code, same advisory lock). A migration that
 * fails is recorded as failed and later deploys refuse until it is resolved, as with Prisma. When the
 * history alone proves every migration applied, the engine is not loaded at all. A database that holds
 * tables but no migration history is refused (Prisma's P3005) with a SchemaError saying so in plain words.
 * A migration a killed deploy left unfinished is resolved first when the catalog proves how it went
 * (see resolveInterruptedMigration), else refused the same way; `resolved` says which it was.
 */
export async function migrateDeploy(
  factory: Factory,
  paths: MigrationPaths & {
    /** @internal the migrations already read from `migrationsDir` (openDatabase reads them once). */
    migrations?: MigrationList;
    /** The database as messages name it (`Database.description`). */
    database?: string;
  } = {},
): Promise<{ appliedMigrationNames: string[]; resolved?: ResolvedMigration }> {
  const migrationsDir = paths.migrationsDir ?? MIGRATIONS_DIR;
  const migrationsList = paths.migrations ?? (await readMigrationList(migrationsDir));
  if (await migrationsAlreadyApplied(factory, migrationsList)) return { appliedMigrationNames: [] };
  const database = paths.database ?? "the database";
  const state = await readSchemaState(factory, migrationsList).catch((error: unknown) => {
    throw migrationError("read the database's schema", error);
  });
  if (state.kind === "foreign") throw new SchemaError(state, database, { refusedMigration: true });
  const resolved =
    state.kind === "failed"
      ? await resolveInterruptedMigration(factory, migrationsList, { database, migrationsDir }).catch((error: unknown) => {
          throw SchemaError.isSchemaError(error) ? error : migrationError("resolve the unfinished migration", error);
        })
      : undefined;
  try {
    const { appliedMigrationNames } = await withSchemaEngine(factory, (engine) =>
      engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
    );
    return resolved ? { appliedMigrationNames, resolved } : { appliedMigrationNames };
  } catch (error) {
    throw migrationError("apply migrations", error);
  }
}

export type MigrationStatus = {
  /** Migrations in the folder that the database has not applied. */
  pending: string[];
  /** Migrations recorded as started but not finished: deploys refuse until they are resolved. */
  failed: string[];
  /** Applied migrations whose file changed since. */
  edited: string[];
  /** Applied migrations missing from the folder. */
  unknown: string[];
  upToDate: boolean;
};

/** `prisma migrate status`, without a shadow database. */
export async function migrateStatus(factory: Factory, paths: MigrationPaths = {}): Promise<MigrationStatus> {
  const migrationsList = await readMigrationList(paths.migrationsDir ?? MIGRATIONS_DIR);
  let out: DiagnoseMigrationHistoryOutput;
  try {
    out = await withSchemaEngine(factory, (engine) =>
      engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTER }),
    );
  } catch (error) {
    throw migrationError("read the migration history", error);
  }
  const history = out.history;
  const pending =
    history?.diagnostic === "databaseIsBehind" || history?.diagnostic === "historiesDiverge"
      ? history.unappliedMigrationNames
      : out.hasMigrationsTable
        ? []
        : migrationsList.migrationDirectories.map((d) => d.path);
  const unknown =
    history?.diagnostic === "migrationsDirectoryIsBehind" || history?.diagnostic === "historiesDiverge"
      ? history.unpersistedMigrationNames
      : [];
  const failed = out.failedMigrationNames;
  const edited = out.editedMigrationNames;
  return { pending, failed, edited, unknown, upToDate: !pending.length && !failed.length && !edited.length && !unknown.length };
}

/**
 * The SQL that takes a database built from the committed migrations to the schema file; empty when
 * they agree. History is replayed into a throwaway in-memory PGlite rather than Prisma's shadow
 * database, which adapter-pg cannot provide correctly (it drops the shadow database under its own pool).
 */
export async function diffMigrationsToSchema(paths: MigrationPaths = {}): Promise<string> {
  const schemaPath = paths.schemaPath ?? SCHEMA_PATH;
  const files = await readSchemaFiles(schemaPath);
  const migrationsList = await readMigrationList(paths.migrationsDir ?? MIGRATIONS_DIR);
  const scratch = newPGlite();
  try {
    const result = await withSchemaEngine(new PrismaPGlite(scratch), async (engine) => {
      if (migrationsList.migrationDirectories.length) await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
      return engine.diff({
        from: { tag: "schemaDatasource", files, configDir: schemaPath.replace(/[^/]+$/, "") },
        to: { tag: "schemaDatamodel", files },
        script: true,
        exitCode: true,
        filters: NO_FILTER,
      });
    });
    return result.exitCode === 0 ? "" : (result.stdout ?? "");
  } catch (error) {
    throw migrationError("diff the migrations against the schema", error);
  } finally {
    await scratch.close();
  }
}

/**
 * `prisma migrate dev --create-only`: writes `<timestamp>_<name>/migration.sql` with the changes the
 * schema has over the committed migrations. Returns the new folder, or undefined when nothing changed.
 */
export async function migrateCreate(name: string, paths: MigrationPaths = {}): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new DatabaseError("VALIDATION", `Migration name "${name}" may only contain letters, digits and _`, { field: "name" });
  }
  const sql = await diffMigrationsToSchema(paths);
  if (!sql.trim()) return undefined;
  return writeMigration(paths.migrationsDir ?? MIGRATIONS_DIR, name, sql);
}
