// A run that completed but failed an `expect` check does not pass, and the report says which check
// failed, in how many runs and why — from the verdicts stored with the runs — and reads such a run as
// completed, not as failed. Reports stored before these fields existed still render.
import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { CHECKS_FAILED } from "../src/evaluation/aggregate-steps.js";
import { recordedFailedChecks, runOutcomeText } from "../src/evaluation/check-failures.js";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport, type EvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const ARGS_3 = 'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 3, expected 2)';
const ARGS_5 = 'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 5, expected 2)';
const FORBIDDEN = "transfer is forbidden but was called 1 time (failed calls count too)";
const TOO_MANY = "2 tool calls were made, at most 1 is allowed (failed calls count too)";

/**
 * Run 1 passes. Run 2 swaps 3 (args); run 3 swaps 3 and transfers (args, forbiddenTools, and its
 * step's maxToolCalls); run 4 swaps 5 (args, another reason). Every run completes.
 */
const swap = (flowId: string) => `
flowId: ${flowId}
prompt: swap 2
expect:
  args: { swap: { amount: 2 } }
  forbiddenTools: [transfer]
steps:
  - stepId: swap
    prompt: swap
    expect: { maxToolCalls: 1 }
    script: [{ toolCalls: [{ toolName: swap, input: { amount: 2 } }] }]
    scriptByRun:
      "2": [{ toolCalls: [{ toolName: swap, input: { amount: 3 } }] }]
      "3": [{ toolCalls: [{ toolName: swap, input: { amount: 3 } }, { toolName: transfer }] }]
      "4": [{ toolCalls: [{ toolName: swap, input: { amount: 5 } }] }]
`;

/** Its only step fails in run 2, so the run fails, and the flow's tools check fails with it. */
const quote = (flowId: string) => `
flowId: ${flowId}
prompt: quote
expect: { tools: [get_quote] }
steps:
  - stepId: quote
    prompt: quote
    script: [{ toolCalls: [{ toolName: get_quote }] }]
    scriptByRun: { "2": [{ fail: no quote today }] }
`;

/**
 * A step with its own checks: run 2 fails the step itself (its error, and the tools check with it), run
 * 3 succeeds but calls a forbidden tool (the check alone).
 */
const guarded = (flowId: string) => `
flowId: ${flowId}
prompt: quote
steps:
  - stepId: quote
    prompt: quote
    expect: { tools: [get_quote], forbiddenTools: [transfer] }
    script: [{ toolCalls: [{ toolName: get_quote }] }]
    scriptByRun:
      "2": [{ fail: no quote today }]
      "3": [{ toolCalls: [{ toolName: get_quote }, { toolName: transfer }] }]
`;

/** No expect block: its runs carry no verdict. */
const plain = (flowId: string) => `
flowId: ${flowId}
prompt: plain
steps:
  - stepId: only
    prompt: only
`;

