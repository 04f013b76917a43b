import type { BenchConfig } from "./cases.js";
import type { CaseResult } from "./run-case.js";

export type BackendResult = {
  key: string;
  name: string;
  description: string;
  /** Why the backend was not measured, if it was not. */
  skipped?: string;
  cases: CaseResult[];
};

/** Everything one run measured; written to results/latest.json. */
export type BenchResults = {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; totalMemGiB: number;
    /** 1-minute load average when the run started and ended: other work on the machine skews the numbers. */
    loadAverage: { before: number; after: number };
  };
  config: BenchConfig;
  backends: BackendResult[];
  durationS: number;
};
