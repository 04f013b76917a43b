// Tokens and cost in an evaluation's report, from the usage stored with each attempt (step_attempts):
// summed exactly per run and per flow, priced by the price table, and null — never a guess — when a
// count is missing, a model has no price, or no price table was given.
import type { Database } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { buildEvaluationReport } from "../src/evaluation/evaluation-report.js";
import { parsePriceTable } from "../src/evaluation/price-table.js";
import { expectationsOfPlan, runEvaluation } from "../src/evaluation/run-evaluation.js";
import { storedReport } from "../src/evaluation/stored-comparison.js";
import { type FlowPlan, parseFlowPlan } from "../src/flow-plan.js";
import { uid } from "./fixtures/executor/support.js";

const PRICES = parsePriceTable(`
models:
  gpt-a: { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 }
  gpt-c: { inputPerMillion: 1, outputPerMillion: 2 }
`);

/** Two priced steps: every run uses 1000 + 2345 input (100 cached) and 200 + 67 output tokens of gpt-a. */
const priced = (flowId: string) => `
flowId: ${flowId}
prompt: priced
steps:
  - stepId: ask
    prompt: ask
    script: [{ usage: { model: gpt-a, inputTokens: 1000, outputTokens: 200, cachedInputTokens: 100 } }]
  - stepId: answer
    prompt: answer
    script: [{ usage: { model: gpt-a, inputTokens: 2345, outputTokens: 67, cachedInputTokens: 0 } }]
`;

/** Run 1 priced; run 2 answered by gpt-b, which has no price; run 3 did not report its output tokens. */
const mixed = (flowId: string) => `
flowId: ${flowId}
prompt: mixed
steps:
  - stepId: only
    prompt: only
    script: [{ usage: { model: gpt-a, inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 } }]
    scriptByRun:
      "2": [{ usage: { model: gpt-b, inputTokens: 20, outputTokens: 7, cachedInputTokens: 0 } }]
      "3": [{ usage: { model: gpt-a, inputTokens: 30, cachedInputTokens: 0 } }]
`;

/**
 * Cached counts left out: run 2's gpt-a attempt (priced apart, so its cost is unknown), run 3's gpt-c
 * attempt (no cached price: cached tokens cost the input price, so the count does not matter).
 */
const uncached = (flowId: string) => `
flowId: ${flowId}
prompt: uncached
steps:
  - stepId: a
    prompt: a
    script: [{ usage: { model: gpt-a, inputTokens: 100, outputTokens: 10, cachedInputTokens: 40 } }]
    scriptByRun:
      "2": [{ usage: { model: gpt-a, inputTokens: 100, outputTokens: 10 } }]
  - stepId: c
    prompt: c
    script: [{ usage: { model: gpt-c, inputTokens: 1000, outputTokens: 100, cachedInputTokens: 500 } }]
    scriptByRun:
      "3": [{ usage: { model: gpt-c, inputTokens: 1000, outputTokens: 100 } }]
`;

// (1000 − 100) × 2.5 + 100 × 1.25 + 200 × 10 + 2345 × 2.5 + 67 × 10 = 10,907.5 per million.
const PRICED_RUN_USD = 10_907.5 / 1_000_000;

