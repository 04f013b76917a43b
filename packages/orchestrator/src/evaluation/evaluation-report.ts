import type { EvaluationExecutionRecord, EvaluationStepRecord } from "@reev/db";
import { counted } from "../counted.js";
import { aggregateFlow, type EvaluationRun, type FlowReport } from "./aggregate-flow.js";
import { CHECKS_FAILED, type StepRun } from "./aggregate-steps.js";
import { aggregateCheckFailures, type CheckFailure, type CheckRef, failedChecksOf, failedInVerdict, NO_VERDICT } from "./check-failures.js";
import { type CostGap, costGaps, costUnknownNote, reportedNoUsage } from "./cost-gaps.js";
import type { FlowExpectations } from "./evaluation-configuration.js";
import { type PriceTable, runCostUsd } from "./price-table.js";
import { attemptedUsage, sumUsage } from "./token-usage.js";

/**
 * One run's own figures, beside its id: what the report's per-flow sums are made of. `status` is its
 * stored status, `failedChecks` the checks it failed and `error` its stored error, why it stopped
 * (null when it has none; all three absent from summaries stored before them). A rolled-back run has no
 * step left to tell why: its error is the only place that says it.
 */
export type RunTotals = Pick<EvaluationRun, "runId" | "passed" | "inputTokens" | "outputTokens" | "cachedInputTokens" | "costUsd"> & {
  status?: string;
  failedChecks?: CheckRef[];
  error?: string | null;
};

export type EvaluationReport = {
  /**
   * `runIds` in the order run; `runTotals` the same runs' tokens and cost (absent from summaries stored
   * before usage was read); `checkFailures` which `expect` checks failed in how many runs, and why
   * (absent from summaries stored before it).
   */
  flows: (FlowReport & { runIds: string[]; runTotals?: RunTotals[]; checkFailures?: CheckFailure[] })[];
  runs: number;
  passes: number;
  /** What the figures cannot say, in plain words (unknown usage, runs left out). */
  notes: string[];
};

/** A run passes when it completed and every verdict it must carry is stored and held. Never from the agent's text. */
export function runPassed(execution: EvaluationExecutionRecord, expected: FlowExpectations): boolean {
  if (execution.status !== "completed") return false;
  if (expected.flow && execution.checks?.passed !== true) return false;
  return expected.steps.every((stepId) => execution.steps.find((s) => s.stepId === stepId)?.checks?.passed === true);
}

/**
 * One step of one run for the step table. Its failed checks are not its errors: the report lists them,
 * with their reasons, as the flow's checks that failed (failedChecksOf), and a step's most common
 * errors that repeat them said each failure twice. A step that failed has its own error; one that
 * succeeded and failed only checks is CHECKS_FAILED. A missing verdict is listed with the checks only
 * in a completed run, so in any other it stays the step's error.
 */