describe.each(testBackends())("the checks a report says failed, on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  async function evaluate(plans: FlowPlan[], repeat: number) {
    const evaluationId = uid("eval-checks");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat } });
    const ran = await runEvaluation(db, { evaluationId, plans, repeat, concurrency: 2, agentFor: (run) => new ScriptedAgent({ run }) });
    expect(ran.outcomes.map((o) => o.error)).toEqual(Array(plans.length * repeat).fill(null));
    return db.writer.listEvaluationExecutions(evaluationId);
  }

  const runNumber = (id: string) => Number(id.match(/_r(\d+)_/)?.[1]);

  it("per flow, which checks failed in how many runs and why; each run says it completed and which checks it failed", async () => {
    const flowId = uid("swap");
    const plan = parseFlowPlan(swap(flowId));
    const stored = await evaluate([plan], 4);
    const report = buildEvaluationReport(stored, { k: 4, flows: [expectationsOfPlan(plan)] });
    const [flow] = report.flows;
    expect(flow).toMatchObject({ runs: 4, passes: 1 });
    // The flow's checks, then its steps', each in the order checkExpectations judges them.
    expect(flow!.checkFailures).toEqual([
      { stepId: null, check: "forbiddenTools", runs: 1, reasons: [{ reason: FORBIDDEN, count: 1 }], distinctReasons: 1 },
      {
        stepId: null,
        check: "args",
        runs: 3,
        reasons: [
          { reason: ARGS_3, count: 2 },
          { reason: ARGS_5, count: 1 },
        ],
        distinctReasons: 2,
      },
      { stepId: "swap", check: "maxToolCalls", runs: 1, reasons: [{ reason: TOO_MANY, count: 1 }], distinctReasons: 1 },
    ]);
    const byRun = Object.fromEntries(flow!.runTotals!.map((t) => [runNumber(t.runId), t]));
    expect(byRun[1]).toMatchObject({ passed: true, status: "completed", failedChecks: [] });
    expect(byRun[2]).toMatchObject({ passed: false, status: "completed", failedChecks: [{ stepId: null, check: "args" }] });
    expect(byRun[3]!.failedChecks).toEqual([
      { stepId: null, check: "forbiddenTools" },
      { stepId: null, check: "args" },
      { stepId: "swap", check: "maxToolCalls" },
    ]);
    expect(runOutcomeText(byRun[1]!)).toBe("passed");
    expect(runOutcomeText(byRun[2]!)).toBe("completed, failed a check (✗ args)");
    expect(runOutcomeText(byRun[3]!)).toBe("completed, failed 3 checks (✗ forbiddenTools, ✗ args, ✗ swap › maxToolCalls)");

    const html = renderEvaluationHtml(report, { title: "t", facts: [], minPassRate: null, runLink: () => null });
    const text = html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    expect(text).toContain("Checks that failed");
    expect(text).toContain("args ✗ in 3 of 4 runs: 2× no successful swap call had the arguments");
    expect(text).toContain(`forbiddenTools ✗ in 1 of 4 runs: ${FORBIDDEN}`);
    expect(text).toContain(`swap › maxToolCalls ✗ in 1 of 4 runs: ${TOO_MANY}`);
    // In the run list, a run that completed and failed a check reads so, not "failed".
    expect(text).toMatch(/_r2_\S+ completed, failed a check \(✗ args\) · — in/);
  });

  it("the checks a run failed, from the verdicts the executor returns, are those the report reads back from the store", async () => {
    const flowId = uid("swap-live");
    const plan = parseFlowPlan(swap(flowId));
    const evaluationId = uid("eval-live");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: { repeat: 4 } });
    const ran = await runEvaluation(db, {
      evaluationId,
      plans: [plan],
      repeat: 4,
      concurrency: 2,
      agentFor: (run) => new ScriptedAgent({ run }),
    });
    const stored = await db.writer.listEvaluationExecutions(evaluationId);
    const report = buildEvaluationReport(stored, { k: 4, flows: [expectationsOfPlan(plan)] });
    const fromStore = Object.fromEntries(report.flows[0]!.runTotals!.map((t) => [t.runId, t.failedChecks]));
    const live = Object.fromEntries(
      ran.outcomes.map((o) => [
        o.executionId,
        recordedFailedChecks(o.result!.checks, (i) => o.result!.stepResults.find((st) => st.stepIndex === i)!.stepId),
      ]),
    );
    expect(live).toEqual(fromStore);
    expect(Object.values(live).filter((checks) => checks.length > 0)).toHaveLength(3);
    // A flow without any expect block carries no verdicts: nothing failed.
    expect(recordedFailedChecks(null, () => "x")).toEqual([]);
  });

  it("a run that failed is read by its status, with the checks it failed too", async () => {
    const flowId = uid("quote");
    const plan = parseFlowPlan(quote(flowId));
    const stored = await evaluate([plan], 2);
    const failed = stored.find((e) => runNumber(e.executionId) === 2)!;
    expect(failed.status).toBe("failed");
    const report = buildEvaluationReport(stored, { k: 2, flows: [expectationsOfPlan(plan)] });
    const totals = report.flows[0]!.runTotals!.find((t) => t.runId === failed.executionId)!;
    expect(runOutcomeText(totals)).toBe("failed (✗ tools)");
    expect(report.flows[0]!.checkFailures).toMatchObject([{ stepId: null, check: "tools", runs: 1 }]);
  });

  it("a step's failed check is said once, with the checks that failed; the step's errors keep only its own", async () => {
    const flowId = uid("guarded");
    const plan = parseFlowPlan(guarded(flowId));
    const stored = await evaluate([plan], 3);
    const report = buildEvaluationReport(stored, { k: 3, flows: [expectationsOfPlan(plan)] });
    const [flow] = report.flows;
    expect(flow!.checkFailures).toEqual([
      { stepId: "quote", check: "tools", runs: 1, reasons: [{ reason: "get_quote was never called", count: 1 }], distinctReasons: 1 },
      { stepId: "quote", check: "forbiddenTools", runs: 1, reasons: [{ reason: FORBIDDEN, count: 1 }], distinctReasons: 1 },
    ]);
    // Run 2's step failed: its own error, not its tools check again. Run 3's succeeded: only its check
    // failed, which the step table points to instead of repeating.
    expect(flow!.steps).toEqual([
      expect.objectContaining({
        stepId: "quote",
        passed: 1,
        failed: 2,
        topErrors: [
          { error: CHECKS_FAILED, count: 1 },
          { error: "no quote today", count: 1 },
        ],
        distinctErrors: 2,
      }),
    ]);
  });

  it("a missing verdict is the step's error only where the checks do not list it: in a run that did not complete", async () => {
    const flowId = uid("two");
    const plan = parseFlowPlan(
      `flowId: ${flowId}\nprompt: p\nsteps:\n  - { stepId: a, prompt: a }\n  - { stepId: b, prompt: b, scriptByRun: { "2": [{ fail: broke }] } }\n`,
    );
    const stored = await evaluate([plan], 2);
    // As a configuration that asked for step a's verdict, which the store does not hold.
    const report = buildEvaluationReport(stored, { k: 2, flows: [{ flowId, flow: false, steps: ["a"] }] });
    const [flow] = report.flows;
    expect(flow!.checkFailures).toEqual([
      { stepId: "a", check: "expect", runs: 1, reasons: [{ reason: "no verdict was recorded", count: 1 }], distinctReasons: 1 },
    ]);
    expect(flow!.steps.find((st) => st.stepId === "a")?.topErrors).toEqual([
      { error: CHECKS_FAILED, count: 1 },
      { error: "expect: no verdict was recorded", count: 1 },
    ]);
  });

  it("a completed run without the verdict it must carry fails 'expect: no verdict was recorded'", async () => {
    const flowId = uid("plain");
    const stored = await evaluate([parseFlowPlan(plain(flowId))], 2);
    // As a configuration that asked for a flow verdict the store does not hold (its recording failed).
    const report = buildEvaluationReport(stored, { k: 2, flows: [{ flowId, flow: true, steps: [] }] });
    expect(report.passes).toBe(0);
    expect(report.flows[0]!.checkFailures).toEqual([
      { stepId: null, check: "expect", runs: 2, reasons: [{ reason: "no verdict was recorded", count: 2 }], distinctReasons: 1 },
    ]);
    // Without an expect block nothing is owed, and nothing failed.
    const none = buildEvaluationReport(stored, { k: 2, flows: [expectationsOfPlan(parseFlowPlan(plain(flowId)))] });
    expect(none.flows[0]!.checkFailures).toEqual([]);
    expect(none.flows[0]!.runTotals!.map(runOutcomeText)).toEqual(["passed", "passed"]);
  });
});

describe("a report stored before check failures and run statuses were kept", () => {
  it("still renders, its runs that did not pass read as such", () => {
    const report: EvaluationReport = buildEvaluationReport([], { k: 1, flows: [{ flowId: "old", flow: true, steps: [] }] });
    const [flow] = report.flows;
    const old = {
      ...report,
      runs: 1,
      flows: [
        {
          ...flow!,
          runs: 1,
          runIds: ["exec_old"],
          checkFailures: undefined,
          runTotals: [{ runId: "exec_old", passed: false, inputTokens: null, outputTokens: null, cachedInputTokens: null, costUsd: null }],
        },
      ],
    };
    const html = renderEvaluationHtml(old, { title: "t", facts: [], minPassRate: null, runLink: () => null });
    expect(html).not.toContain("Checks that failed");
    expect(html.replace(/\s+/g, " ")).toContain("did not pass · — in / — out · —");
  });
});
