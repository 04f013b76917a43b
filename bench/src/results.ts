import type { BenchConfig } from "./bench-config.js";
import type { ApiResult } from "./scenario-api.js";
import type { BulkImportResult } from "./scenario-bulk-import.js";
import type { CliResult } from "./scenario-cli.js";
import type { ConcurrencyResult } from "./scenario-concurrency.js";
import type { ConsolidationResult } from "./scenario-consolidation.js";
import type { EvalScenarioResult } from "./scenario-eval.js";
import type { MemoryResult } from "./scenario-memory.js";
import type { PurgeResult } from "./scenario-purge.js";
import type { StepWritesResult } from "./scenario-step-writes.js";
import type { TargetCheck } from "./targets.js";

/** What one backend measured; a scenario left out by REEV_BENCH_SCENARIOS is absent. */
export type BackendResult = {
  key: string;
  name: string;
  description: string;
  steps?: StepWritesResult;
  bulk?: BulkImportResult;
  consolidation?: ConsolidationResult;
  concurrency?: ConcurrencyResult;
  memory?: MemoryResult;
  api?: ApiResult;
  evaluation?: EvalScenarioResult;
  purge?: PurgeResult;
};

/** Everything one run measured; written to results/latest.json. */
export type BenchResults = {
  date: string;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    totalMemGiB: number;
    /** 1-minute load average when the run started and ended: other work on the machine skews the numbers. */
    loadAverage: { before: number; after: number };
  };
  config: Omit<BenchConfig, "postgresUrl">;
  /** Why PostgreSQL was not measured, when it was not. */
  postgresSkipped: string | null;
  backends: BackendResult[];
  /** The embedded CLI (§1.5): once per run, not per backend. */
  cli?: CliResult;
  targets: TargetCheck[];
  durationS: number;
};
