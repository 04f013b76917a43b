/**
 * The writer's statements, for the benchmark's raw-driver side: it runs the very same SQL through
 * `pg` / PGlite, so writer ÷ raw measures the writer's own overhead and nothing else. Not an API.
 */
export { type InsertStepsOutcome, insertStepsStatement } from "./insert-steps-statement.js";
export { parseStepInput, type StepRow, stepRecords, toolCallRecords, toStepRow } from "./step-rows.js";
/** Scratch PostgreSQL databases, for the bench (which must not load vitest, as `@reev/db/testing` does). */
export { createPostgresDatabase } from "./testing/test-databases.js";
