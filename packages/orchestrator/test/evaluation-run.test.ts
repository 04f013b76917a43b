// An evaluation of 3 flows × k=5 with the scripted agent, whose scriptByRun makes known steps fail in
// known runs, gives exactly the expected report, counted from what was stored; and comparing it with
// an evaluation where one flow was broken flags that flow (and its step), nothing else.
import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { CHECKS_FAILED } from "../src/evaluation/aggregate-steps.js";
import { compareReports } from "../src/evaluation/compare-reports.js";
import { buildEvaluationReport, type EvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const FORBIDDEN = "delete is forbidden but was called 1 time (failed calls count too)";

/** alpha: its `write` step calls a forbidden tool in runs 2 and 4 (3/5 pass). */
const alpha = (flowId: string) => `
flowId: ${flowId}
prompt: copy the data
steps:
  - stepId: fetch
    prompt: fetch
    requiredTools: [get_data]
    expect: { tools: [get_data] }
  - stepId: write
    prompt: write
    requiredTools: [put_data]
    scriptByRun:
      "2": [{ toolCalls: [{ toolName: put_data }, { toolName: delete }] }]
      "4": [{ toolCalls: [{ toolName: put_data }, { toolName: delete }] }]
    expect: { forbiddenTools: [delete] }
`;

/** beta: its critical `pay` step fails in run 3 (4/5 pass). */
const beta = (flowId: string) => `
flowId: ${flowId}
prompt: pay
steps:
  - stepId: pay
    prompt: pay
    critical: true
    requiredTools: [charge]
    scriptByRun: { "3": [{ fail: card declined }] }
  - stepId: receipt
    prompt: send the receipt
`;

/** gamma: scored steps and a flow-level order check; `broken` makes step b call tools in the wrong order in every run. */
const gamma = (flowId: string, broken: boolean) => `
flowId: ${flowId}
prompt: a then b
expect: { tools: [a_tool, b_tool], order: exact }
steps:
  - stepId: a
    prompt: a
    script: [{ toolCalls: [{ toolName: a_tool }], score: 0.8 }]
  - stepId: b
    prompt: b
    script: [{ toolCalls: [{ toolName: b_tool }${broken ? ", { toolName: a_tool }" : ""}], score: 1 }]
    expect: { maxToolCalls: 1 }
`;

describe.each(testBackends())("reev eval's core on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  const ids = { alpha: uid("alpha"), beta: uid("beta"), gamma: uid("gamma") };

  async function evaluate(plans: FlowPlan[]): Promise<{ evaluationId: string; report: EvaluationReport }> {
    const evaluationId = uid("eval");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: 5 } });
    let started = 0;
    const ran = await runEvaluation(db, {
      evaluationId,
      plans,
      repeat: 5,
      concurrency: 4,
      agentFor: (run) => new ScriptedAgent({ run }),
      onRunStart: () => void started++,
    });
    expect(ran.interrupted).toBe(false);
    expect(started).toBe(15);
    expect(ran.outcomes.map((o) => o.error)).toEqual(Array(15).fill(null));
    const stored = await db.writer.listEvaluationExecutions(evaluationId);
    const report = buildEvaluationReport(stored, { k: 5, flows: plans.map(expectationsOfPlan) });
    return { evaluationId, report };
  }

  const plansOf = (brokenGamma: boolean) => [
    parseFlowPlan(alpha(ids.alpha)),
    parseFlowPlan(beta(ids.beta)),
    parseFlowPlan(gamma(ids.gamma, brokenGamma)),
  ];

  let first: EvaluationReport;

  it("3 flows × k=5: exactly the expected passes, estimators, scores and step failures, from the stored runs", async () => {
    const { evaluationId, report } = await evaluate(plansOf(false));
    first = report;
    // Every execution points to the evaluation.
    expect(await db.writer.listEvaluationExecutions(evaluationId)).toHaveLength(15);
    expect(report.runs).toBe(15);
    expect(report.passes).toBe(12);
    const [a, b, c] = report.flows;

    expect(a).toMatchObject({ flowId: ids.alpha, runs: 5, passes: 3, k: 5, passAtK: 1, passHatK: 0 });
    expect(a!.passRate!.rate).toBe(0.6);
    expect(a!.passRate!.low).toBeCloseTo(0.230724, 5);
    expect(a!.passRate!.high).toBeCloseTo(0.882379, 5);
    expect(a!.score).toEqual({ count: 0, missing: 5, mean: null, median: null, min: null, max: null });
    expect(a!.steps).toEqual([
      {
        stepId: "fetch",
        runs: 5,
        passed: 5,
        failed: 0,
        timedOut: 0,
        skipped: 0,
        failureRate: 0,
        flaky: false,
        topErrors: [],
        distinctErrors: 0,
      },
      {
        stepId: "write",
        runs: 5,
        passed: 3,
        failed: 2,
        timedOut: 0,
        skipped: 0,
        failureRate: 0.4,
        flaky: true,
        // The step succeeded: its failed check is listed once, with the checks, not again as its error.
        topErrors: [{ error: CHECKS_FAILED, count: 2 }],
        distinctErrors: 1,
      },
    ]);
    expect(a!.checkFailures).toEqual([
      { stepId: "write", check: "forbiddenTools", runs: 2, reasons: [{ reason: FORBIDDEN, count: 2 }], distinctReasons: 1 },
    ]);
    // The failing runs are runs 2 and 4, by their ids.
    const failedRuns = (await db.writer.listEvaluationExecutions(evaluationId))
      .filter((e) => e.flowId === ids.alpha && e.steps[1]?.checks?.passed === false)
      .map((e) => e.executionId.match(/_r(\d+)_/)?.[1]);
    expect(failedRuns.sort()).toEqual(["2", "4"]);

    expect(b).toMatchObject({ flowId: ids.beta, runs: 5, passes: 4, passAtK: 1, passHatK: 0 });
    expect(b!.passRate!.low).toBeCloseTo(0.375535, 5);
    expect(b!.passRate!.high).toBeCloseTo(0.963776, 5);
    expect(b!.steps).toEqual([
      {
        stepId: "pay",
        runs: 5,
        passed: 4,
        failed: 1,
        timedOut: 0,
        skipped: 0,
        failureRate: 0.2,
        flaky: true,
        topErrors: [{ error: "card declined", count: 1 }],
        distinctErrors: 1,
      },
      // Skipped after the critical failure: it says nothing about the step, so its failure rate is over 4 runs.
      {
        stepId: "receipt",
        runs: 5,
        passed: 4,
        failed: 0,
        timedOut: 0,
        skipped: 1,
        failureRate: 0,
        flaky: false,
        topErrors: [],
        distinctErrors: 0,
      },
    ]);

    expect(c).toMatchObject({ flowId: ids.gamma, runs: 5, passes: 5, passAtK: 1, passHatK: 1 });
    expect(c!.passRate).toEqual({ rate: 1, low: expect.closeTo(0.565518, 5), high: 1 });
    expect(c!.score).toEqual({ count: 5, missing: 0, mean: 0.9, median: 0.9, min: 0.9, max: 0.9 });

    // No script reports usage: said as such, not as a gap among counted attempts.
    expect(report.notes).toContain("Tokens are unknown (—) for 15 of 15 runs: their agent reported no token usage.");
    // And a price file would price nothing: no advice to pass one.
    expect(report.notes.filter((note) => note.startsWith("Cost is unknown"))).toEqual([]);
    for (const flow of report.flows) {
      expect(flow.durationMs.count).toBe(5);
      // The scripts report no usage: unknown, never 0.
      expect(flow.inputTokens).toEqual({ total: null, known: 0, unknown: 5 });
      expect(flow.costUsd).toEqual({ total: null, known: 0, unknown: 5 });
    }
  });

  it("comparing with an evaluation where gamma broke flags gamma and its step, and nothing else", async () => {
    const { report: second } = await evaluate(plansOf(true));
    const [, , c] = second.flows;
    expect(c).toMatchObject({ runs: 5, passes: 0, passAtK: 0, passHatK: 0 });
    expect(c!.steps.find((s) => s.stepId === "b")?.topErrors).toEqual([{ error: CHECKS_FAILED, count: 5 }]);
    expect(c!.checkFailures?.find((f) => f.stepId === "b")?.reasons).toEqual([
      { reason: "2 tool calls were made, at most 1 is allowed (failed calls count too)", count: 5 },
    ]);

    const comparison = compareReports(first.flows, second.flows);
    expect(comparison.flagged).toEqual([
      { flowId: ids.gamma, stepId: null, verdict: "regression" },
      { flowId: ids.gamma, stepId: "b", verdict: "regression" },
    ]);
    const verdicts = Object.fromEntries(comparison.flows.map((f) => [f.flowId, f.passes?.verdict]));
    expect(verdicts).toEqual({
      [ids.alpha]: "no credible difference",
      [ids.beta]: "no credible difference",
      [ids.gamma]: "regression",
    });
    expect(comparison.flows[2]!.passes!.pValue).toBeCloseTo(0.007937, 5);
    expect(comparison.flows[2]!.passHatKDelta).toBe(-1);
  });

  it("a step that ran out of time counts among the failures, and the report says how many of them timed out", async () => {
    const flowId = uid("slow-quote");
    const plan = parseFlowPlan(`
flowId: ${flowId}
prompt: quote
steps:
  - stepId: quote
    prompt: quote
    timeoutMs: 40
    scriptByRun:
      "2": [{ hang: true }]
      "3": [{ hang: true }]
      "5": [{ fail: no quote today }]
`);
    const evaluationId = uid("eval-slow");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: 5 } });
    const ran = await runEvaluation(db, {
      evaluationId,
      plans: [plan],
      repeat: 5,
      concurrency: 2,
      agentFor: (run) => new ScriptedAgent({ run }),
    });
    expect(ran.interrupted).toBe(false);
    const stored = await db.writer.listEvaluationExecutions(evaluationId);
    expect(stored.flatMap((e) => e.steps.map((s) => s.status)).sort()).toEqual(["failed", "success", "success", "timed_out", "timed_out"]);
    const report = buildEvaluationReport(stored, { k: 5, flows: [expectationsOfPlan(plan)] });
    expect(report.flows[0]!.steps).toMatchObject([{ stepId: "quote", runs: 5, passed: 2, failed: 3, timedOut: 2, skipped: 0 }]);
  });

  it("interrupted before it begins (Ctrl-C while reev eval opened its database): no run starts, none is stored", async () => {
    const evaluationId = uid("eval-aborted");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: 2 } });
    const controller = new AbortController();
    controller.abort(new Error("interrupted (SIGINT)"));
    let started = 0;
    const ran = await runEvaluation(db, {
      evaluationId,
      plans: [parseFlowPlan(gamma(uid("gamma-aborted"), false))],
      repeat: 2,
      concurrency: 2,
      agentFor: (run) => new ScriptedAgent({ run }),
      signal: controller.signal,
      onRunStart: () => void started++,
    });
    expect({ ...ran, started }).toEqual({ outcomes: [], completedBeforeAbort: new Set(), interrupted: true, started: 0 });
    expect(await db.writer.listEvaluationExecutions(evaluationId)).toEqual([]);
  });
});
