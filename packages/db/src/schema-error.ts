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

/** The next step for a program that opened the database (openDatabase's options); reev's CLI names its own commands instead. */
function libraryAdvice(problem: SchemaProblem, unresolved: UnresolvedMigration | undefined): string {
  switch (problem.kind) {
    case "missing":
      return "Check the url, or open it with `migrate: true` to create it.";
    case "empty":
      return "Open it with `migrate: true` (what `reev migrate` does) to create them.";
    case "behind":
      return "Open it with `migrate: true` (what `reev migrate` does) to apply them.";
    case "foreign":
      return "Give reev an empty database of its own.";
    case "failed":
      return unresolved
        ? `Restore it from a backup taken before the migration, or repair it by hand to match ${unresolved.sql}, then open it with \`migrate: true\`.`
        : "Open it with `migrate: true`: migrate finds out whether the migration's SQL was applied, records it so and applies what is left.";
  }
}

/**
 * A database that is not ready for this build, and was left as it was (code SCHEMA). `problem` says
 * how, so a caller can name its own next step (a CLI its migrate command, a server its setup): the
 * message is `description`, what is wrong in plain words naming the database (password masked),
 * then the next step for a program that opened it with openDatabase.
 */
export class SchemaError extends DatabaseError {
  readonly problem: SchemaProblem;
  /** What is wrong, without the library's next step: the message a caller with its own next step (reev's CLI) gives. */
  readonly description: string;
  /** The database, as `Database.description` names it. */
  readonly database: string;

  /**
   * Set when migrate looked at a migration started and never finished and could not prove whether its
   * SQL was applied: why, and the file holding that SQL (what a person repairing it by hand reads).
   */
  readonly unresolved: UnresolvedMigration | undefined;

  /** `refusedMigration`: the database was to be migrated, and was not (Prisma's P3005 case). */
  constructor(problem: SchemaProblem, database: string, options: { refusedMigration?: boolean; unresolved?: UnresolvedMigration } = {}) {
    const description =
      options.refusedMigration && problem.kind === "foreign"
        ? `Refusing to migrate ${database}: it is not empty and has no reev migration history, and ${foreignObjects(problem)}.`
        : options.unresolved && problem.kind === "failed"
          ? `Refusing to migrate ${database}: migration ${problem.failed.join(", ")} was started and never finished, and ${options.unresolved.reason}; reev cannot tell whether its SQL was applied, so it changed nothing.`
          : describeProblem(problem, database);
    super("SCHEMA", `${description} ${libraryAdvice(problem, options.unresolved)}`, { field: "url" });
    this.description = description;
    this.problem = problem;
    this.database = database;
    this.unresolved = options.unresolved;
  }

  static isSchemaError(error: unknown): error is SchemaError {
    return error instanceof SchemaError;
  }
}
