// compareReports between evaluations that are not shaped alike: a different --repeat (so a different k
// and a different number of runs) must not produce deltas that compare unlike things.
import { describe, expect, it } from "vitest";
import { aggregateFlow, type EvaluationRun } from "../src/evaluation/aggregate-flow.js";
import { compareReports } from "../src/evaluation/compare-reports.js";
import { failureRateChange, passRateChange } from "../src/evaluation/comparison-columns.js";

const run = (runId: string, inputTokens: number | null, costUsd: number | null): EvaluationRun => ({
  runId,
  passed: true,
  score: null,
  durationMs: null,
  inputTokens,
  outputTokens: 10,
  cachedInputTokens: 0,
  costUsd,
  steps: [],
});

const NOTHING_SHARED = "A and B have no flow in common, so nothing is compared: pick two evaluations or runs of the same flows.";

const flow = (k: number, runs: EvaluationRun[]) => aggregateFlow({ flowId: "swap", k, runs });

describe("compareReports", () => {
  it("compares tokens and cost per run, so a longer evaluation does not look costlier", () => {
    // A: 2 runs of 100 tokens ($0.01 each); B: 4 runs of 150 tokens ($0.02 each).
    const a = flow(2, [run("a1", 100, 0.01), run("a2", 100, 0.01)]);
    const b = flow(2, [run("b1", 150, 0.02), run("b2", 150, 0.02), run("b3", 150, 0.02), run("b4", 150, 0.02)]);
    const [f] = compareReports([a], [b]).flows;
    expect(f).toMatchObject({ inputTokensPerRunDelta: 50, outputTokensPerRunDelta: 0, cachedInputTokensPerRunDelta: 0 });
    expect(f!.costUsdPerRunDelta).toBeCloseTo(0.01, 12);
  });

  it("says tokens and cost are per run only when the sides counted different numbers of runs of a flow", () => {
    const PER_RUN = "Tokens and cost are compared per run, as the two sides hold different numbers of runs.";
    const one = (id: string) => flow(1, [run(id, 100, 0.1)]);
    expect(compareReports([one("a1")], [flow(1, [run("b1", 100, 0.1), run("b2", 100, 0.1)])]).notes).toContain(PER_RUN);
    // One run against one (two executions), or as many on both sides: per run and totals are the same comparison.
    expect(compareReports([one("a1")], [one("b1")]).notes).toEqual([]);
    expect(compareReports([flow(2, [run("a1", 1, 0), run("a2", 1, 0)])], [flow(2, [run("b1", 1, 0), run("b2", 1, 0)])]).notes).toEqual([]);
  });

  it("equal per-run costs over different run counts compare as no change, not as float noise", () => {
    // 3 × 0.1 / 3 and 0.1 differ in the last bits of a double.
    const a = flow(3, [run("a1", 100, 0.1), run("a2", 100, 0.1), run("a3", 100, 0.1)]);
    const b = flow(1, [run("b1", 100, 0.1)]);
    expect(a.costUsd.total! / 3).not.toBe(0.1);
    expect(compareReports([a], [b]).flows[0]).toMatchObject({ costUsdPerRunDelta: 0, inputTokensPerRunDelta: 0 });
  });

  it("an unknown count on either side makes its per-run delta unknown, never a guess", () => {
    const a = flow(2, [run("a1", 100, 0.01), run("a2", null, null)]);
    const b = flow(2, [run("b1", 100, 0.01), run("b2", 100, 0.01)]);
    expect(compareReports([a], [b]).flows[0]).toMatchObject({
      inputTokensPerRunDelta: null,
      costUsdPerRunDelta: null,
      outputTokensPerRunDelta: 0,
    });
  });

  it("shows the counts a rate and its p come from, and a dash for a side without the step", () => {
    const step = (stepId: string, outcome: "passed" | "failed") => ({ stepId, outcome, errors: [], timedOut: false });
    const withSteps = (r: EvaluationRun, steps: EvaluationRun["steps"]) => ({
      ...r,
      passed: steps.every((s) => s.outcome === "passed"),
      steps,
    });
    const a = flow(3, [
      withSteps(run("a1", 1, 0), [step("fetch", "passed")]),
      withSteps(run("a2", 1, 0), [step("fetch", "failed")]),
      withSteps(run("a3", 1, 0), [step("fetch", "passed")]),
    ]);
    const b = flow(4, [
      withSteps(run("b1", 1, 0), [step("fetch", "passed"), step("send", "passed")]),
      withSteps(run("b2", 1, 0), [step("fetch", "passed"), step("send", "failed")]),
      withSteps(run("b3", 1, 0), [step("fetch", "passed"), step("send", "passed")]),
      withSteps(run("b4", 1, 0), [step("fetch", "passed"), step("send", "passed")]),
    ]);
    const [f] = compareReports([a], [b]).flows;
    expect(f!.passes).toMatchObject({ baseline: { runs: 3, passes: 2 }, candidate: { runs: 4, passes: 3 } });
    expect(passRateChange(f!)).toBe("pass 2/3 → 3/4 (66.7% → 75.0%)");
    expect(f!.steps.map(failureRateChange)).toEqual(["failure 1/3 → 0/4 (33.3% → 0.0%)", "failure — → 1/4 (— → 25.0%)"]);
  });

  it("compares pass^k only between equal k, and says so when k differs", () => {
    const runs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => run(`${prefix}${i}`, 1, 0));
    const sameK = compareReports([flow(3, runs("a", 3))], [flow(3, runs("b", 3))]);
    expect(sameK.flows[0]).toMatchObject({ kA: 3, kB: 3, passHatKDelta: 0 });
    expect(sameK.notes.join("\n")).not.toContain("k differs");

    const otherK = compareReports([flow(3, runs("a", 3))], [flow(5, runs("b", 5))]);
    expect(otherK.flows[0]).toMatchObject({ kA: 3, kB: 5, passHatKDelta: null });
    expect(otherK.notes).toContain(
      "Δ pass^k is not compared where k differs (A k = 3, B k = 5): pass^k of different k are different measures. Compare the pass rates.",
    );
    // The pass rates are still judged: they do not depend on k.
    expect(otherK.flows[0]!.passes?.verdict).toBe("no credible difference");
  });

  it("says when a side counted fewer runs than its k, so its k reads as configured, not measured", () => {
    const runs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => run(`${prefix}${i}`, 1, 0));
    // B was to run the flow 6 times and was interrupted after 3.
    const cut = compareReports([flow(3, runs("a", 3))], [flow(6, runs("b", 3))]);
    expect(cut.flows[0]).toMatchObject({ kA: 3, kB: 6, passHatKDelta: null });
    expect(cut.notes).toContain(
      'B counted 3 runs of swap, fewer than its k = 6 (it was cut short), so its pass^k is "—" and Δ pass^k is not compared there.',
    );
    // The same k on both sides, one cut short: no "k differs" note, but this one.
    const sameK = compareReports([flow(2, runs("a", 1))], [flow(2, runs("b", 2))]);
    expect(sameK.notes.join("\n")).not.toContain("k differs");
    expect(sameK.notes).toContain(
      'A counted 1 run of swap, fewer than its k = 2 (it was cut short), so its pass^k is "—" and Δ pass^k is not compared there.',
    );
    // Whole sides say nothing of it.
    expect(compareReports([flow(3, runs("a", 3))], [flow(3, runs("b", 3))]).notes.join("\n")).not.toContain("fewer than its k");
  });

  it("says so when A and B share no flow, instead of leaving a table of dashes to explain itself", () => {
    const other = aggregateFlow({ flowId: "lend", k: 1, runs: [run("b1", 1, 0)] });
    const none = NOTHING_SHARED;
    expect(compareReports([flow(1, [run("a1", 1, 0)])], [other]).notes).toContain(none);
    expect(compareReports([flow(1, [run("a1", 1, 0)])], [flow(1, [run("b1", 1, 0)]), other]).notes).not.toContain(none);
  });

  it("a flow one side counted no run of gets no verdict and no p, and a note that says why", () => {
    // B was interrupted before any run of the flow was counted: a test over 0 runs would say p = 1.
    const a = flow(3, [run("a1", 1, 0), run("a2", 1, 0), run("a3", 1, 0)]);
    const compared = compareReports([a], [flow(3, [])]);
    expect(compared.flows[0]).toMatchObject({ flowId: "swap", only: null, passes: null });
    expect(compared.flagged).toEqual([]);
    expect(compared.notes).toContain(
      "B counted no run of swap, so its pass rates are not compared (no verdict, no p): a side interrupted before the flow ran has nothing to judge.",
    );
    expect(compareReports([flow(3, [])], [flow(3, [])]).notes[0]).toMatch(/^A and B counted no run of swap,/);
  });
});
