// @reev/db's public face: open a database, write and read through its DatabaseWriter, and the types
// and schemas of what goes in and comes out. What only tests, tools and the bench need is in
// `@reev/db/internal` and `@reev/db/testing`.

export { DATABASE_ERROR_CODES, DatabaseError, type DatabaseErrorCode, type DatabaseErrorOptions } from "./errors.js";
export { formatIssuePath } from "./issue-path.js";
export { type Database, type DatabaseTarget, maskUrl, type OpenDatabaseOptions, openDatabase, resolveTarget } from "./open-database.js";
export {
  CONSOLIDATION_STATUSES,
  type ConsolidatedSessionLog,
  type ConsolidationMetadata,
  type ConsolidationStatus,
  type CreateExecutionInput,
  EXECUTION_STATUSES,
  type ExecutionStatus,
  type FinalExecutionStatus,
  type FinishExecutionInput,
  type JsonValue,
  type ListExecutionsInput,
  MAX_ID_LENGTH,
  type RecordedStepStatus,
  type SessionLog,
  STEP_STATUSES,
  type StepFields,
  type StepInput,
  type StepStatus,
  type ToolCallInput,
  type ToolCallLog,
  ZConsolidatedSessionLog,
  ZConsolidationMetadata,
  ZDurationMs,
  ZExecutionStatus,
  ZFinalExecutionStatus,
  ZId,
  ZJsonValue,
  ZRecordedStepStatus,
  ZScore,
  ZSessionLog,
  ZStepStatus,
  ZText,
} from "./schemas.js";
export { sortedKeys } from "./sorted-keys.js";
export { stepSessionId } from "./step-rows.js";
export { isStorableText, toStorableText } from "./storable-text.js";
export type { ConsolidateInput, Consolidation, ConsolidationBuilder, ConsolidationSource } from "./writer/consolidated.js";
export type { RetryOptions, TransactionGuard, TransactionLimits, WriterOptions } from "./writer/context.js";
export { DatabaseWriter } from "./writer/database-writer.js";
export {
  type CreateEvaluationInput,
  EVALUATION_STATUSES,
  type EvaluationCursor,
  type EvaluationExecutionRecord,
  type EvaluationRunRecord,
  type EvaluationStatus,
  type EvaluationStepRecord,
  type FinishEvaluationInput,
  type ListEvaluationsInput,
  type RecordChecksInput,
  type StoredCheckResult,
  ZStoredCheckResult,
} from "./writer/evaluations.js";
export type { OpenTransaction } from "./writer/execution-transactions.js";
export type { ExecutionSessionRecord } from "./writer/executions.js";
export type { StoredStep } from "./writer/steps.js";
