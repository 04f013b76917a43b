// `reev compare A B --prices` prices each evaluation's counted runs again from the store. After
// `reev purge` deleted some of them, a report of the runs left would be another evaluation (none at
// all after a full purge): comparing them is refused, naming the side, while the stored summaries
// (without --prices) still compare. Purged for real, with the writer's purge, on both backends.
import type { Database } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { OrchestratorError } from "../src/errors.js";
import { buildEvaluationReport, type EvaluationReport } from "../src/evaluation/evaluation-report.js";
import { parsePriceTable } from "../src/evaluation/price-table.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { compareStored, storedReport } from "../src/evaluation/stored-comparison.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const PRICES = parsePriceTable("models: { gpt-a: { inputPerMillion: 2, outputPerMillion: 8 } }");

const flow = (flowId: string) =>
  parseFlowPlan(`
flowId: ${flowId}
prompt: priced
steps:
  - stepId: ask
    prompt: ask
    script: [{ usage: { model: gpt-a, inputTokens: 1000, outputTokens: 100 } }]
`);

/** An evaluation recorded as `reev eval` records one: 2 runs of each plan, its summary from the stored runs. */
async function recordEvaluation(db: Database, plans: FlowPlan[]): Promise<{ id: string; summary: EvaluationReport }> {
  const id = uid("eval");
  const flows = plans.map(expectationsOfPlan);
  await db.writer.createEvaluationRun({ id, agent: "scripted", configuration: { repeat: 2, flows } });
  await runEvaluation(db, { evaluationId: id, plans, repeat: 2, concurrency: 2, agentFor: (run) => new ScriptedAgent({ run }) });
  const summary = buildEvaluationReport(await db.writer.listEvaluationExecutions(id), { k: 2, flows, prices: null });
  await db.writer.finishEvaluationRun(id, { status: "completed", summary: JSON.parse(JSON.stringify(summary)) });
  return { id, summary: JSON.parse(JSON.stringify(summary)) };
}

/** What storedReport / compareStored threw, so its code, field and words can be checked together. */
async function refusal(promise: Promise<unknown>): Promise<OrchestratorError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OrchestratorError);
  return error as OrchestratorError;
}

describe.each(testBackends())("an evaluation priced again after reev purge on $name", (backend) => {
  let db: Database;
  const flows = { kept: uid("kept"), partly: uid("partly"), baseline: uid("baseline") };
  let baseline: { id: string; summary: EvaluationReport };
  let candidate: { id: string; summary: EvaluationReport };

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    baseline = await recordEvaluation(db, [flow(flows.baseline)]);
    candidate = await recordEvaluation(db, [flow(flows.kept), flow(flows.partly)]);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("prices every counted run again while they are all stored", async () => {
    const { report } = await storedReport(db, candidate.id, "b", PRICES);
    expect(report.runs).toBe(4);
    // 1000 × 2 + 100 × 8 per million, per run.
    expect(report.flows.map((f) => f.costUsd.total)).toEqual([2 * 0.0028, 2 * 0.0028]);
  });

  it("refuses once some were purged, naming the side; without prices the stored summary still answers", async () => {
    const purge = await db.writer.purgeExecutions({ olderThanMs: 0, flowId: flows.partly });
    expect(purge.deleted.executions).toBe(2);

    const error = await refusal(storedReport(db, candidate.id, "b", PRICES));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.path).toBe("b");
    expect(error.message).toBe(
      `2 of the 4 runs evaluation "${candidate.id}" counted were purged (reev purge): its runs cannot be priced again. Leave out --prices to compare the costs stored with it.`,
    );
    const compared = await refusal(compareStored(db, baseline.id, candidate.id, PRICES));
    expect(compared.path).toBe("b");

    const stored = await storedReport(db, candidate.id, "b");
    expect(stored.report).toEqual(candidate.summary);
    const unpriced = await compareStored(db, baseline.id, candidate.id);
    expect(unpriced.comparison.flows.map((f) => f.flowId)).toEqual([flows.baseline, flows.kept, flows.partly]);
  });

  it("refuses after a full purge too (it would otherwise price zero runs), naming A when A is the one", async () => {
    await db.writer.purgeExecutions({ olderThanMs: 0, flowId: flows.kept });
    await db.writer.purgeExecutions({ olderThanMs: 0, flowId: flows.baseline });
    expect(await db.writer.listEvaluationExecutions(candidate.id)).toEqual([]);

    const error = await refusal(compareStored(db, candidate.id, baseline.id, PRICES));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.path).toBe("a");
    expect(error.message).toMatch(/^4 of the 4 runs evaluation ".+" counted were purged/);
    expect((await storedReport(db, baseline.id, "b")).report).toEqual(baseline.summary);
  });
});
