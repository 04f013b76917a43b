export { aggregateFlow, type EvaluationRun, type FlowReport, type FlowRuns, ZEvaluationRun, ZFlowRuns } from "./aggregate-flow.js";
export {
  aggregateSteps,
  CHECKS_FAILED,
  type ErrorCount,
  MAX_TOP_ERRORS,
  NO_ERROR_RECORDED,
  type StepReport,
  type StepRun,
  ZStepRun,
} from "./aggregate-steps.js";
export {
  checkExpectations,
  type ExpectCheck,
  type ExpectCheckName,
  type ExpectResult,
  type TrajectoryToolCall,
} from "./check-expectations.js";
export {
  type CheckFailure,
  type CheckRef,
  checkFailureText,
  otherReasons,
  recordedFailedChecks,
  runOutcomeText,
} from "./check-failures.js";
export {
  type ComparisonInput,
  type ComparisonVerdict,
  comparePassCounts,
  PASS_COUNT_TEST,
  type PassComparison,
  pValueText,
  SIGNIFICANCE_LEVEL,
} from "./compare-pass-counts.js";
export {
  compareReports,
  type FlowComparison,
  type ReportComparison,
  type StepComparison,
} from "./compare-reports.js";
export { COMPARISON_COLUMNS, failureRateChange, passRateChange, percent } from "./comparison-columns.js";
export { type CostGap, costUnknownNote, costUnknownReason, reportedNoUsage, storedCostGaps } from "./cost-gaps.js";
export { type EvaluationConfiguration, type FlowExpectations, ZEvaluationConfiguration } from "./evaluation-configuration.js";
export { evaluationFacts } from "./evaluation-facts.js";
export {
  ComparisonBody,
  type ComparisonPageOptions,
  comparedSideText,
  EVALUATION_CSS,
  EvaluationBody,
  type EvaluationPageOptions,
  renderComparisonHtml,
  renderEvaluationHtml,
} from "./evaluation-html.js";
export { buildEvaluationReport, type EvaluationReport, expectationsOf, runPassed } from "./evaluation-report.js";
export { type Expect, type ToolOrder, ZExpect, ZToolOrder } from "./expect.js";
export { fisherExactTest, type Table2x2, ZTable2x2 } from "./fisher-exact-test.js";
export { formatPerRunTokens, formatSigned, formatTokens, formatTokenTriple, formatUsd, scoredRuns } from "./format-usage.js";
export { findSubsetMismatch } from "./json-subset.js";
export { type PassAtKInput, passAtK, passHatK, ZPassAtKInput } from "./pass-at-k.js";
export { type PassCount, type PassRate, passRate, Z_95, ZPassCount } from "./pass-rate.js";
export { costUsd, type ModelPrice, type PriceTable, parsePriceTable, ZModelPrice, ZPriceTable } from "./price-table.js";
export { type RecordedChecks, recordStoredChecks } from "./record-checks.js";
export { type EvaluationRunOutcome, expectationsOfPlan, type RunEvaluationOptions, runEvaluation } from "./run-evaluation.js";
export { type FailedRunCheck, type RunVerdict, runOutcomeWithChecks, runVerdict, runVerdictText } from "./run-verdict.js";
export {
  type ComparedSide,
  compareStored,
  countedRuns,
  evaluationSummary,
  missingSummary,
  type StoredComparison,
  type StoredReportKind,
  storedComparisonJson,
  storedSummary,
} from "./stored-comparison.js";
export {
  type DurationSummary,
  type KnownSum,
  percentile,
  type ScoreSummary,
  sumKnown,
  summarizeDurations,
  summarizeScores,
} from "./summary-statistics.js";
export { sumUsage, type TokenUsage, type UsageTotals, ZTokenUsage } from "./token-usage.js";
