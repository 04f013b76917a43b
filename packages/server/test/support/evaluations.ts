import type { Database } from "@reev/db";
import {
  buildEvaluationReport,
  type EvaluationReport,
  expectationsOfPlan,
  type FlowPlan,
  type PriceTable,
  parseFlowPlan,
  runEvaluation,
  ScriptedAgent,
} from "@reev/orchestrator";

/**
 * Two flows for evaluations: `steady` passes every run and reports its usage; `shaky` fails its
 * check in run 2, or in every run when `broken`: with 5 runs, 4/5 against 0/5 is the change a
 * comparison must flag (Fisher's exact test: p ≈ 0.048).
 */
export function evaluationPlans(prefix: string, broken: boolean): FlowPlan[] {
  const steady = parseFlowPlan(`
flowId: ${prefix}-steady
prompt: fetch <data> & report
steps:
  - stepId: fetch
    prompt: fetch
    requiredTools: [get_data]
    script: [{ score: 0.9, usage: { model: gpt-a, inputTokens: 1200, outputTokens: 300, cachedInputTokens: 200 } }]
`);
  const shaky = parseFlowPlan(`
flowId: ${prefix}-shaky
prompt: write
steps:
  - stepId: write
    prompt: write
    requiredTools: [put_data]
    ${broken ? "script" : "scriptByRun"}: ${
      broken
        ? "[{ toolCalls: [{ toolName: put_data }, { toolName: delete }] }]"
        : '{ "2": [{ toolCalls: [{ toolName: put_data }, { toolName: delete }] }] }'
    }
    expect: { forbiddenTools: [delete] }
`);
  return [steady, shaky];
}

export const PRICES: PriceTable = { models: { "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 } } };

/** The evaluation's row, as `reev eval` creates it before its runs; returns the flows' expectations it holds. */
async function createEvaluation(
  db: Database,
  options: { id: string; name: string; plans: FlowPlan[]; repeat: number; startedAt: Date; baseline?: string },
): Promise<ReturnType<typeof expectationsOfPlan>[]> {
  const flows = options.plans.map(expectationsOfPlan);
  await db.writer.createEvaluationRun({
    id: options.id,
    name: options.name,
    agent: "scripted",
    startedAt: options.startedAt,
    configuration: { repeat: options.repeat, flows, minPassRate: 0.8, baseline: options.baseline ?? null, prices: PRICES },
  });
  return flows;
}

/** Records an evaluation as `reev eval` does: created, its runs, its report from the stored runs, finished. */
export async function recordEvaluation(
  db: Database,
  options: { id: string; name: string; plans: FlowPlan[]; repeat: number; startedAt: Date; baseline?: string },
): Promise<EvaluationReport> {
  const flows = await createEvaluation(db, options);
  await runEvaluation(db, {
    evaluationId: options.id,
    plans: options.plans,
    repeat: options.repeat,
    concurrency: 2,
    agentFor: (run) => new ScriptedAgent({ run }),
  });
  const report = buildEvaluationReport(await db.writer.listEvaluationExecutions(options.id), {
    k: options.repeat,
    flows,
    prices: PRICES,
  });
  await db.writer.finishEvaluationRun(options.id, { status: "completed", summary: JSON.parse(JSON.stringify(report)) });
  return report;
}

/**
 * Records an evaluation as `reev eval` does when Ctrl-C comes before any run has finished: created,
 * then finished `incomplete` with a report counted from no runs (the interrupted runs are left out).
 */
export async function recordInterruptedEvaluation(
  db: Database,
  options: { id: string; name: string; plans: FlowPlan[]; repeat: number; startedAt: Date },
): Promise<EvaluationReport> {
  const flows = await createEvaluation(db, options);
  const total = flows.length * options.repeat;
  const report = buildEvaluationReport([], {
    k: options.repeat,
    flows,
    prices: PRICES,
    notes: [`Interrupted: 0 of ${total} runs counted; ${total} never started are left out.`],
  });
  await db.writer.finishEvaluationRun(options.id, { status: "incomplete", summary: JSON.parse(JSON.stringify(report)) });
  return report;
}
