// @reev/orchestrator's public face, named one by one: what a program that runs flows, writes an
// agent, or draws stored runs needs. Everything else is the package's own business. No terminal code:
// printing, progress and exit codes belong to @reev/cli.

// "Did you mean …?" for a word from a fixed set: an input file's keys, a CLI option's words.
export { andList, closestWord, didYouMean, orList } from "@reev/db";
// Agents: the contract, and the two shipped with reev.
export type { Agent, AgentResult, PreviousStepResult, StepContext, ToolCallRecord } from "./agents/agent.js";
export { ZAgentResult, ZToolCallRecord } from "./agents/agent.js";
export {
  missingOpenAIEnvironment,
  OPENAI_ENVIRONMENT,
  OpenAIChatAgent,
  type OpenAIChatAgentOptions,
  type ToolHandler,
} from "./agents/openai-chat-agent.js";
export {
  pickAttempt,
  ScriptedAgent,
  type ScriptedAgentOptions,
  type Sleep,
  type UnscriptedProblem,
  unscriptedProblem,
  unscriptedSteps,
} from "./agents/scripted-agent.js";
export type { Clock } from "./clock.js";
// Consolidation: a run's committed steps as one document with its metrics.
export type {
  ConsolidatedAttempt,
  ConsolidatedContent,
  ConsolidatedMetrics,
  ConsolidatedStep,
  ConsolidatedStepStatus,
  ConsolidatedToolCall,
} from "./consolidated-content.js";
export { ZConsolidatedContent } from "./consolidated-content.js";
export {
  buildConsolidation,
  type ConsolidateOptions,
  type ConsolidationInput,
  type ConsolidationResult,
  type ConsolidationStatusReport,
  computeMetrics,
  consolidateAgain,
  consolidateExecution,
  consolidationReport,
  DEFAULT_CONSOLIDATION_TIMEOUT_MS,
  documentCostGaps,
  droppedCostWarning,
  getConsolidationStatus,
  sessionMetadata,
} from "./consolidation.js";
// Counts with their nouns ("1 run", "3 runs") in every message.
export { counted } from "./counted.js";
export { errorMessage, OrchestratorError, type OrchestratorErrorCode, type OrchestratorErrorOptions } from "./errors.js";
// Evaluation: estimators, trajectory checks, usage and cost, and the per-flow report of many runs.
export {
  aggregateFlow,
  aggregateSteps,
  buildEvaluationReport,
  type CheckFailure,
  COMPARISON_COLUMNS,
  type ComparedSide,
  ComparisonBody,
  type ComparisonPageOptions,
  type ComparisonVerdict,
  type CostGap,
  checkExpectations,
  checkFailureText,
  comparedSideText,
  comparePassCounts,
  compareReports,
  compareStored,
  costUnknownNote,
  costUnknownReason,
  costUsd,
  countedRuns,
  EVALUATION_CSS,
  EvaluationBody,
  type EvaluationConfiguration,
  type EvaluationPageOptions,
  type EvaluationReport,
  type EvaluationRun,
  type EvaluationRunOutcome,
  type Expect,
  type ExpectCheck,
  type ExpectResult,
  evaluationFacts,
  evaluationSummary,
  expectationsOf,
  expectationsOfPlan,
  type FailedRunCheck,
  type FlowComparison,
  type FlowExpectations,
  type FlowReport,
  type FlowRuns,
  failureRateChange,
  findSubsetMismatch,
  fisherExactTest,
  formatPerRunTokens,
  formatSigned,
  formatTokens,
  formatTokenTriple,
  formatUsd,
  type KnownSum,
  missingSummary,
  otherReasons,
  PASS_COUNT_TEST,
  type PassComparison,
  type PassRate,
  type PriceTable,
  parsePriceTable,
  passAtK,
  passHatK,
  passRate,
  passRateChange,
  percent,
  pValueText,
  type RecordedChecks,
  type ReportComparison,
  type RunEvaluationOptions,
  type RunVerdict,
  recordedFailedChecks,
  recordStoredChecks,
  renderComparisonHtml,
  renderEvaluationHtml,
  reportedNoUsage,
  runEvaluation,
  runOutcomeText,
  runOutcomeWithChecks,
  runPassed,
  runVerdict,
  runVerdictText,
  SIGNIFICANCE_LEVEL,
  type StepComparison,
  type StepReport,
  type StepRun,
  type StoredComparison,
  type StoredReportKind,
  scoredRuns,
  storedComparisonJson,
  storedCostGaps,
  storedSummary,
  sumKnown,
  sumUsage,
  type TokenUsage,
  type TrajectoryToolCall,
  ZEvaluationConfiguration,
  ZExpect,
  ZPriceTable,
  ZTokenUsage,
} from "./evaluation/index.js";
// Everything stored about one execution, as one document: `reev export` and the server's export route.
export { EXPORT_FORMATS, type ExportDocument, type ExportFormat, exportDocument, exportExecution } from "./export-execution.js";
// Flow plans: what a flow file holds, checked.
export {
  type FlowPlan,
  type FlowStep,
  loadFlowPlan,
  loadFlowPlans,
  parseFlowPlan,
  type RetryPolicy,
  type ScriptedAttempt,
  type ScriptedToolCall,
  ZFlowPlan,
} from "./flow-plan.js";
// The one duration format of every view of a run: the terminal, the diagram, the report.
export { formatDuration } from "./format-duration.js";
export { formatPercent } from "./format-percent.js";
export { utcStamp, utcTime } from "./format-time.js";
export { Heartbeat } from "./heartbeat.js";
// zod's words for a missing field as a person's ("is required"), for every input file's parse.
export { plainWords } from "./issue-problems.js";
export { jsonErrorWords } from "./json-error-words.js";
// Diagrams and the HTML report, pure: stored content in, text out. The report's hono/jsx components,
// stylesheet, script and browser bundles are public so the web viewer shows a run the same way.
export {
  type AbandonedRun,
  attemptsText,
  ChecksSection,
  CLIENT_BUNDLES,
  type ClientBundleName,
  checksCell,
  clientBundle,
  DiagramError,
  type DiagramErrorCode,
  drawnStateIds,
  FlowDiagramView,
  type FoldLink,
  foldedDiagramNote,
  foldLines,
  foldLinks,
  type HtmlPageOptions,
  MAX_DRAWN_STEPS,
  parseConsolidatedContent,
  REPORT_CSS,
  REPORT_SCRIPT,
  type ReportExecution,
  type RunChecks,
  RunMetrics,
  renderFlowDiagram,
  renderHtmlPage,
  StatusBanner,
  type StepGap,
  StepRows,
  StepTable,
  type StepWindow,
} from "./mermaid/index.js";
export { nearWords } from "./near-words.js";
// Running flows.
export {
  type AttemptResult,
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
export { cancellationReason } from "./run-cancellation.js";
// The one glyph per run or step status, for every view.
export { type GlyphStatus, markedGlyph, statusGlyph } from "./status-glyph.js";
// A run cut short by a dead process: the planned steps it has no record of.
export { plannedStepCount, unrunStepsWords } from "./unrun-steps.js";
