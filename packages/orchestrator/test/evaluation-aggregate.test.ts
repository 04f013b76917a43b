import { describe, expect, it } from "vitest";
import { aggregateFlow, type EvaluationRun, type FlowRuns } from "../src/evaluation/aggregate-flow.js";
import { aggregateSteps, NO_ERROR_RECORDED, type StepRun } from "../src/evaluation/aggregate-steps.js";

const step = (stepId: string, outcome: StepRun["outcome"], ...errors: string[]): StepRun => ({ stepId, outcome, errors, timedOut: false });

const run = (runId: string, fields: Partial<EvaluationRun>): EvaluationRun => ({
  runId,
  passed: true,
  score: null,
  durationMs: null,
  inputTokens: null,
  outputTokens: null,
  cachedInputTokens: null,
  costUsd: null,
  steps: [],
  ...fields,
});

// Five runs of a two-step flow, each figure chosen so the expected report can be worked by hand.
const runs: EvaluationRun[] = [
  run("r1", {
    score: 0.9,
    durationMs: 1200,
    inputTokens: 1000,
    outputTokens: 100,
    costUsd: 0.01,
    steps: [step("balance", "passed"), step("swap", "passed")],
  }),
  run("r2", {
    passed: false,
    score: 0.4,
    durationMs: 5000,
    inputTokens: 1500,
    outputTokens: 300,
    costUsd: 0.02,
    steps: [step("balance", "passed"), step("swap", "failed", "slippage exceeded")],
  }),
  // A model missing from the price table: its cost is unknown.
  run("r3", { durationMs: 900, inputTokens: 1100, outputTokens: 120, steps: [step("balance", "passed"), step("swap", "passed")] }),
  // The provider gave no input count and the run recorded no duration; the critical first step failed.
  run("r4", {
    passed: false,
    score: 0.2,
    outputTokens: 90,
    costUsd: 0.005,
    steps: [step("balance", "failed", "rpc timeout"), step("swap", "skipped", "critical step balance failed")],
  }),
  run("r5", {
    score: 1,
    durationMs: 1000,
    inputTokens: 1000,
    outputTokens: 100,
    costUsd: 0.01,
    steps: [step("balance", "passed"), step("swap", "passed")],
  }),
];

describe("aggregateFlow", () => {
  it("reports a flow over its runs, every figure from the runs and null where one is unknown", () => {
    expect(aggregateFlow({ flowId: "swap-flow", k: 2, runs })).toEqual({
      flowId: "swap-flow",
      runs: 5,
      passes: 3,
      // Wilson for 3/5 (python3, as in evaluation-estimators.test.ts).
      passRate: { rate: 0.6, low: expect.closeTo(0.2307243, 7), high: expect.closeTo(0.8823792, 7) },
      k: 2,
      // 1 − C(2,2)/C(5,2) = 1 − 1/10; C(3,2)/C(5,2) = 3/10.
      passAtK: expect.closeTo(0.9, 14),
      passHatK: expect.closeTo(0.3, 14),
      // Scores 0.9, 0.4, 0.2, 1 (r3 has none): mean 2.5/4, median (0.4 + 0.9)/2.
      score: { count: 4, missing: 1, mean: expect.closeTo(0.625, 14), median: expect.closeTo(0.65, 14), min: 0.2, max: 1 },
      // Durations 900, 1000, 1200, 5000 (r4 has none): nearest rank ⌈2⌉ = 2nd and ⌈3.8⌉ = 4th.
      durationMs: { count: 4, missing: 1, p50: 1000, p95: 5000 },
      inputTokens: { total: null, known: 4, unknown: 1 },
      outputTokens: { total: 710, known: 5, unknown: 0 },
      // The runs leave cached input tokens out: unknown, never 0.
      cachedInputTokens: { total: null, known: 0, unknown: 5 },
      costUsd: { total: null, known: 4, unknown: 1 },
      steps: [
        {
          stepId: "balance",
          runs: 5,
          passed: 4,
          failed: 1,
          timedOut: 0,
          skipped: 0,
          failureRate: 0.2,
          flaky: true,
          topErrors: [{ error: "rpc timeout", count: 1 }],
          distinctErrors: 1,
        },
        {
          stepId: "swap",
          runs: 5,
          passed: 3,
          failed: 1,
          timedOut: 0,
          skipped: 1,
          failureRate: 0.25,
          flaky: true,
          topErrors: [{ error: "slippage exceeded", count: 1 }],
          distinctErrors: 1,
        },
      ],
    });
  });

  it("sums costs and tokens when every run knows them", () => {
    const known = runs.filter((r) => r.runId !== "r3" && r.runId !== "r4");
    const report = aggregateFlow({ flowId: "f", k: 3, runs: known });
    expect(report.inputTokens).toEqual({ total: 3500, known: 3, unknown: 0 });
    expect(report.costUsd).toEqual({ total: expect.closeTo(0.04, 15), known: 3, unknown: 0 });
  });

  it("gives pass@k and pass^k only for as many runs as k: an interrupted evaluation has none", () => {
    expect(aggregateFlow({ flowId: "f", k: 5, runs })).toMatchObject({ runs: 5, passAtK: 1, passHatK: 0 });
    expect(aggregateFlow({ flowId: "f", k: 6, runs })).toMatchObject({ runs: 5, passAtK: null, passHatK: null });
  });

  it("reports a flow without runs as unknown, not as 0%", () => {
    expect(aggregateFlow({ flowId: "f", k: 5, runs: [] })).toEqual({
      flowId: "f",
      runs: 0,
      passes: 0,
      passRate: null,
      k: 5,
      passAtK: null,
      passHatK: null,
      score: { count: 0, missing: 0, mean: null, median: null, min: null, max: null },
      durationMs: { count: 0, missing: 0, p50: null, p95: null },
      inputTokens: { total: null, known: 0, unknown: 0 },
      outputTokens: { total: null, known: 0, unknown: 0 },
      cachedInputTokens: { total: null, known: 0, unknown: 0 },
      costUsd: { total: null, known: 0, unknown: 0 },
      steps: [],
    });
  });

  it.each<[string, FlowRuns, string]>([
    [
      "a run counted twice",
      { flowId: "f", k: 1, runs: [run("a", {}), run("b", {}), run("a", {})] },
      'runs[2].runId: duplicate runId "a" (already at [0])',
    ],
    [
      "a step counted twice in one run",
      { flowId: "f", k: 1, runs: [run("a", { steps: [step("s", "passed"), step("s", "failed")] })] },
      'runs[0].steps[1].stepId: duplicate stepId "s" (already at [0])',
    ],
    [
      "a score out of range",
      { flowId: "f", k: 1, runs: [run("a", {}), run("b", { score: 1.5 })] },
      "runs[1].score: must be between 0 and 1",
    ],
    ["a negative cost", { flowId: "f", k: 1, runs: [run("a", { costUsd: -0.01 })] }, "runs[0].costUsd: must be 0 or more"],
    ["a misspelt field", { flowId: "f", k: 1, runs: [{ ...run("a", {}), cost: 1 } as EvaluationRun] }, "runs[0].cost: Unrecognized key"],
    [
      "an unknown outcome",
      { flowId: "f", k: 1, runs: [run("a", { steps: [step("s", "ok" as "passed")] })] },
      'runs[0].steps[0].outcome: must be one of passed, failed or skipped, not the text "ok"',
    ],
    ["k of 0", { flowId: "f", k: 0, runs: [] }, "k: must be 1 or more"],
  ])("refuses %s, naming the field, and counts nothing", (_, input, problem) => {
    expect(() => aggregateFlow(input)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining(`  - ${problem}`) }),
    );
  });
});

