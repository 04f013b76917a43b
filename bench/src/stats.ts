/** Timing and summary statistics. Times are taken with `process.hrtime.bigint()` and kept in ms. */

export const now = () => process.hrtime.bigint();
export const msSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
/** User + system CPU time of this process since `start` (a `process.cpuUsage()`), ms. */
export const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};

/** Nearest-rank percentile of `values` (0 < p ≤ 100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What one side did over every round of a scenario, raw. */
export type Samples = { roundsMs: number[]; cpuMs: number[]; latenciesMs: number[]; opsPerRound: number };

/** One side of one scenario, summarised. */
export type SideStats = {
  /** Wall time of each round, ms. */
  roundsMs: number[];
  /** Median round, ms. */
  medianMs: number;
  /** Operations (steps, consolidations) per second at the median round. */
  perSecond: number;
  /** Latency of one operation, over every operation of every round, ms (NaN when not timed one by one). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** CPU time of this process per operation at the median, ms: the client's own work on PostgreSQL;
   * on PGlite it includes the database engine, which runs in-process. */
  cpuMsPerOp: number;
};

export function summarise(s: Samples): SideStats {
  const medianMs = median(s.roundsMs);
  return {
    roundsMs: s.roundsMs,
    medianMs,
    perSecond: s.opsPerRound / (medianMs / 1000),
    p50Ms: percentile(s.latenciesMs, 50),
    p95Ms: percentile(s.latenciesMs, 95),
    p99Ms: percentile(s.latenciesMs, 99),
    cpuMsPerOp: median(s.cpuMs) / s.opsPerRound,
  };
}

/** Least-squares line y = slope·x + intercept, and how well it fits (R², 1 = a perfect line). */
/** Both sides summarised, and writer ops/s ÷ raw ops/s (1 = as fast as the raw driver). */
export type WriterVsRaw = { writer: SideStats; raw: SideStats; throughputRatio: number };
export function writerVsRaw(samples: { writer: Samples; raw: Samples }): WriterVsRaw {
  const writer = summarise(samples.writer);
  const raw = summarise(samples.raw);
  return { writer, raw, throughputRatio: writer.perSecond / raw.perSecond };
}

export type LinearFit = { slope: number; intercept: number; r2: number };

export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
