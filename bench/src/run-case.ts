import type { Backend, RowCounts, Side } from "./backends.js";
import { type BenchCase, type BenchConfig, caseLabel, fixtures } from "./cases.js";
import { progress } from "./progress.js";
import { cpuMsSince, msSince, now, type SideResult, summarise } from "./stats.js";

export type CaseResult = {
  id: string;
  label: string;
  unit: string;
  writes: boolean;
  description: string;
  /** Operations per round. */
  ops: number;
  writer: SideResult;
  raw: SideResult;
  /** Median writer time ÷ median raw time: how many times slower the writer is than the floor. */
  ratio: number;
  /** What each side left in the database over all rounds, checked against what it was asked to write. */
  stored: { writer: RowCounts; raw: RowCounts };
};


const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** A few hundred operations on every side before anything is timed: JIT, caches, connections, plans. */
export async function warmUp(backend: Backend, config: BenchConfig): Promise<void> {
  const sides = new Set<Side>([backend.writer, backend.raw, backend.rawConcurrent]);
  const { steps, yaml } = fixtures(config.warmup);
  let n = 0;
  for (const side of sides) {
    const id = `warm-${side.label}-${n++}-`;
    progress(`[${backend.key}] warm-up: ${side.label}${side === backend.rawConcurrent && side !== backend.raw ? " (pool)" : ""}`);
    await side.createExecution(`${id}a`);
    await side.createExecution(`${id}b`);
    for (const step of steps) await side.storeStep(`${id}a`, step);
    const quarter = Math.max(1, config.warmup >> 2);
    for (let i = 0; i < quarter; i++) await side.storeStepSession(`${id}b`, i, yaml[i]!);
    for (let i = 0; i < quarter; i++) await side.emptyTransaction();
    await side.beginTransaction(`${id}b`);
    await side.storeStep(`${id}b`, { ...steps[0]!, stepIndex: quarter + 1 });
    await side.commitTransaction(`${id}b`);
    // A single pg client cannot run transactions side by side: only the sides built for it go parallel.
    const parallel = side !== backend.raw || backend.rawConcurrent === backend.raw;
    const warmExecution = async (i: number) => {
      await side.createExecution(`${id}c${i}`);
      for (const step of steps.slice(0, 20)) await side.storeStep(`${id}c${i}`, step);
    };
    const indexes = Array.from({ length: config.concurrency }, (_, i) => i);
    if (parallel) await Promise.all(indexes.map(warmExecution));
    else for (const i of indexes) await warmExecution(i);
  }
}

function sameCounts(a: RowCounts, b: RowCounts): boolean {
  return (Object.keys(a) as (keyof RowCounts)[]).every((k) => a[k] === b[k]);
}

/**
 * Runs one case on one backend: `rounds` rounds of each side, alternating which goes first, every
 * round on fresh executions; then proves from the database that both sides wrote what they should.
 */
export async function runCase(backend: Backend, c: BenchCase, config: BenchConfig): Promise<CaseResult> {
  const rounds = { writer: [] as number[], raw: [] as number[] };
  const cpu = { writer: [] as number[], raw: [] as number[] };
  const latencies = { writer: [] as number[], raw: [] as number[] };
  const expected = { steps: 0, toolCalls: 0 };
  let ops = 0;
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? (["writer", "raw"] as const) : (["raw", "writer"] as const);
    for (const label of order) {
      progress(`[${backend.key}] ${caseLabel(c, config)}: round ${round + 1}/${config.rounds}, ${label}`);
      const side = c.side(backend, label);
      const prepared = await c.prepare(side, `${c.id}-${label}-r${round}-`, config);
      gc();
      const cpuStart = process.cpuUsage();
      const start = now();
      await prepared.run(latencies[label]);
      rounds[label].push(msSince(start));
      cpu[label].push(cpuMsSince(cpuStart));
      if (label === "writer") {
        expected.steps += prepared.expected.steps;
        expected.toolCalls += prepared.expected.toolCalls;
      }
      ops = prepared.ops;
    }
  }
  const stored = {
    writer: await c.side(backend, "writer").count(`${c.id}-writer-`),
    raw: await c.side(backend, "raw").count(`${c.id}-raw-`),
  };
  for (const label of ["writer", "raw"] as const) {
    const got = stored[label];
    if (got.steps !== expected.steps || got.committed !== expected.steps || got.toolCalls !== expected.toolCalls) {
      throw new Error(
        `[${backend.key}] ${c.label}: the ${label} side stored ${got.steps} steps (${got.committed} committed) and ${got.toolCalls} tool calls; ` +
          `expected ${expected.steps} committed steps and ${expected.toolCalls} tool calls. The measurement is void.`,
      );
    }
  }
  if (!sameCounts(stored.writer, stored.raw)) {
    throw new Error(`[${backend.key}] ${c.label}: the writer and the raw driver stored different data: ${JSON.stringify(stored)}`);
  }
  const writer = summarise(rounds.writer, cpu.writer, latencies.writer, ops);
  const raw = summarise(rounds.raw, cpu.raw, latencies.raw, ops);
  return {
    id: c.id,
    label: caseLabel(c, config),
    unit: c.unit,
    writes: c.writes,
    description: c.description,
    ops,
    writer,
    raw,
    ratio: writer.totalMs / raw.totalMs,
    stored,
  };
}
