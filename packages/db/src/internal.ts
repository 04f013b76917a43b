// What tests, tools and the bench may use beside the public API. Not a stable interface.

export { toDatabaseError } from "./errors.js";
export type { PrismaClient } from "./generated/prisma/client.js";
/**
 * The writer's statements, for the benchmark's raw-driver side: it runs the very same SQL through
 * `pg` / PGlite, so writer ÷ raw measures the writer's own overhead and nothing else.
 */
export { type InsertStepsOutcome, insertStepsStatement } from "./insert-steps-statement.js";
export {
  diffMigrationsToSchema,
  type MigrationPaths,
  type MigrationStatus,
  migrateCreate,
  migrateDeploy,
  migrateStatus,
} from "./migrate/migrate.js";
export { readSchemaState } from "./migrate/schema-state.js";
export { DEFAULT_DATA_DIR, pgliteOf, prismaClientOf } from "./open-database.js";
export { MIGRATIONS_DIR, SCHEMA_PATH } from "./paths.js";
export { statementName } from "./prepared-statement.js";
export { listExecutionsStatement } from "./reads/list-executions-page.js";
export { DEFAULT_MAX_CONSOLIDATED_BYTES, DEFAULT_MAX_CONTENT_BYTES, ZStepFields } from "./schemas.js";
export { parseStepContent } from "./step-content.js";
export { parseStepInput, type StepRow, stepRecords, toolCallRecords, toStepRow } from "./step-rows.js";
/** Scratch PostgreSQL databases, for the bench (which must not load vitest, as `@reev/db/testing` does). */
export { createPostgresDatabase } from "./testing/test-databases.js";
