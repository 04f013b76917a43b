// A rolled-back run in an evaluation's report: its steps were undone with it, so the steps table has
// nothing of it and only its stored error says why it stopped. The report lists that error beside the
// run (JSON and HTML), and its note on unknown tokens does not blame the agent's usage reports for a
// run that has no attempt left to count.
import type { Database } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const SWAP_FAILS = "[{ toolCalls: [{ toolName: jupiter_swap, success: false, error: nope }] }]";

/** Atomic, its critical swap failing in the runs `failing` (every run when "all"); no usage reported. */
const atomic = (flowId: string, failing: "all" | "2") => `
flowId: ${flowId}
prompt: all or nothing
atomic: true
steps:
  - stepId: balance
    prompt: check
  - stepId: swap
    prompt: swap
    critical: true
    requiredTools: [jupiter_swap]
    ${failing === "all" ? `script: ${SWAP_FAILS}` : `scriptByRun: { "2": ${SWAP_FAILS} }`}
`;

const STOPPED = "Stopped: critical step swap failed: nope; every step was rolled back";

describe.each(testBackends())("rolled-back runs in an evaluation's report on $name", (backend) => {
  let db: Database;
  const evaluate = async (plan: FlowPlan) => {
    const evaluationId = uid("eval");
    await db.writer.createEvaluationRun({
      id: evaluationId,
      agent: "scripted",
      configuration: { repeat: 3, flows: [expectationsOfPlan(plan)] },
    });
    await runEvaluation(db, { evaluationId, plans: [plan], repeat: 3, concurrency: 1, agentFor: (run) => new ScriptedAgent({ run }) });
    return buildEvaluationReport(await db.writer.listEvaluationExecutions(evaluationId), { k: 3, flows: [expectationsOfPlan(plan)] });
  };

  beforeAll(async () => {
    db = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("one run of three rolled back: its error is listed beside it, and the tokens note says it was rolled back", async () => {
    const report = await evaluate(parseFlowPlan(atomic(uid("one-rolls-back"), "2")));
    const [flow] = report.flows;
    const byRun = (n: number) => flow!.runTotals!.find((r) => r.runId.includes(`_r${n}_`))!;
    expect(byRun(2)).toMatchObject({ status: "rolled_back", passed: false, error: STOPPED });
    expect([byRun(1).error, byRun(3).error]).toEqual([null, null]);
    expect(report.notes).toContain(
      "Tokens are unknown (—) for 3 of 3 runs: their agent reported no token usage, and 1 of them was rolled back (no step of it is recorded to count).",
    );
    const html = renderEvaluationHtml(report, { title: "t", facts: [], minPassRate: null, runLink: () => null });
    expect(html).toMatch(new RegExp(`<li data-run-id="${byRun(2).runId}">.*<div class="error-text">${STOPPED}</div></li>`));
  });

  it("every run rolled back: the note says so, not that the agent reported no usage", async () => {
    const report = await evaluate(parseFlowPlan(atomic(uid("all-roll-back"), "all")));
    expect(report.flows[0]!.runTotals!.map((r) => r.error)).toEqual([STOPPED, STOPPED, STOPPED]);
    expect(report.notes).toContain(
      "Tokens are unknown (—) for 3 of 3 runs: they were rolled back, so no step of theirs is recorded to count.",
    );
  });
});
