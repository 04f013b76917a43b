import { consolidateExecution } from "@reev/orchestrator";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { progress } from "./progress.js";
import { readCommittedSteps } from "./raw-read-steps.js";
import { stepInputs, stepResultContents } from "./step-fixtures.js";
import { rawSide, type StepSide, writerSide } from "./step-sides.js";

/**
 * Before anything on a backend is timed, every path each side will take runs untimed a few hundred
 * times: JIT, prepared plans, pool connections, PGlite's caches. Executions are named `warm-…`, out
 * of every scenario's counts.
 */
export async function warmUp(backend: Backend, config: BenchConfig): Promise<void> {
  if (!config.warmupSteps) return;
  const steps = stepInputs(config.warmupSteps);
  const sides: [string, StepSide][] = [
    ["writer", writerSide(backend.db)],
    ["raw", rawSide(backend.raw)],
  ];
  if (backend.rawPool !== backend.raw) sides.push(["raw-pool", rawSide(backend.rawPool)]);
  for (const [name, side] of sides) {
    progress(`[${backend.key}] warm-up: ${name}`);
    await side.createExecution(`warm-${name}-one`);
    for (const step of steps) await side.storeStep(`warm-${name}-one`, step);
    await side.createExecution(`warm-${name}-executor`);
    for (const [i, content] of stepResultContents(steps.length >> 2).entries())
      await side.recordStepAsExecutor(`warm-${name}-executor`, i, content);
    await side.createExecution(`warm-${name}-bulk`);
    await side.storeSteps(`warm-${name}-bulk`, steps);
    const parallel = Array.from({ length: Math.min(config.executions, 16) }, (_, i) => `warm-${name}-p${i}`);
    for (const id of parallel) await side.createExecution(id);
    // A step write is one statement: a single pg.Client queues them as the pool and PGlite do.
    await Promise.all(
      parallel.map(async (id) => {
        for (const step of steps.slice(0, 10)) await side.storeStep(id, step);
      }),
    );
  }
  for (let i = 0; i < 3; i++) {
    await consolidateExecution(backend.db, "warm-writer-one", { consolidatedSessionId: `warm-writer-one_c${i}` });
    await readCommittedSteps(backend.raw, "warm-raw-one");
  }
}
