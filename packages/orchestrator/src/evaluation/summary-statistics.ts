import { z } from "zod";
import { parseInput } from "./parse-input.js";

/** Scores of the runs that recorded one; `missing` counts the runs that did not. */
export type ScoreSummary = {
  count: number;
  missing: number;
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
};

/** Duration percentiles (nearest rank, see `percentile`) of the runs that recorded a duration. */
export type DurationSummary = { count: number; missing: number; p50: number | null; p95: number | null };

/** A sum that admits what it does not know: `total` is null as soon as one value is unknown. */
export type KnownSum = { total: number | null; known: number; unknown: number };

const known = (values: readonly (number | null)[]): number[] => values.filter((v): v is number => v !== null);
const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Mean, median (the mean of the two middle values when the count is even), min and max; null when no score is known. */
export function summarizeScores(scores: readonly (number | null)[]): ScoreSummary {
  const sorted = ascending(known(scores));
  const count = sorted.length;
  const missing = scores.length - count;
  if (count === 0) return { count, missing, mean: null, median: null, min: null, max: null };
  const middle = Math.floor(count / 2);
  return {
    count,
    missing,
    mean: sorted.reduce((a, b) => a + b, 0) / count,
    median: count % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
    min: sorted[0]!,
    max: sorted[count - 1]!,
  };
}

const ZPercent = z.number().gt(0, "must be more than 0").max(100, "must be at most 100");

/**
 * The nearest-rank percentile: the smallest value v such that at least p% of the values are ≤ v,
 * i.e. the ⌈p/100 · N⌉-th smallest. Chosen over linear interpolation because it is always a duration
 * that a run really took: p95 of 5 runs is the slowest run, not a blend of the two slowest. Null for
 * no values.
 */
export function percentile(values: readonly number[], p: number): number | null {
  const percent = parseInput(ZPercent, p, "percentile");
  if (values.length === 0) return null;
  // (p · N) / 100 rather than p / 100 · N: 0.07 · 100 is 7.000000000000001, whose ceiling is 8.
  const rank = Math.ceil((percent * values.length) / 100);
  return ascending(values)[rank - 1]!;
}

export function summarizeDurations(durations: readonly (number | null)[]): DurationSummary {
  const values = known(durations);
  return { count: values.length, missing: durations.length - values.length, p50: percentile(values, 50), p95: percentile(values, 95) };
}

/** Null when any value is unknown, and when there is nothing to sum: no data is not 0. */
export function sumKnown(values: readonly (number | null)[]): KnownSum {
  const knownValues = known(values);
  const unknown = values.length - knownValues.length;
  const total = unknown > 0 || values.length === 0 ? null : knownValues.reduce((a, b) => a + b, 0);
  return { total, known: knownValues.length, unknown };
}
