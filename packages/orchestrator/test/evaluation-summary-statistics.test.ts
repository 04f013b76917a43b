import { describe, expect, it } from "vitest";
import { OrchestratorError } from "../src/errors.js";
import { percentile, sumKnown, summarizeDurations, summarizeScores } from "../src/evaluation/summary-statistics.js";

describe("summarizeScores", () => {
  it("gives mean, median, min and max of the known scores, counting the missing ones", () => {
    expect(summarizeScores([0.9, null, 0.5, 0.7, null])).toEqual({
      count: 3,
      missing: 2,
      mean: expect.closeTo(0.7, 15),
      median: 0.7,
      min: 0.5,
      max: 0.9,
    });
  });

  it("takes the mean of the two middle values for an even count, whatever the input order", () => {
    expect(summarizeScores([1, 0, 0.25, 0.75])).toEqual({ count: 4, missing: 0, mean: 0.5, median: 0.5, min: 0, max: 1 });
    expect(summarizeScores([0.2, 0.1, 0.9, 0.3]).median).toBeCloseTo(0.25, 15);
  });

  it("says null, not 0, when no run recorded a score", () => {
    expect(summarizeScores([null, null])).toEqual({ count: 0, missing: 2, mean: null, median: null, min: null, max: null });
    expect(summarizeScores([])).toEqual({ count: 0, missing: 0, mean: null, median: null, min: null, max: null });
  });

  it("keeps a single score of 0 as a known 0", () => {
    expect(summarizeScores([0])).toEqual({ count: 1, missing: 0, mean: 0, median: 0, min: 0, max: 0 });
  });
});

describe("percentile (nearest rank)", () => {
  // Wikipedia, "Percentile", worked examples of the nearest-rank method.
  it.each([
    [[15, 20, 35, 40, 50], 5, 15],
    [[15, 20, 35, 40, 50], 30, 20],
    [[15, 20, 35, 40, 50], 40, 20],
    [[15, 20, 35, 40, 50], 50, 35],
    [[15, 20, 35, 40, 50], 100, 50],
    [[3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 25, 7],
    [[3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 50, 8],
    [[3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 75, 15],
    [[3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 100, 20],
  ])("%j at p%f is %f", (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it("returns a value a run really took: p50 of an even count is the lower middle, p95 of 5 runs the slowest", () => {
    expect(percentile([400, 100, 300, 200], 50)).toBe(200);
    expect(percentile([120, 80, 100, 95, 300], 95)).toBe(300);
  });

  it("p95 of 1..20 is 19 (rank ⌈0.95 · 20⌉ = 19) and p95 of 1..21 is 20 (rank ⌈19.95⌉)", () => {
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(percentile(upTo(20), 95)).toBe(19);
    expect(percentile(upTo(21), 95)).toBe(20);
    // 0.07 · 100 is 7.000000000000001 in floating point: the rank must still be 7.
    expect(percentile(upTo(100), 7)).toBe(7);
  });

  it("is null for no values", () => {
    expect(percentile([], 95)).toBeNull();
  });

  it.each([0, -5, 100.5, Number.NaN])("refuses p = %f", (p) => {
    expect(() => percentile([1, 2], p)).toThrow(OrchestratorError);
  });
});

describe("summarizeDurations", () => {
  it("takes p50 and p95 over the known durations and counts the missing ones", () => {
    expect(summarizeDurations([1200, null, 800, 1000, 5000, 900])).toEqual({ count: 5, missing: 1, p50: 1000, p95: 5000 });
  });

  it("is null without durations", () => {
    expect(summarizeDurations([null])).toEqual({ count: 0, missing: 1, p50: null, p95: null });
  });
});

describe("sumKnown", () => {
  it("sums when every value is known", () => {
    expect(sumKnown([1_000_000_007, 2, 0])).toEqual({ total: 1_000_000_009, known: 3, unknown: 0 });
  });

  it("is null as soon as one value is unknown, and says how many were", () => {
    expect(sumKnown([3, null, 4, null])).toEqual({ total: null, known: 2, unknown: 2 });
  });

  it("is null for nothing to sum: no runs is not a cost of 0", () => {
    expect(sumKnown([])).toEqual({ total: null, known: 0, unknown: 0 });
  });
});
