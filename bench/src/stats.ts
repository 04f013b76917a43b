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

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** One side of one case over all its rounds. */
export type SideResult = {
  /** Wall time of each round, ms. */
  roundsMs: number[];
  /** Median round, ms. */
  totalMs: number;
  /** Steps (or operations) per second at the median round. */
  perSecond: number;
  /** Latency of one operation, over every operation of every round, ms. */
  p50Ms: number;
  p95Ms: number;
  /** CPU time of this process per operation at the median round, ms: the client's own work on
   * PostgreSQL; on PGlite it includes the database engine, which runs in-process. */
  cpuMsPerOp: number;
};

export function summarise(roundsMs: number[], cpuMs: number[], latenciesMs: number[], opsPerRound: number): SideResult {
  const totalMs = median(roundsMs);
  return {
    cpuMsPerOp: median(cpuMs) / opsPerRound,
    roundsMs,
    totalMs,
    perSecond: opsPerRound / (totalMs / 1000),
    p50Ms: percentile(latenciesMs, 50),
    p95Ms: percentile(latenciesMs, 95),
  };
}
