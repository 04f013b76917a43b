/**
 * What a run measures and how big, from the environment (issue 4's numbers are the defaults).
 * `--smoke` or `REEV_BENCH_SMOKE=1` shrinks every size so CI can check that each scenario works and
 * stores exactly what it should, in well under a minute; no timing is asserted either way.
 */

const SCENARIOS = ["steps", "bulk", "consolidation", "concurrency", "cli", "memory", "api", "eval", "purge"] as const;
export type ScenarioKey = (typeof SCENARIOS)[number];

const BACKENDS = ["memory", "dir", "postgres"] as const;
export type BackendKey = (typeof BACKENDS)[number];

export type BenchConfig = {
  smoke: boolean;
  backends: BackendKey[];
  scenarios: ScenarioKey[];
  /** Rounds per side of the step write path, bulk import and concurrency; the median is reported. */
  rounds: number;
  /** Untimed steps each side writes before anything is measured on a backend. */
  warmupSteps: number;
  /** 1. steps written one by one, each committed on its own. */
  steps: number;
  /** 1. steps recorded the executor's way: storeStepSession of a StepResult as JSON, committed at once. */
  executorSteps: number;
  /** 2. steps imported in one call. */
  bulkSteps: number;
  /** 3. execution sizes consolidated, ascending. */
  consolidationSizes: number[];
  consolidationRounds: number;
  /** 4. executions writing at once, and steps each. */
  executions: number;
  stepsPerExecution: number;
  /** 5. rounds of every CLI case. */
  cliRounds: number;
  /** 6. steps consolidated by the measured child process, and children per mode. */
  memorySteps: number;
  memoryRounds: number;
  /** 7. executions of 10 steps stored for the API on PostgreSQL, and on PGlite. */
  apiExecutions: number;
  apiPgliteExecutions: number;
  /** 7. steps of the run whose flow is served. */
  apiFlowSteps: number;
  /** 7. seconds of load per side, case and round; rounds. */
  apiSeconds: number;
  apiRounds: number;
  /** 7. runs streaming at once (PostgreSQL), and steps each. */
  apiSseRuns: number;
  apiSseSteps: number;
  /** 8. `reev eval` against the bare executor: flows, runs of each (k), and runs at once. */
  evalFlows: number;
  evalRepeat: number;
  evalConcurrency: number;
  /** PostgreSQL server to create the bench's database on (REEV_BENCH_DATABASE_URL), if any. */
  postgresUrl: string | undefined;
};

type Sizes = Omit<BenchConfig, "smoke" | "backends" | "scenarios" | "postgresUrl">;

const FULL: Sizes = {
  rounds: 5,
  warmupSteps: 200,
  steps: 2000,
  executorSteps: 500,
  bulkSteps: 10_000,
  consolidationSizes: [10, 100, 1000, 10_000],
  consolidationRounds: 5,
  executions: 64,
  stepsPerExecution: 100,
  cliRounds: 5,
  memorySteps: 10_000,
  memoryRounds: 3,
  apiExecutions: 100_000,
  apiPgliteExecutions: 10_000,
  apiFlowSteps: 100,
  apiSeconds: 5,
  apiRounds: 3,
  apiSseRuns: 64,
  apiSseSteps: 10,
  evalFlows: 20,
  evalRepeat: 10,
  evalConcurrency: 4,
};