function stepRun(step: EvaluationStepRecord, expectsChecks: boolean, runCompleted: boolean): StepRun {
  const stepId = step.stepId ?? `step ${step.stepIndex}`;
  if (step.status === "skipped") return { stepId, outcome: "skipped", errors: [], timedOut: false };
  const noVerdict = expectsChecks && step.checks === null;
  const checksFailed = noVerdict || failedInVerdict(step.checks).length > 0;
  if (step.status === "success" && !checksFailed) return { stepId, outcome: "passed", errors: [], timedOut: false };
  const errors =
    step.status !== "success"
      ? step.error
        ? [step.error]
        : []
      : noVerdict && !runCompleted
        ? [`${NO_VERDICT.check}: ${NO_VERDICT.reason}`]
        : [CHECKS_FAILED];
  return { stepId, outcome: "failed", errors, timedOut: step.status === "timed_out" };
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

/**
 * A run's usage: every attempt of every step that was attempted (a skipped step used nothing), as
 * consolidation sums total_input_tokens. A count is null when an attempted step recorded no attempts or
 * one attempt lacks it; the cost is null without a price table or when one attempt cannot be priced
 * (runCostUsd, as consolidation's cost_usd). A run that attempted no step has no usage to report: null, not 0.
 */
function runUsage(steps: readonly EvaluationStepRecord[], prices: PriceTable | null) {
  const usages = attemptedUsage(steps, (s) => s.usage);
  if (usages === null) return { inputTokens: null, outputTokens: null, cachedInputTokens: null, costUsd: null };
  const totals = sumUsage(usages);
  return {
    inputTokens: totals.inputTokens.total,
    outputTokens: totals.outputTokens.total,
    cachedInputTokens: totals.cachedInputTokens.total,
    costUsd: runCostUsd(usages, prices),
  };
}

function toEvaluationRun(execution: EvaluationExecutionRecord, expected: FlowExpectations, prices: PriceTable | null): EvaluationRun {
  const scores = execution.steps.map((s) => s.score).filter((s): s is number => s !== null);
  return {
    runId: execution.executionId,
    passed: runPassed(execution, expected),
    score: mean(scores),
    durationMs: execution.durationMs,
    ...runUsage(execution.steps, prices),
    steps: execution.steps.map((s) => stepRun(s, s.stepId !== null && expected.steps.includes(s.stepId), execution.status === "completed")),
  };
}

/**
 * The report of an evaluation from its stored executions: per flow (in the order given) the runs,
 * passes, pass rate with its Wilson interval, pass@k, pass^k, scores, durations, and per step the
 * failure rate, common errors and flakiness (aggregateFlow). A run's score is the mean of its steps'
 * recorded scores, its tokens the sums over its attempts (runUsage), its cost priced by `prices`
 * (null without one). Executions of flows not in `flows` are ignored; a flow without runs is reported
 * with none.
 */
export function buildEvaluationReport(
  executions: readonly EvaluationExecutionRecord[],
  options: { k: number; flows: readonly FlowExpectations[]; prices?: PriceTable | null; notes?: readonly string[] },
): EvaluationReport {
  const prices = options.prices ?? null;
  const counted = options.flows.map((expected) => ({
    expected,
    executions: executions.filter((e) => e.flowId === expected.flowId),
  }));
  const flows = counted.map(({ expected, executions: mine }) => {
    const runs = mine.map((e) => toEvaluationRun(e, expected, prices));
    const failed = mine.map((e) => failedChecksOf(e, expected));
    const runTotals = runs.map(({ runId, passed, inputTokens, outputTokens, cachedInputTokens, costUsd: cost }, i) => ({
      runId,
      passed,
      status: mine[i]!.status,
      error: mine[i]!.error,
      failedChecks: failed[i]!.map(({ stepId, check }) => ({ stepId, check })),
      inputTokens,
      outputTokens,
      cachedInputTokens,
      costUsd: cost,
    }));
    return {
      ...aggregateFlow({ flowId: expected.flowId, k: options.k, runs }),
      runIds: runs.map((r) => r.runId),
      runTotals,
      checkFailures: aggregateCheckFailures(failed),
    };
  });
  return {
    flows,
    runs: flows.reduce((n, f) => n + f.runs, 0),
    passes: flows.reduce((n, f) => n + f.passes, 0),
    notes: [
      ...partlyScoredNote(counted.flatMap((c) => c.executions.map((e) => ({ execution: e, passed: runPassed(e, c.expected) })))),
      ...usageNotes(
        counted.flatMap((c) => c.executions),
        flows,
        prices,
      ),
      ...(options.notes ?? []),
    ],
  };
}

/**
 * A run's score is the mean of the scores its steps reported, and a failing step usually reports none:
 * a run that failed can then score as high as one that passed. Say how many did, so a high mean over
 * failing runs is not read as a good flow.
 */
function partlyScoredNote(runs: readonly { execution: EvaluationExecutionRecord; passed: boolean }[]): string[] {
  const partly = runs.filter(
    ({ execution, passed }) =>
      !passed && execution.steps.some((s) => s.score !== null) && execution.steps.some((s) => s.score === null && s.status !== "skipped"),
  ).length;
  if (partly === 0) return [];
  return [
    `Scores are the mean of the scores steps reported: ${counted(partly, "failed run")} ${partly === 1 ? "is" : "are"} scored only on the steps that reported one.`,
  ];
}

/** Why tokens or cost are unknown (—), in plain words: they are never estimated, so the reader must be told. */
function usageNotes(
  executions: readonly EvaluationExecutionRecord[],
  flows: readonly { runTotals: RunTotals[] }[],
  prices: PriceTable | null,
): string[] {
  const runs = flows.flatMap((f) => f.runTotals);
  const noTokens = runs.filter((r) => r.inputTokens === null || r.outputTokens === null).length;
  // Runs whose attempts reported no count at all (a script without usage) are said so, as a run's own
  // views say it (costUnknownNote); "not for every attempt" is for a real gap among counted attempts.
  // A rolled-back run's steps were undone with it: no attempt of it is left to count, which is neither
  // "reported no usage" nor "not for every attempt" (it read so when one run of three rolled back).
  const uncounted = executions
    .map((e) => ({
      rolledBack: e.status === "rolled_back",
      gaps: costGaps(
        attemptedUsage(e.steps, (s) => s.usage),
        null,
      ),
    }))
    .filter(({ gaps }) => gaps[0]?.reason === "no_usage");
  const rolledBack = uncounted.filter((u) => u.rolledBack).length;
  const agentWhy = uncounted.every((u) => u.rolledBack || reportedNoUsage(u.gaps))
    ? "their agent reported no token usage"
    : "their agent did not report usage for every attempt";
  const why =
    rolledBack === 0
      ? agentWhy
      : rolledBack === uncounted.length
        ? `${rolledBack === 1 ? "it was" : "they were"} rolled back, so no step of ${rolledBack === 1 ? "it" : "theirs"} is recorded to count`
        : `${agentWhy}, and ${rolledBack} of them ${rolledBack === 1 ? "was" : "were"} rolled back (no step of ${rolledBack === 1 ? "it" : "theirs"} is recorded to count)`;
  return [
    ...(noTokens > 0 ? [`Tokens are unknown (—) for ${noTokens} of ${counted(runs.length, "run")}: ${why}.`] : []),
    ...costNotes(
      executions.map((e) =>
        costGaps(
          attemptedUsage(e.steps, (s) => s.usage),
          prices,
        ),
      ),
      prices === null,
    ),
  ];
}

/**
 * The runs' cost gaps (costGaps, one list a run), one note a reason over the runs it concerns, in the
 * words a single run's views use (costUnknownNote). Unknown usage is the tokens' note already; no
 * price table is said once, for every run, unless no run has counted tokens to price: "pass --prices"
 * would then price nothing.
 */
function costNotes(perRun: readonly CostGap[][], noPrices: boolean): string[] {
  if (noPrices) return perRun.some((gaps) => gaps[0]?.reason === "no_prices") ? costUnknownNote([{ reason: "no_prices" }]) : [];
  const gaps = perRun.flat();
  const noModel = gaps.flatMap((g) => (g.reason === "no_model" ? [g.attempts] : []));
  const modelsOf = (reason: "unpriced" | "uncached") => gaps.flatMap((g) => (g.reason === reason ? [g.models] : []));
  const together = (models: string[][]) => [...new Set(models.flat())].sort();
  const unpriced = modelsOf("unpriced");
  const uncached = modelsOf("uncached");
  // A run has at most one gap of a reason: the gaps of one reason count the runs.
  return [
    ...(noModel.length ? costUnknownNote([{ reason: "no_model", attempts: noModel.reduce((a, b) => a + b, 0) }], noModel.length) : []),
    ...(unpriced.length ? costUnknownNote([{ reason: "unpriced", models: together(unpriced) }], unpriced.length) : []),
    ...(uncached.length ? costUnknownNote([{ reason: "uncached", models: together(uncached) }], uncached.length) : []),
  ];
}

/** The expectations a stored run shows: the verdicts it carries (for runs made outside `reev eval`, whose plan is not kept). */
export function expectationsOf(execution: EvaluationExecutionRecord): FlowExpectations {
  return {
    flowId: execution.flowId,
    flow: execution.checks !== null,
    steps: execution.steps.filter((s) => s.checks !== null && s.stepId !== null).map((s) => s.stepId as string),
  };
}
