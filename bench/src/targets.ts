import { whole, x } from "./format.js";
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
const CONSOLIDATION_RATIO = 2;
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
    checks.push({
      target: `consolidation ≤ ${CONSOLIDATION_RATIO}× the raw read`,
      where: b.name,
      measured: c.sizes.map((s) => `${whole(s.steps)}: ${x(s.timeRatio)}`).join(", "),
      met: c.sizes.every((s) => s.timeRatio <= CONSOLIDATION_RATIO),
    });
    const [before, last] = c.sizes.slice(-2);
    checks.push({
      target: "consolidation linear",
      where: b.name,
      measured: `per 1,000 steps ${x(c.perStepGrowth.writer)} from ${whole(before!.steps)} to ${whole(last!.steps)} steps (≤ ${x(LINEAR_TOLERANCE)} counts as linear); fit R² ${c.fit.writer.r2.toFixed(4)}`,
      met: c.perStepGrowth.writer <= LINEAR_TOLERANCE,
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
      measured: `${x(a.deepP50Ratio)} (${deep.reev.p50Ms} vs ${list.reev.p50Ms} ms at row ${whole(a.deepRow)})`,
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
