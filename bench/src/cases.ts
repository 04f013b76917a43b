import type { StepInput } from "@reev/db";
import type { Backend, Side } from "./backends.js";
import { msSince, now } from "./stats.js";
import { stepInput, stepYaml, toolCallCount } from "./step-fixtures.js";

export type BenchConfig = {
  /** Steps per measured round of every case (REEV_BENCH_STEPS). */
  steps: number;
  /** Measured rounds per case; the median round is reported (REEV_BENCH_ROUNDS). */
  rounds: number;
  /** Executions written in parallel in the concurrency case (REEV_BENCH_CONCURRENCY). */
  concurrency: number;
  /** Steps per execution transaction in the begin … commit case (REEV_BENCH_TX_STEPS). */
  txSteps: number;
  /** Warm-up steps per side and backend before anything is measured (REEV_BENCH_WARMUP). */
  warmup: number;
};

/** What a round must leave in the database (all committed). */
export type Expected = { steps: number; toolCalls: number };

/** A round, prepared (executions created, untimed) and ready to be timed. */
export type PreparedRound = {
  /** Operations the latencies and the per-second rate refer to. */
  ops: number;
  expected: Expected;
  /** The timed part: pushes one latency (ms) per operation. */
  run(latenciesMs: number[]): Promise<void>;
};

export interface BenchCase {
  /** Used in execution ids: letters and digits only (no LIKE wildcards). */
  readonly id: string;
  readonly label: string;
  /** What one operation is, for the table ("step", "tx"). */
  readonly unit: string;
  /** False for diagnostics that write no rows. */
  readonly writes: boolean;
  readonly description: string;
  side(backend: Backend, label: "writer" | "raw"): Side;
  prepare(side: Side, prefix: string, config: BenchConfig): Promise<PreparedRound>;
}

/** Fixtures are built once, before anything is timed: building them is not the writer's cost. */
const fixtureCache = new Map<number, { steps: StepInput[]; yaml: string[] }>();
export function fixtures(count: number): { steps: StepInput[]; yaml: string[] } {
  let f = fixtureCache.get(count);
  if (!f) {
    f = { steps: Array.from({ length: count }, (_, i) => stepInput(i)), yaml: Array.from({ length: count }, (_, i) => stepYaml(i)) };
    fixtureCache.set(count, f);
  }
  return f;
}

const toolCallsUpTo = (n: number) => Array.from({ length: n }, (_, i) => toolCallCount(i)).reduce((a, b) => a + b, 0);
const sequential = (backend: Backend, label: "writer" | "raw") => (label === "writer" ? backend.writer : backend.raw);

async function timed(latencies: number[], op: () => Promise<void>): Promise<void> {
  const start = now();
  await op();
  latencies.push(msSince(start));
}

const storeStepCase: BenchCase = {
  id: "step",
  label: "storeStep",
  unit: "step",
  writes: true,
  description: "N steps of one execution, one interactive transaction each: lock the execution, look for the step, insert it, insert its 2–3 tool calls in one statement.",
  side: sequential,
  async prepare(side, prefix, config) {
    const executionId = `${prefix}e0`;
    await side.createExecution(executionId);
    const { steps } = fixtures(config.steps);
    return {
      ops: config.steps,
      expected: { steps: config.steps, toolCalls: toolCallsUpTo(config.steps) },
      run: async (lat) => {
        for (const step of steps) await timed(lat, () => side.storeStep(executionId, step));
      },
    };
  },
};

const storeStepSessionCase: BenchCase = {
  id: "session",
  label: "storeStepSession (YAML)",
  unit: "step",
  writes: true,
  description: "The seed's path: a ~2 KB YAML step session, parsed into fields and tool calls (the raw side uses the same parser), then the same transaction as storeStep.",
  side: sequential,
  async prepare(side, prefix, config) {
    const executionId = `${prefix}e0`;
    await side.createExecution(executionId);
    const { yaml } = fixtures(config.steps);
    return {
      ops: config.steps,
      expected: { steps: config.steps, toolCalls: toolCallsUpTo(config.steps) },
      run: async (lat) => {
        for (let i = 0; i < yaml.length; i++) await timed(lat, () => side.storeStepSession(executionId, i, yaml[i]!));
      },
    };
  },
};

const executionTransactionCase: BenchCase = {
  id: "exectx",
  label: "begin + K steps + commit",
  unit: "step",
  writes: true,
  description:
    "Execution transactions: beginTransaction, K storeStep calls (stored pending), commitTransaction (one UPDATE flips them), repeated until N steps. Total time includes begin and commit; latencies are the steps'.",
  side: sequential,
  async prepare(side, prefix, config) {
    const executionId = `${prefix}e0`;
    await side.createExecution(executionId);
    const { steps } = fixtures(config.steps);
    return {
      ops: config.steps,
      expected: { steps: config.steps, toolCalls: toolCallsUpTo(config.steps) },
      run: async (lat) => {
        for (let first = 0; first < steps.length; first += config.txSteps) {
          await side.beginTransaction(executionId);
          for (const step of steps.slice(first, first + config.txSteps)) await timed(lat, () => side.storeStep(executionId, step));
          await side.commitTransaction(executionId);
        }
      },
    };
  },
};

const concurrentCase: BenchCase = {
  id: "concurrent",
  label: "C executions in parallel",
  unit: "step",
  writes: true,
  description:
    "C executions writing N/C steps each at the same time (storeStep). The writer uses its Prisma pool; the raw side a pg.Pool of the same size (10) on PostgreSQL, PGlite's one connection otherwise.",
  side: (backend, label) => (label === "writer" ? backend.writer : backend.rawConcurrent),
  async prepare(side, prefix, config) {
    const perExecution = Math.ceil(config.steps / config.concurrency);
    const ids = Array.from({ length: config.concurrency }, (_, i) => `${prefix}e${i}`);
    for (const id of ids) await side.createExecution(id);
    const { steps } = fixtures(perExecution);
    return {
      ops: perExecution * ids.length,
      expected: { steps: perExecution * ids.length, toolCalls: toolCallsUpTo(perExecution) * ids.length },
      run: async (lat) => {
        await Promise.all(
          ids.map(async (id) => {
            for (const step of steps) await timed(lat, () => side.storeStep(id, step));
          }),
        );
      },
    };
  },
};

const emptyTransactionCase: BenchCase = {
  id: "emptytx",
  label: "empty tx (diagnostic)",
  unit: "tx",
  writes: false,
  description:
    "Diagnostic, writes nothing: N interactive transactions of one `SELECT 1` (prisma.$transaction vs BEGIN; SELECT 1; COMMIT): the fixed cost of a transaction, without the writer.",
  side: sequential,
  async prepare(side, _prefix, config) {
    return {
      ops: config.steps,
      expected: { steps: 0, toolCalls: 0 },
      run: async (lat) => {
        for (let i = 0; i < config.steps; i++) await timed(lat, () => side.emptyTransaction());
      },
    };
  },
};

export const CASES: readonly BenchCase[] = [storeStepCase, storeStepSessionCase, executionTransactionCase, concurrentCase, emptyTransactionCase];

export function caseLabel(c: BenchCase, config: BenchConfig): string {
  return c.label.replace("K", String(config.txSteps)).replace(/^C /, `${config.concurrency} `);
}
