// @reev/db's public face: open a database, write and read through its DatabaseWriter, and the types
// and schemas of what goes in and comes out. What only tests, tools and the bench need is in
// `@reev/db/internal` and `@reev/db/testing`.

export { andList, closestWord, didYouMean, orList } from "./closest-word.js";
export { type ConnectFailure, connectFailure } from "./connect-failure.js";
export { type DbOption, dbOptionOf, shellWord } from "./db-option.js";
export { DATABASE_ERROR_CODES, DatabaseError, type DatabaseErrorCode, type DatabaseErrorOptions } from "./errors.js";
export { formatIssuePath } from "./issue-path.js";
export { makeDirectories, missingDirectories, pathStat } from "./make-directories.js";
export type { ResolvedMigration } from "./migrate/interrupted-migration.js";
export type { SchemaState } from "./migrate/schema-state.js";
export { type Database, type DatabaseTarget, maskUrl, type OpenDatabaseOptions, openDatabase, resolveTarget } from "./open-database.js";
export { decodePageCursor, encodePageCursor, type PageCursorKey, type PagedList } from "./page-cursor.js";
export { plainWords } from "./plain-words.js";
// Reads for viewers (the server): keyset pages and one-snapshot views of a run.
export { reachableHost } from "./reachable-host.js";
export type { ConsolidatedSessionHead } from "./reads/consolidated-row.js";
export { readConsolidatedSession } from "./reads/consolidated-session.js";
export {
  type ExecutionIdsContaining,
  evaluationIdsContaining,
  evaluationIdsNamed,
  executionIdsContaining,
} from "./reads/execution-ids-containing.js";
export { type ExecutionOverview, readExecutionOverview, type StepCounts } from "./reads/execution-overview.js";
export type { ExecutionSummary } from "./reads/execution-row.js";
export {
  type ExecutionsPage,
  type ExecutionsPageInput,
  type ExecutionsPageKey,
  listExecutionsPage,
  MAX_PAGE_LIMIT,
  ZExecutionsPageInput,
  ZExecutionsPageKey,
} from "./reads/list-executions-page.js";
export { pingDatabase } from "./reads/ping.js";
export { type RunProgress, readRunProgress } from "./reads/run-progress.js";
export { MAX_STORED_FLOW_IDS, storedFlowIds } from "./reads/stored-flow-ids.js";
export { SchemaError, type SchemaProblem, type UnresolvedMigration } from "./schema-error.js";
export {
  type AttemptLog,
  CONSOLIDATION_STATUSES,
  type ConsolidatedSessionLog,
  type ConsolidationMetadata,
  type ConsolidationStatus,
  type CreateExecutionInput,
  ERROR_KINDS,
  type ErrorKind,
  EXECUTION_STATUSES,
  type ExecutionStatus,
  type FinalExecutionStatus,
  type FinishExecutionInput,
  type JsonValue,
  type ListExecutionsInput,
  MAX_ID_LENGTH,
  type RecordedStepStatus,
  ROLLED_BACK_NOT_CONSOLIDATED,
  type SessionLog,
  type ShownConsolidationStatus,
  STEP_STATUSES,
  type StepAttemptInput,
  type StepFields,
  type StepInput,
  type StepStatus,
  shownConsolidation,
  type ToolCallInput,
  type ToolCallLog,
  ZConsolidatedSessionLog,
  ZConsolidationMetadata,
  ZConsolidationStatus,
  ZDurationMs,
  ZErrorKind,
  ZExecutionStatus,
  ZFinalExecutionStatus,
  ZId,
  ZJsonValue,
  ZRecordedStepStatus,
  ZScore,
  ZSessionLog,
  ZStepStatus,
  ZText,
  ZTimestamp,
  ZTokenCount,
} from "./schemas.js";
export { sortedKeys } from "./sorted-keys.js";
export { stepSessionId } from "./step-rows.js";
export { isStorableText, toStorableText } from "./storable-text.js";
export type { AbandonedEvaluation } from "./writer/abandoned-evaluations.js";
export {
  type AbandonedExecution,
  type AbandonedOptions,
  DEFAULT_STALE_AFTER_MS,
  executionLiveness,
  HEARTBEAT_INTERVAL_MS,
  type Liveness,
  type LivenessOptions,
  livenessFlags,
  livenessOptions,
  markedStatus,
  type OwnedRun,
  type RunMark,
  runMark,
} from "./writer/abandoned-executions.js";
export type {
  ConsolidateInput,
  Consolidation,
  ConsolidationBuilder,
  ConsolidationSource,
  ConsolidationStatusOptions,
  RecordedConsolidation,
} from "./writer/consolidated.js";
export type { ConsolidatedDocumentFrame } from "./writer/consolidated-document.js";
export type { RetryOptions, TransactionGuard, TransactionLimits, WriterOptions } from "./writer/context.js";
export { DatabaseWriter } from "./writer/database-writer.js";
export {
  type AttemptUsage,
  type CreateEvaluationInput,
  EVALUATION_STATUSES,
  type EvaluationCursor,
  type EvaluationExecutionRecord,
  type EvaluationRunRecord,
  type EvaluationStatus,
  type EvaluationStepRecord,
  type ExecutionChecks,
  type FinishEvaluationInput,
  type ListEvaluationsInput,
  type RecordChecksInput,
  type StoredCheckResult,
  ZStoredCheckResult,
} from "./writer/evaluations.js";
export type { OpenTransaction } from "./writer/execution-transactions.js";
export type { ExecutionSessionRecord } from "./writer/executions.js";
export {
  DEFAULT_PURGE_BATCH,
  MAX_PURGE_BATCH,
  type PurgeCounts,
  type PurgeHooks,
  type PurgeOptions,
  type PurgeReport,
} from "./writer/purge.js";
export type { StepSummary } from "./writer/step-summaries.js";
export type { StoredStep } from "./writer/steps.js";
