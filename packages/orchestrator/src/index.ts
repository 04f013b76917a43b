export * from "./agents/index.js";
export { type Clock, systemClock, abortableSleep } from "./clock.js";
export * from "./consolidated-content.js";
export {
  buildConsolidation,
  computeMetrics,
  consolidateExecution,
  DEFAULT_CONSOLIDATION_TIMEOUT_MS,
  getConsolidationStatus,
  type ConsolidateOptions,
  type ConsolidationInput,
  type ConsolidationResult,
  type ConsolidationStatusReport,
} from "./consolidation.js";
export { OrchestratorError, type OrchestratorErrorCode } from "./errors.js";
export * from "./flow-plan.js";
export { DiagramError, renderFlowDiagram, renderHtmlPage, type HtmlPageOptions } from "./mermaid/index.js";
export {
  backoffDelay,
  DEFAULT_STEP_TIMEOUT_MS,
  PingPongExecutor,
  type ExecuteOptions,
  type ExecutionEvent,
  type ExecutionResult,
  type ExecutorOptions,
  type StepOutcome,
  type StepResult,
} from "./ping-pong-executor.js";
export { describePreviousResults, missingPlaceholders, renderPrompt, type TemplateVars } from "./prompt-template.js";