describe("aggregateSteps", () => {
  it("ranks the errors of failed runs by count, then by text, each counted once per run, and counts the timed-out ones among them", () => {
    const timedOut = (s: StepRun): StepRun => ({ ...s, timedOut: true });
    const [report] = aggregateSteps([
      [timedOut(step("s", "failed", "b: timeout", "a: quota"))],
      [timedOut(step("s", "failed", "b: timeout", "b: timeout"))],
      [step("s", "failed", "c: refused")],
      [step("s", "failed")],
      [step("s", "passed", "retried after: rpc reset")],
      [step("s", "skipped", "critical step x failed")],
    ]);
    expect(report).toEqual({
      stepId: "s",
      runs: 6,
      passed: 1,
      failed: 4,
      timedOut: 2,
      skipped: 1,
      failureRate: 0.8,
      flaky: true,
      topErrors: [
        { error: "b: timeout", count: 2 },
        { error: NO_ERROR_RECORDED, count: 1 },
        { error: "a: quota", count: 1 },
        { error: "c: refused", count: 1 },
      ],
      distinctErrors: 4,
    });
  });

  it("shows the five most common errors and says how many there were", () => {
    const failures = ["e1", "e2", "e2", "e3", "e3", "e3", "e4", "e5", "e6", "e7"].map((error) => [step("s", "failed", error)]);
    const [report] = aggregateSteps(failures);
    expect(report?.topErrors).toEqual([
      { error: "e3", count: 3 },
      { error: "e2", count: 2 },
      { error: "e1", count: 1 },
      { error: "e4", count: 1 },
      { error: "e5", count: 1 },
    ]);
    expect(report?.distinctErrors).toBe(7);
  });

  it.each<[string, StepRun["outcome"][], number | null, boolean]>([
    ["always passed", ["passed", "passed", "passed"], 0, false],
    ["always failed", ["failed", "failed"], 1, false],
    ["passed and failed", ["passed", "failed", "passed"], 1 / 3, true],
    ["failed or skipped, never passed", ["failed", "skipped"], 1, false],
    ["never ran", ["skipped", "skipped"], null, false],
  ])("a step that %s: failure rate %s, flaky %s", (_, outcomes, failureRate, flaky) => {
    const [report] = aggregateSteps(outcomes.map((outcome) => [step("s", outcome)]));
    expect(report?.failureRate).toBe(failureRate);
    expect(report?.flaky).toBe(flaky);
  });

  it("aligns steps by id across runs, in the order they first appear", () => {
    const reports = aggregateSteps([
      [step("a", "passed")],
      [step("b", "failed"), step("a", "failed")],
      [step("c", "passed"), step("b", "passed")],
    ]);
    expect(reports.map((r) => [r.stepId, r.runs, r.passed, r.failed])).toEqual([
      ["a", 2, 1, 1],
      ["b", 2, 1, 1],
      ["c", 1, 1, 0],
    ]);
  });
});
