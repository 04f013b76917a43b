// A run's score is the mean of the scores its steps reported, and a failing step usually reports none:
// a flow that fails every run can then have the top mean score. The metric stays as defined, but the
// report says how many runs were scored and that failed runs were scored on their other steps only.
import type { Database } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport, type EvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

/** Step `plan` scores 1 in every run; step `act` fails in every run but run 3, where it scores 0.5. */
const flaky = (flowId: string) => `
flowId: ${flowId}
prompt: plan then act
steps:
  - stepId: plan
    prompt: plan
    script: [{ score: 1 }]
  - stepId: act
    prompt: act
    script: [{ fail: tool crashed }]
    scriptByRun: { "3": [{ score: 0.5 }] }
`;

/** Nothing scored: its runs are missing from the score summary, and no note is owed. */
const unscored = (flowId: string) => `
flowId: ${flowId}
prompt: unscored
steps:
  - stepId: only
    prompt: only
    scriptByRun: { "1": [{ fail: nope }] }
`;

describe.each(testBackends())("partly scored runs on $name", (backend) => {
  let db: Database;
  let report: EvaluationReport;
  const ids = { flaky: uid("flaky"), unscored: uid("unscored") };

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    const evaluationId = uid("eval");
    const plans = [parseFlowPlan(flaky(ids.flaky)), parseFlowPlan(unscored(ids.unscored))];
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: 3 } });
    const ran = await runEvaluation(db, { evaluationId, plans, repeat: 3, concurrency: 2, agentFor: (run) => new ScriptedAgent({ run }) });
    expect(ran.outcomes.map((o) => o.error)).toEqual(Array(6).fill(null));
    report = buildEvaluationReport(await db.writer.listEvaluationExecutions(evaluationId), { k: 3, flows: plans.map(expectationsOfPlan) });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("keeps the score the mean of the reported scores, counts the scored runs, and notes the failed runs scored on their other steps", () => {
    const [f, u] = report.flows;
    expect(f).toMatchObject({ runs: 3, passes: 1 });
    // Runs 1 and 2 failed and score 1 (their plan step only); run 3 passed with (1 + 0.5) / 2.
    expect(f!.score).toEqual({ count: 3, missing: 0, mean: (1 + 1 + 0.75) / 3, median: 1, min: 0.75, max: 1 });
    expect(u!.score).toMatchObject({ count: 0, missing: 3, mean: null });
    expect(report.notes).toContain(
      "Scores are the mean of the scores steps reported: 2 failed runs are scored only on the steps that reported one.",
    );
  });

  it("shows how many runs were scored beside the score, and the note, in the HTML report", () => {
    const html = renderEvaluationHtml(report, { title: "t", facts: [], minPassRate: null, runLink: () => null });
    expect(html).toContain("3/3 scored");
    expect(html).toContain("0/3 scored");
    // A flow no run scored shows one "—" beside that count, not one per figure ("— · — · —–—").
    expect(html).not.toContain("—–—");
    expect(html).toContain("2 failed runs are scored only on the steps that reported one.");
  });
});
