import { describe, expect, it } from "vitest";
import { comparePassCounts } from "../src/evaluation/compare-pass-counts.js";

const counts = (passes: number, runs: number) => ({ passes, runs });

describe("comparePassCounts", () => {
  // p-values: Fisher's exact test on [[baseline passes, fails], [candidate passes, fails]], checked
  // in evaluation-fisher-exact-test.test.ts (83/4199, 1/21, 293/4199, 1/92378).
  it.each([
    [counts(9, 10), counts(3, 10), "regression", 83 / 4199],
    [counts(3, 10), counts(9, 10), "improvement", 83 / 4199],
    [counts(5, 5), counts(1, 5), "regression", 1 / 21],
    [counts(10, 10), counts(0, 10), "regression", 1 / 92378],
    // 50 points worse, yet p = 0.0698: ten runs each cannot tell it from chance.
    [counts(7, 10), counts(2, 10), "no credible difference", 293 / 4199],
    [counts(4, 5), counts(3, 5), "no credible difference", 1],
    [counts(5, 5), counts(5, 5), "no credible difference", 1],
  ] as const)("%j → %j: %s (p = %f)", (baseline, candidate, verdict, p) => {
    const result = comparePassCounts({ baseline, candidate });
    expect(result.verdict).toBe(verdict);
    expect(result.test).toBe("Fisher's exact test (two-sided)");
    expect(result.pValue).toBeCloseTo(p, 12);
    expect(result.delta).toBeCloseTo(candidate.passes / candidate.runs - baseline.passes / baseline.runs, 14);
  });

  it("says in plain words what it found, with the test and its p-value", () => {
    expect(comparePassCounts({ baseline: counts(9, 10), candidate: counts(3, 10) }).reason).toBe(
      "9/10 → 3/10 passed: a credible regression (Fisher's exact test (two-sided), p = 0.0198 < 0.05)",
    );
    expect(comparePassCounts({ baseline: counts(10, 10), candidate: counts(0, 10) }).reason).toBe(
      "10/10 → 0/10 passed: a credible regression (Fisher's exact test (two-sided), p < 0.0001 < 0.05)",
    );
    expect(comparePassCounts({ baseline: counts(7, 10), candidate: counts(2, 10) }).reason).toBe(
      "7/10 → 2/10 passed: the difference could be chance (Fisher's exact test (two-sided), p = 0.0698 ≥ 0.05); more runs of both would tell",
    );
    // No difference at all: nothing to be chance, and no "more runs would tell".
    expect(comparePassCounts({ baseline: counts(3, 3), candidate: counts(4, 4) }).reason).toBe(
      "3/3 → 4/4 passed: the same pass rate on both sides (Fisher's exact test (two-sided), p = 1.0000)",
    );
  });

  it("refuses a side without runs, naming it: its p would be 1 and its verdict made of nothing", () => {
    expect(() => comparePassCounts({ baseline: counts(0, 0), candidate: counts(3, 5) })).toThrow(
      expect.objectContaining({
        code: "INVALID_ARGUMENT",
        path: "baseline.runs",
        message: "The baseline has no runs: there is no pass rate to compare",
      }),
    );
    expect(() => comparePassCounts({ baseline: counts(3, 5), candidate: counts(0, 0) })).toThrow(
      expect.objectContaining({ path: "candidate.runs" }),
    );
  });

  it("refuses a count with more passes than runs, naming the side", () => {
    expect(() => comparePassCounts({ baseline: counts(3, 5), candidate: counts(6, 5) })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", path: "candidate.passes" }),
    );
  });
});
