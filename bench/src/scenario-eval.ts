import { randomBytes } from "node:crypto";
import {
  buildEvaluationReport,
  expectationsOfPlan,
  type FlowPlan,
  PingPongExecutor,
  parseFlowPlan,
  runEvaluation,
  ScriptedAgent,
} from "@reev/orchestrator";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { interleave } from "./interleave.js";
import { type WriterVsRaw, writerVsRaw } from "./stats.js";

/**
 * §8 Evaluation: F flows × k runs with the scripted agent and no think time, `reev eval`'s way —
 * an evaluation created, every run through runEvaluation (one executor, one database handle, at most
 * C at once, each execution pointing to the evaluation), then the report built from the stored runs
 * and the evaluation finished — against the same runs through PingPongExecutor directly with the
 * same C at once and nothing else. "writer" is the eval path, "raw" the bare executor; a round's ops
 * are its runs. Afterwards each side must have run every run to `completed`.
 */
export type EvalScenarioResult = {
  flows: number;
  repeat: number;
  concurrency: number;
  stepsPerFlow: number;
} & WriterVsRaw; // throughputRatio: eval runs/s ÷ executor runs/s (the target is ≥ 0.9)

const STEPS_PER_FLOW = 3;

function plans(count: number): FlowPlan[] {
  return Array.from({ length: count }, (_, f) =>
    parseFlowPlan(
      JSON.stringify({
        flowId: `bench-eval-${f}`,
        prompt: `flow ${f}`,
        steps: Array.from({ length: STEPS_PER_FLOW }, (_, s) => ({
          stepId: `s${s}`,
          prompt: `step ${s}`,
          requiredTools: ["tool"],
          script: [{ usage: { model: "bench", inputTokens: 100, outputTokens: 10 } }],
        })),
      }),
    ),
  );
}

/** The eval path: what `reev eval` does around its runs, minus printing. */
async function evaluate(backend: Backend, flows: FlowPlan[], config: BenchConfig): Promise<void> {
  const evaluationId = `bench_eval_${randomBytes(4).toString("hex")}`;
  const expectations = flows.map(expectationsOfPlan);
  await backend.db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: config.evalRepeat } });
  const ran = await runEvaluation(backend.db, {
    evaluationId,
    plans: flows,
    repeat: config.evalRepeat,
    concurrency: config.evalConcurrency,
    agentFor: (run) => new ScriptedAgent({ run }),
  });
  const report = buildEvaluationReport(await backend.db.writer.listEvaluationExecutions(evaluationId), {
    k: config.evalRepeat,
    flows: expectations,
  });
  await backend.db.writer.finishEvaluationRun(evaluationId, { status: "completed", summary: JSON.parse(JSON.stringify(report)) });
  const expected = flows.length * config.evalRepeat;
  if (ran.outcomes.some((o) => o.result?.status !== "completed") || report.runs !== expected || report.passes !== expected)
    throw new Error(
      `eval side: ${report.passes}/${report.runs} of ${expected} runs passed (${ran.outcomes.find((o) => o.error)?.error ?? "a run did not complete"})`,
    );
}

/** The bare executor: the same runs, C at once, nothing around them. */
async function executeDirectly(backend: Backend, flows: FlowPlan[], config: BenchConfig, round: number): Promise<void> {
  const executor = new PingPongExecutor(backend.db);
  const tasks = Array.from({ length: config.evalRepeat }, (_, i) => flows.map((plan) => ({ plan, run: i + 1 }))).flat();
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { plan, run } = tasks[next++]!;
      const result = await executor.execute(plan, new ScriptedAgent({ run }), {
        executionId: `bench-exec-r${round}-${plan.flowId}-${run}-${randomBytes(3).toString("hex")}`,
      });
      if (result.status !== "completed") throw new Error(`executor side: ${plan.flowId} run ${run} ended ${result.status}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.evalConcurrency, tasks.length) }, worker));
}

export async function evaluation(backend: Backend, config: BenchConfig): Promise<EvalScenarioResult> {
  const flows = plans(config.evalFlows);
  const label = `[${backend.key}] 7 eval, ${config.evalFlows} flows × ${config.evalRepeat} runs, ${config.evalConcurrency} at once`;
  const samples = await interleave(label, config.rounds, ["writer", "raw"] as const, async (side, round) => ({
    ops: config.evalFlows * config.evalRepeat,
    run: () => (side === "writer" ? evaluate(backend, flows, config) : executeDirectly(backend, flows, config, round)),
  }));
  return {
    flows: config.evalFlows,
    repeat: config.evalRepeat,
    concurrency: config.evalConcurrency,
    stepsPerFlow: STEPS_PER_FLOW,
    ...writerVsRaw(samples),
  };
}
