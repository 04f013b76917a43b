// A run that completed but failed an `expect` check does not pass, and the report says which check
// failed, in how many runs and why — from the verdicts stored with the runs — and reads such a run as
// completed, not as failed. Reports stored before these fields existed still render.
import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { runOutcomeText } from "../src/evaluation/check-failures.js";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport, type EvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const ARGS_3 = 'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 3, expected 2)';
const ARGS_5 = 'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 5, expected 2)';
const FORBIDDEN = "transfer is forbidden but was called 1 time (failed calls count too)";
const TOO_MANY = "2 tool calls were made, at most 1 are allowed (failed calls count too)";

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