describe.each(testBackends())("tokens and cost in the evaluation report on $name", (backend) => {
  let db: Database;
  let evaluationId: string;
  let plans: FlowPlan[];
  const ids = { priced: uid("priced"), mixed: uid("mixed"), uncached: uid("uncached") };

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    evaluationId = uid("eval");
    plans = [parseFlowPlan(priced(ids.priced)), parseFlowPlan(mixed(ids.mixed)), parseFlowPlan(uncached(ids.uncached))];
    await db.writer.createEvaluationRun({
      id: evaluationId,
      agent: "scripted",
      configuration: { repeat: 3, flows: plans.map(expectationsOfPlan) },
    });
    const ran = await runEvaluation(db, { evaluationId, plans, repeat: 3, concurrency: 2, agentFor: (run) => new ScriptedAgent({ run }) });
    expect(ran.outcomes.map((o) => o.error)).toEqual(Array(9).fill(null));
  });
  afterAll(async () => {
    await db?.close();
  });

  const report = async (prices: Parameters<typeof buildEvaluationReport>[1]["prices"]) =>
    buildEvaluationReport(await db.writer.listEvaluationExecutions(evaluationId), { k: 3, flows: plans.map(expectationsOfPlan), prices });

  it("sums each run's attempts and each flow's runs exactly, and prices them", async () => {
    const [p] = (await report(PRICES)).flows;
    expect(p!.runTotals).toHaveLength(3);
    for (const run of p!.runTotals!) {
      expect(run).toMatchObject({ inputTokens: 3345, outputTokens: 267, cachedInputTokens: 100 });
      expect(run.costUsd).toBeCloseTo(PRICED_RUN_USD, 12);
    }
    expect(p!.inputTokens).toEqual({ total: 10_035, known: 3, unknown: 0 });
    expect(p!.outputTokens).toEqual({ total: 801, known: 3, unknown: 0 });
    expect(p!.cachedInputTokens).toEqual({ total: 300, known: 3, unknown: 0 });
    expect(p!.costUsd.known).toBe(3);
    expect(p!.costUsd.total).toBeCloseTo(3 * PRICED_RUN_USD, 12);
  });

  it("makes a cost null when any price is unknown, and a count null when one attempt lacks it", async () => {
    const built = await report(PRICES);
    const m = built.flows[1]!;
    const byRun = (n: number) => m.runTotals!.find((r) => r.runId.includes(`_r${n}_`))!;
    expect(byRun(1)).toMatchObject({ inputTokens: 10, outputTokens: 5, costUsd: (10 * 2.5 + 5 * 10) / 1_000_000 });
    // gpt-b is not in the table: its tokens are known, its cost is not.
    expect(byRun(2)).toMatchObject({ inputTokens: 20, outputTokens: 7, costUsd: null });
    expect(byRun(3)).toMatchObject({ inputTokens: 30, outputTokens: null, costUsd: null });
    expect(m.inputTokens).toEqual({ total: 60, known: 3, unknown: 0 });
    expect(m.outputTokens).toEqual({ total: null, known: 2, unknown: 1 });
    expect(m.costUsd).toEqual({ total: null, known: 1, unknown: 2 });
    expect(built.notes).toEqual([
      "Tokens are unknown (—) for 1 of 9 runs: their agent did not report usage for every attempt.",
      "Cost is unknown (—) for 1 run: the model gpt-b is not in the price table.",
      "Cost is unknown (—) for 1 run: an attempt did not report cached input tokens, and the price of gpt-a charges them differently.",
    ]);
  });

  it("an unknown cached count makes the cost unknown only where cached tokens are priced apart, and the notes say so", async () => {
    const u = (await report(PRICES)).flows[2]!;
    const byRun = (n: number) => u.runTotals!.find((r) => r.runId.includes(`_r${n}_`))!;
    // gpt-a: 60 × 2.5 + 40 × 1.25 + 10 × 10 = 300; gpt-c (no cached price): 1000 × 1 + 100 × 2 = 1200, per million.
    expect(byRun(1).cachedInputTokens).toBe(540);
    expect(byRun(1).costUsd).toBeCloseTo(1500 / 1_000_000, 15);
    expect(byRun(2)).toMatchObject({ cachedInputTokens: null, costUsd: null });
    expect(byRun(3).cachedInputTokens).toBeNull();
    expect(byRun(3).costUsd).toBeCloseTo(1500 / 1_000_000, 15);
    expect(u.cachedInputTokens).toEqual({ total: null, known: 1, unknown: 2 });
    expect(u.costUsd).toEqual({ total: null, known: 2, unknown: 1 });
  });

  it("without a price table every cost is null, and the report says why", async () => {
    const built = await report(null);
    for (const flow of built.flows) {
      expect(flow.costUsd.total).toBeNull();
      expect(flow.runTotals!.every((r) => r.costUsd === null)).toBe(true);
    }
    expect(built.flows[0]!.inputTokens.total).toBe(10_035);
    expect(built.notes).toContain("Cost is unknown (—): no price table was given: pass --prices FILE to price the tokens.");
  });

  it("a finished evaluation priced again from its stored runs gives the same figures as when it ran", async () => {
    const summary = await report(PRICES);
    await db.writer.finishEvaluationRun(evaluationId, { status: "completed", summary: JSON.parse(JSON.stringify(summary)) });
    const unpriced = await storedReport(db, evaluationId, "a");
    expect(unpriced.report.flows[0]!.costUsd.total).toBeCloseTo(3 * PRICED_RUN_USD, 12);
    const repriced = await storedReport(
      db,
      evaluationId,
      "a",
      parsePriceTable("models: { gpt-a: { inputPerMillion: 0, outputPerMillion: 0, cachedInputPerMillion: 0 } }"),
    );
    expect(repriced.report.flows[0]!.costUsd.total).toBe(0);
    expect(repriced.report.flows[0]!.inputTokens.total).toBe(10_035);
  });
});
