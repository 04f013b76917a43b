import { ms, whole, x } from "./format.js";
import type { BackendResult, BenchResults } from "./results.js";
import type { ApiResult } from "./scenario-api.js";
import { FIRST_STEP_TARGET_MS } from "./scenario-cli.js";
import { LINEAR_TOLERANCE } from "./scenario-consolidation.js";
import { purgeTargets } from "./scenario-purge.js";
import { isLossless } from "./stored-rows.js";

/**
 * Issue 4's targets, checked against what was measured — reported, never asserted: a missed target
 * is a finding, not a failed run (only wrong counts fail the bench).
 */
export type TargetCheck = { target: string; where: string; measured: string; met: boolean };

const STEP_RATIO = 0.8;
/** Issue 12: consolidation time ÷ the raw read's, by execution size (sizes not named here have no target). */
export const CONSOLIDATION_RATIOS: ReadonlyMap<number, number> = new Map([
  [10, 3],
  [1_000, 1.5],
  [10_000, 1.5],
]);
/** Issue 12: peak RSS consolidating adds (over opening the database) ÷ what the raw read adds. */
const MEMORY_RATIO = 2;
const CONCURRENCY_RATIO = 0.7;
const EVAL_RATIO = 0.9;

function backendTargets(b: BackendResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const c of b.steps?.cases ?? []) {
    checks.push({
      target: `step write path ≥ ${STEP_RATIO}× raw (${c.label})`,
      where: b.name,
      measured: `${x(c.throughputRatio)} (${whole(c.writer.perSecond)} vs ${whole(c.raw.perSecond)} steps/s; by p50 ${x(c.p50Ratio)})`,
      met: c.throughputRatio >= STEP_RATIO,
    });
  }
  if (b.consolidation) {
    const c = b.consolidation;
    for (const s of c.sizes) {
      const ratio = CONSOLIDATION_RATIOS.get(s.steps);
      if (ratio === undefined) continue;
      checks.push({
        target: `consolidation ≤ ${x(ratio)} the raw read (${whole(s.steps)} steps)`,
        where: b.name,
        measured: `${x(s.timeRatio)} (${s.writer.medianMs.toFixed(1)} vs ${s.raw.medianMs.toFixed(1)} ms)`,
        met: s.timeRatio <= ratio,
      });
    }
    const [before, last] = c.sizes.slice(-2);
    checks.push({
      target: "consolidation linear",
      where: b.name,
      measured: `per 1,000 steps ${x(c.perStepGrowth.writer)} from ${whole(before!.steps)} to ${whole(last!.steps)} steps (≤ ${x(LINEAR_TOLERANCE)} counts as linear); fit R² ${c.fit.writer.r2.toFixed(4)}`,
      met: c.perStepGrowth.writer <= LINEAR_TOLERANCE,
    });
  }
  if (b.memory) {
    const { addedMiB, steps } = b.memory;
    checks.push({
      target: `peak RSS added by consolidating ≤ ${x(MEMORY_RATIO)} that added by the raw read (${whole(steps)} steps)`,
      where: b.name,
      measured: `${x(addedMiB.writer / addedMiB.raw)} (${addedMiB.writer.toFixed(0)} vs ${addedMiB.raw.toFixed(0)} MiB)`,
      met: addedMiB.writer <= MEMORY_RATIO * addedMiB.raw,
    });
  }
  if (b.concurrency) {
    const c = b.concurrency;
    const a = c.audit.writer;
    checks.push({
      target: "concurrency lossless",
      where: b.name,
      measured: `${whole(a.steps)} steps, ${whole(a.toolCalls)} tool calls in ${a.executions} executions; ${a.lostSteps + a.lostToolCalls} lost, ${a.duplicatedSteps + a.duplicatedToolCalls} duplicated`,
      met: isLossless(a),
    });
    checks.push({
      target: `concurrency ≥ ${CONCURRENCY_RATIO}× raw throughput`,
      where: b.name,
      measured: `${x(c.throughputRatio)} (${whole(c.writer.perSecond)} vs ${whole(c.raw.perSecond)} steps/s)`,
      met: c.throughputRatio >= CONCURRENCY_RATIO,
    });
  }
  if (b.api) checks.push(...apiTargets(b.name, b.api));
  if (b.evaluation) {
    const e = b.evaluation;
    checks.push({
      target: `reev eval ≥ ${EVAL_RATIO}× the executor's runs/s`,
      where: b.name,
      measured: `${x(e.throughputRatio)} (${whole(e.writer.perSecond)} vs ${whole(e.raw.perSecond)} runs/s)`,
      met: e.throughputRatio >= EVAL_RATIO,
    });
  }
  return checks;
}

const API_LIST_RATIO = 0.6;
const API_DEEP_P50_RATIO = 1.2;
const API_FLOW_RATIO = 0.5;
const API_SSE_P99_MS = 100;

/** Issue 10 §7's targets. */
function apiTargets(where: string, a: ApiResult): TargetCheck[] {
  const list = a.cases.find((c) => c.id === "list")!;
  const flow = a.cases.find((c) => c.id === "flow")!;
  const deep = a.cases.find((c) => c.id === "deep")!;
  return [
    {
      target: `GET /api/v1/executions ≥ ${API_LIST_RATIO}× a bare handler`,
      where,
      measured: `${x(list.throughputRatio)} (${whole(list.reev.requestsPerSecond)} vs ${whole(list.bare.requestsPerSecond)} req/s)`,
      met: list.throughputRatio >= API_LIST_RATIO,
    },
    {
      target: `deep page p50 ≤ ${API_DEEP_P50_RATIO}× page 1`,
      where,
      measured: `${x(a.deepP50Ratio)} (${ms(deep.reev.p50Ms)} vs ${ms(list.reev.p50Ms)} ms at row ${whole(a.deepRow)})`,
      met: a.deepP50Ratio <= API_DEEP_P50_RATIO,
    },
    {
      target: `GET /api/v1/flows/{id} ≥ ${API_FLOW_RATIO}× a bare handler`,
      where,
      measured: `${x(flow.throughputRatio)} (${whole(flow.reev.requestsPerSecond)} vs ${whole(flow.bare.requestsPerSecond)} req/s)`,
      met: flow.throughputRatio >= API_FLOW_RATIO,
    },
    ...(a.sse
      ? [
          {
            target: `SSE commit → event p99 ≤ ${API_SSE_P99_MS} ms`,
            where,
            measured: `p99 ${a.sse.p99Ms.toFixed(1)} ms, p50 ${a.sse.p50Ms.toFixed(1)} ms (${a.sse.runs} runs at once)`,
            met: a.sse.p99Ms <= API_SSE_P99_MS,
          },
        ]
      : []),
  ];
}

export function checkTargets(results: Pick<BenchResults, "backends" | "cli">): TargetCheck[] {
  const checks = results.backends.flatMap((b) => [...backendTargets(b), ...purgeTargets(b)]);
  for (const c of results.cli?.cases ?? []) {
    if (c.firstStepMs === null) continue;
    checks.push({
      target: `first step < ${whole(FIRST_STEP_TARGET_MS)} ms after a cold start`,
      where: `CLI, ${c.data} data directory`,
      measured: `${whole(c.firstStepMs)} ms (median of ${c.firstStepRoundsMs.length})`,
      met: c.firstStepMs < FIRST_STEP_TARGET_MS,
    });
  }
  return checks;
}
