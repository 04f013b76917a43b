export * from "./agents/index.js";
export { abortableSleep, type Clock, systemClock } from "./clock.js";
export * from "./consolidated-content.js";
export {
  buildConsolidation,
  type ConsolidateOptions,
  type ConsolidationInput,
  type ConsolidationResult,
  type ConsolidationStatusReport,
  computeMetrics,
  consolidateExecution,
  DEFAULT_CONSOLIDATION_TIMEOUT_MS,
  getConsolidationStatus,
} from "./consolidation.js";
export { OrchestratorError, type OrchestratorErrorCode } from "./errors.js";
export * from "./flow-plan.js";
export { DiagramError, type HtmlPageOptions, renderFlowDiagram, renderHtmlPage } from "./mermaid/index.js";
export {
  backoffDelay,
  DEFAULT_STEP_TIMEOUT_MS,
  type ExecuteOptions,
  type ExecutionEvent,
  type ExecutionResult,
  type ExecutorOptions,
  PingPongExecutor,
  type StepOutcome,
  type StepResult,
} from "./ping-pong-executor.js";
export { describePreviousResults, missingPlaceholders, renderPrompt, type TemplateVars } from "./prompt-template.js";