const SMOKE: Sizes = {
  rounds: 2,
  warmupSteps: 10,
  steps: 40,
  executorSteps: 20,
  bulkSteps: 300,
  consolidationSizes: [10, 30, 100],
  consolidationRounds: 2,
  executions: 8,
  stepsPerExecution: 10,
  cliRounds: 1,
  memorySteps: 200,
  memoryRounds: 1,
  apiExecutions: 300,
  apiPgliteExecutions: 300,
  apiFlowSteps: 20,
  apiSeconds: 1,
  apiRounds: 1,
  apiSseRuns: 8,
  apiSseSteps: 3,
  evalFlows: 3,
  evalRepeat: 2,
  evalConcurrency: 2,
};

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function list<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T[]): T[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((s) => !allowed.includes(s as T));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(", ")} (use ${allowed.join(", ")})`);
  return items as T[];
}

function sizes(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.length < 2 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`${name} must list at least two step counts ≥ 1, got "${raw}"`);
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

export function benchConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const unknownArgs = argv.filter((a) => a !== "--smoke");
  if (unknownArgs.length)
    throw new Error(`unknown argument ${unknownArgs.join(" ")} (the only one is --smoke; sizes come from REEV_BENCH_* variables)`);
  const smoke = argv.includes("--smoke") || env.REEV_BENCH_SMOKE === "1";
  const base = smoke ? SMOKE : FULL;
  const postgresUrl = env.REEV_BENCH_DATABASE_URL?.trim() || undefined;
  // PGlite in a directory is what `reev` uses by default; the smoke run keeps it in memory (nothing
  // to write to disk), and PostgreSQL is measured exactly when a server is named.
  const defaultBackends: BackendKey[] = [smoke ? "memory" : "dir", ...(postgresUrl ? (["postgres"] as const) : [])];
  const backends = list(env, "REEV_BENCH_BACKENDS", BACKENDS, defaultBackends);
  if (backends.includes("postgres") && !postgresUrl)
    throw new Error("REEV_BENCH_BACKENDS names postgres, but REEV_BENCH_DATABASE_URL is not set");
  return {
    smoke,
    backends,
    scenarios: list(env, "REEV_BENCH_SCENARIOS", SCENARIOS, [...SCENARIOS]),
    rounds: int(env, "REEV_BENCH_ROUNDS", base.rounds),
    warmupSteps: int(env, "REEV_BENCH_WARMUP", base.warmupSteps, 0),
    steps: int(env, "REEV_BENCH_STEPS", base.steps),
    executorSteps: int(env, "REEV_BENCH_EXECUTOR_STEPS", base.executorSteps),
    bulkSteps: int(env, "REEV_BENCH_BULK_STEPS", base.bulkSteps),
    consolidationSizes: sizes(env, "REEV_BENCH_CONSOLIDATION_SIZES", base.consolidationSizes),
    consolidationRounds: int(env, "REEV_BENCH_CONSOLIDATION_ROUNDS", base.consolidationRounds),
    executions: int(env, "REEV_BENCH_EXECUTIONS", base.executions),
    stepsPerExecution: int(env, "REEV_BENCH_STEPS_PER_EXECUTION", base.stepsPerExecution),
    cliRounds: int(env, "REEV_BENCH_CLI_ROUNDS", base.cliRounds),
    memorySteps: int(env, "REEV_BENCH_MEMORY_STEPS", base.memorySteps),
    memoryRounds: int(env, "REEV_BENCH_MEMORY_ROUNDS", base.memoryRounds),
    apiExecutions: int(env, "REEV_BENCH_API_EXECUTIONS", base.apiExecutions, 10),
    apiPgliteExecutions: int(env, "REEV_BENCH_API_PGLITE_EXECUTIONS", base.apiPgliteExecutions, 10),
    apiFlowSteps: int(env, "REEV_BENCH_API_FLOW_STEPS", base.apiFlowSteps),
    apiSeconds: int(env, "REEV_BENCH_API_SECONDS", base.apiSeconds),
    apiRounds: int(env, "REEV_BENCH_API_ROUNDS", base.apiRounds),
    apiSseRuns: int(env, "REEV_BENCH_API_SSE_RUNS", base.apiSseRuns),
    apiSseSteps: int(env, "REEV_BENCH_API_SSE_STEPS", base.apiSseSteps),
    evalFlows: int(env, "REEV_BENCH_EVAL_FLOWS", base.evalFlows),
    evalRepeat: int(env, "REEV_BENCH_EVAL_REPEAT", base.evalRepeat),
    evalConcurrency: int(env, "REEV_BENCH_EVAL_CONCURRENCY", base.evalConcurrency),
    postgresUrl,
  };
}
