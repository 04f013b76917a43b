import { progress } from "./progress.js";
import { cpuMsSince, msSince, now, type Samples } from "./stats.js";

export type SideName = "writer" | "raw";
export const WRITER_AND_RAW: readonly SideName[] = ["writer", "raw"];

/** A round prepared untimed (executions created, data in place); only `run` is timed. */
export type TimedRound = {
  /** Operations the latencies and the per-second rate refer to. */
  ops: number;
  /** Pushes one latency (ms) per operation when operations are timed one by one. */
  run(latenciesMs: number[]): Promise<void>;
};

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** Times one operation into `latencies`. */
export async function timed<T>(latencies: number[], op: () => Promise<T>): Promise<T> {
  const start = now();
  const result = await op();
  latencies.push(msSince(start));
  return result;
}

/**
 * `rounds` rounds of every side in one run, the order rotated each round (writer first, then raw
 * first, …), so drift in the machine's load or the database's state hits all sides alike; garbage is
 * collected before each timed part (the bench runs under `node --expose-gc`).
 */
export async function interleave<S extends string>(
  what: string,
  rounds: number,
  sides: readonly S[],
  prepare: (side: S, round: number) => Promise<TimedRound>,
): Promise<Record<S, Samples>> {
  const samples = {} as Record<S, Samples>;
  for (const side of sides) samples[side] = { roundsMs: [], cpuMs: [], latenciesMs: [], opsPerRound: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const side of sides.map((_, i) => sides[(i + round) % sides.length]!)) {
      progress(`${what}: round ${round + 1}/${rounds}, ${side}`);
      const prepared = await prepare(side, round);
      gc();
      const cpuStart = process.cpuUsage();
      const start = now();
      await prepared.run(samples[side].latenciesMs);
      samples[side].roundsMs.push(msSince(start));
      samples[side].cpuMs.push(cpuMsSince(cpuStart));
      samples[side].opsPerRound = prepared.ops;
    }
  }
  return samples;
}
