import type { EvaluationExecutionRecord, EvaluationStepRecord, StoredCheckResult } from "@reev/db";
import { aggregateFlow, type EvaluationRun, type FlowReport } from "./aggregate-flow.js";
import type { StepRun } from "./aggregate-steps.js";

/**
 * Which `expect` verdicts a run of a flow must carry to pass: the flow's own, and those of the steps
 * (by stepId) that have an `expect` block. Kept in the evaluation's configuration, so the report can
 * be rebuilt from the database alone; a verdict that should be there and is not fails the run.
 */
export type FlowExpectations = { flowId: string; flow: boolean; steps: string[] };

/** Why tokens and cost are null in every report of this version; printed with the report. */
export const USAGE_NOT_STORED =
  "Token usage is not stored per step yet, so tokens and cost are unknown (—) for every run; they are never estimated.";

export type EvaluationReport = {
  flows: (FlowReport & { runIds: string[] })[];
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

const failedCheckReasons = (checks: StoredCheckResult | null) =>
  (checks?.checks ?? []).filter((c) => !c.passed).map((c) => `expect.${c.check}: ${c.reason ?? "failed"}`);

function stepRun(step: EvaluationStepRecord, expectsChecks: boolean): StepRun {
  const stepId = step.stepId ?? `step ${step.stepIndex}`;
  if (step.status === "skipped") return { stepId, outcome: "skipped", errors: [] };
  const missingVerdict = expectsChecks && step.checks === null ? ["expect: no verdict was recorded"] : [];
  const checkErrors = [...failedCheckReasons(step.checks), ...missingVerdict];
  if (step.status === "success" && checkErrors.length === 0) return { stepId, outcome: "passed", errors: [] };
  // The step's own error first (a failed step), then each check that failed.
  return { stepId, outcome: "failed", errors: [...(step.status !== "success" && step.error ? [step.error] : []), ...checkErrors] };
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

function toEvaluationRun(execution: EvaluationExecutionRecord, expected: FlowExpectations): EvaluationRun {
  const scores = execution.steps.map((s) => s.score).filter((s): s is number => s !== null);
  return {
    runId: execution.executionId,
    passed: runPassed(execution, expected),
    score: mean(scores),
    durationMs: execution.durationMs,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    steps: execution.steps.map((s) => stepRun(s, s.stepId !== null && expected.steps.includes(s.stepId))),
  };
}

/**
 * The report of an evaluation from its stored executions: per flow (in the order given) the runs,
 * passes, pass rate with its Wilson interval, pass@k, pass^k, scores, durations, and per step the
 * failure rate, common errors and flakiness (aggregateFlow). A run's score is the mean of its steps'
 * recorded scores. Executions of flows not in `flows` are ignored; a flow without runs is reported
 * with none.
 */
export function buildEvaluationReport(
  executions: readonly EvaluationExecutionRecord[],
  options: { k: number; flows: readonly FlowExpectations[]; notes?: readonly string[] },
): EvaluationReport {
  const flows = options.flows.map((expected) => {
    const runs = executions.filter((e) => e.flowId === expected.flowId).map((e) => toEvaluationRun(e, expected));
    return { ...aggregateFlow({ flowId: expected.flowId, k: options.k, runs }), runIds: runs.map((r) => r.runId) };
  });
  return {
    flows,
    runs: flows.reduce((n, f) => n + f.runs, 0),
    passes: flows.reduce((n, f) => n + f.passes, 0),
    notes: [USAGE_NOT_STORED, ...(options.notes ?? [])],
  };
}

/** The expectations a stored run shows: the verdicts it carries (for runs made outside `reev eval`, whose plan is not kept). */
export function expectationsOf(execution: EvaluationExecutionRecord): FlowExpectations {
  return {
    flowId: execution.flowId,
    flow: execution.checks !== null,
    steps: execution.steps.filter((s) => s.checks !== null && s.stepId !== null).map((s) => s.stepId as string),
  };
}
