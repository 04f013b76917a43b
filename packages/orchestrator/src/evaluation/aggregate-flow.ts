import { ZDurationMs, ZScore } from "@reev/db";
import { z } from "zod";
import { aggregateSteps, type StepReport, ZStepRun } from "./aggregate-steps.js";
import { parseInput } from "./parse-input.js";
import { passAtK, passHatK } from "./pass-at-k.js";
import { type PassRate, passRate } from "./pass-rate.js";
import {
  type DurationSummary,
  type KnownSum,
  type ScoreSummary,
  sumKnown,
  summarizeDurations,
  summarizeScores,
} from "./summary-statistics.js";

const ZTokens = z.int("must be a whole number of tokens").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER, "is too large");

/**
 * One run (execution) of a flow in an evaluation, as plain data from the stored execution, its
 * consolidated metrics and its steps. Every figure the provider or the store does not have is null.
 */
export const ZEvaluationRun = z.strictObject({
  /** The execution id. */
  runId: z.string().min(1, "must not be empty"),
  /** The run completed and every check (the flow's and its steps' expect blocks) held. */
  passed: z.boolean(),
  score: ZScore.nullable(),
  durationMs: ZDurationMs.nullable(),
  inputTokens: ZTokens.nullable(),
  outputTokens: ZTokens.nullable(),
  /** The part of inputTokens served from the provider's prompt cache. */
  cachedInputTokens: ZTokens.nullable().default(null),
  costUsd: z.number("must be a number of US dollars").min(0, "must be 0 or more").nullable(),
  steps: z.array(ZStepRun).superRefine(refuseDuplicates((step) => step.stepId, "stepId")),
});
export type EvaluationRun = z.infer<typeof ZEvaluationRun>;

export const ZFlowRuns = z.strictObject({
  flowId: z.string().min(1, "must not be empty"),
  /** The k of pass@k and pass^k: the attempts asked for (`--repeat`). */
  k: z.int("must be a whole number").min(1, "must be 1 or more"),
  runs: z.array(ZEvaluationRun).superRefine(refuseDuplicates((run) => run.runId, "runId")),
});
export type FlowRuns = z.input<typeof ZFlowRuns>;

export type FlowReport = {
  flowId: string;
  runs: number;
  passes: number;
  /** With its 95% Wilson interval; null without runs. */
  passRate: PassRate | null;
  k: number;
  /** Null when there are fewer runs than k (see passAtK). */
  passAtK: number | null;
  passHatK: number | null;
  score: ScoreSummary;
  durationMs: DurationSummary;
  /** Each null as soon as one run's figure is unknown; `unknown` says how many were. */
  inputTokens: KnownSum;
  outputTokens: KnownSum;
  cachedInputTokens: KnownSum;
  costUsd: KnownSum;
  steps: StepReport[];
};

/** The report of one flow over its runs in an evaluation. Input is validated: a bad field is named, nothing is counted. */
export function aggregateFlow(input: FlowRuns): FlowReport {
  const { flowId, k, runs } = parseInput(ZFlowRuns, input, "flow runs");
  const counts = { runs: runs.length, passes: runs.filter((r) => r.passed).length };
  return {
    flowId,
    ...counts,
    passRate: passRate(counts),
    k,
    passAtK: passAtK({ ...counts, k }),
    passHatK: passHatK({ ...counts, k }),
    score: summarizeScores(runs.map((r) => r.score)),
    durationMs: summarizeDurations(runs.map((r) => r.durationMs)),
    inputTokens: sumKnown(runs.map((r) => r.inputTokens)),
    outputTokens: sumKnown(runs.map((r) => r.outputTokens)),
    cachedInputTokens: sumKnown(runs.map((r) => r.cachedInputTokens)),
    costUsd: sumKnown(runs.map((r) => r.costUsd)),
    steps: aggregateSteps(runs.map((r) => r.steps)),
  };
}

/** A run counted twice, or a step counted twice in one run, would inflate every figure of the report. */
function refuseDuplicates<T>(keyOf: (item: T) => string, field: string) {
  return (items: readonly T[], ctx: z.RefinementCtx) => {
    const first = new Map<string, number>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      const earlier = first.get(key);
      if (earlier === undefined) first.set(key, index);
      else ctx.addIssue({ code: "custom", path: [index, field], message: `duplicate ${field} "${key}" (already at [${earlier}])` });
    });
  };
}
