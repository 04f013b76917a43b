import { DatabaseError } from "./errors.js";
import type { SchemaState } from "./migrate/schema-state.js";

export type SchemaProblem = Exclude<SchemaState, { kind: "current" }>;

/** Why migrate could not resolve a migration left unfinished, and where its SQL is. */
export type UnresolvedMigration = { reason: string; sql: string };

/** "1 migration", "3 migrations", and their names. */
function migrationsPhrase(names: readonly string[]): string {
  return `${names.length} ${names.length === 1 ? "migration" : "migrations"} (${names.join(", ")})`;
}

/** "it holds tables or types (orders, users, …) that reev did not create" */
function foreignObjects({ objects, more }: { objects: string[]; more: boolean }): string {
  const names = objects.length ? ` (${[...objects, ...(more ? ["…"] : [])].join(", ")})` : "";
  return `it holds tables or types${names} that reev did not create`;
}

function describeProblem(problem: SchemaProblem, database: string): string {
  switch (problem.kind) {
    case "missing":
      return `There is no database at ${database}: the directory ${problem.reason}.`;
    case "empty":
      return `${database} has no reev tables: it has never been migrated.`;
    case "foreign":
      return `${database} is not empty and has no reev migration history: ${foreignObjects(problem)}.`;
    case "failed":
      return `${database} has a migration that was started and never finished: ${problem.failed.join(", ")} (an interrupted or failed migrate leaves this).`;
    case "behind":
      return `${database} is behind this version of reev: ${migrationsPhrase(problem.pending)} not applied yet.`;
  }
}

/**
 * A database that is not ready for this build, and was left as it was (code SCHEMA). `problem` says
 * how, so a caller can name its own next step (a CLI its migrate command, a server its setup); the
 * message says what is wrong in plain words, naming the database (password masked).
 */
export class SchemaError extends DatabaseError {
  readonly problem: SchemaProblem;
  /** The database, as `Database.description` names it. */
  readonly database: string;

  /**
   * Set when migrate looked at a migration started and never finished and could not prove whether its
   * SQL was applied: why, and the file holding that SQL (what a person repairing it by hand reads).
   */
  readonly unresolved: UnresolvedMigration | undefined;

  /** `refusedMigration`: the database was to be migrated, and was not (Prisma's P3005 case). */
  constructor(problem: SchemaProblem, database: string, options: { refusedMigration?: boolean; unresolved?: UnresolvedMigration } = {}) {
    const message =
      options.refusedMigration && problem.kind === "foreign"
        ? `Refusing to migrate ${database}: it is not empty and has no reev migration history, and ${foreignObjects(problem)}.`
        : options.unresolved && problem.kind === "failed"
          ? `Refusing to migrate ${database}: migration ${problem.failed.join(", ")} was started and never finished, and ${options.unresolved.reason}; reev cannot tell whether its SQL was applied, so it changed nothing.`
          : describeProblem(problem, database);
    super("SCHEMA", message, { field: "url" });
    this.problem = problem;
    this.database = database;
    this.unresolved = options.unresolved;
  }

  static isSchemaError(error: unknown): error is SchemaError {
    return error instanceof SchemaError;
  }
}
