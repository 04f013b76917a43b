import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { interleave, type SideName, timed, WRITER_AND_RAW } from "./interleave.js";
import { type WriterVsRaw, writerVsRaw } from "./stats.js";
import { stepInputs, TOOL_CALLS_PER_STEP } from "./step-fixtures.js";
import { stepSides } from "./step-sides.js";
import { auditExecutions, type ExecutionAudit, isLossless } from "./stored-rows.js";

/**
 * §1.4 Concurrency: E executions writing S steps each, all at once (each execution's steps one
 * after the other, as its run produces them). Writer: one `openDatabase` and its pool; raw: a
 * `pg.Pool` of the same size, or PGlite's one connection. Afterwards every execution is audited:
 * exactly S steps, indexes 0 … S−1, each tool call once.
 */
export type ConcurrencyResult = {
  executions: number;
  stepsPerExecution: number;
  /** Connections each side writes through (PGlite has one). */
  poolSize: number;
  audit: { writer: ExecutionAudit; raw: ExecutionAudit };
} & WriterVsRaw; // throughputRatio: all executions together (the target is ≥ 0.7)

export async function concurrency(backend: Backend, config: BenchConfig): Promise<ConcurrencyResult> {
  const sides = stepSides(backend.db, backend.rawPool);
  const steps = stepInputs(config.stepsPerExecution);
  const ids: Record<SideName, string[]> = { writer: [], raw: [] };
  const label = `[${backend.key}] 4 concurrency, ${config.executions} × ${config.stepsPerExecution} steps`;
  const samples = await interleave(label, config.rounds, WRITER_AND_RAW, async (side, round) => {
    const executionIds = Array.from({ length: config.executions }, (_, i) => `conc-${side}-r${round}-e${i}`);
    for (const id of executionIds) await sides[side].createExecution(id);
    ids[side].push(...executionIds);
    return {
      ops: executionIds.length * steps.length,
      run: async (latencies) => {
        await Promise.all(
          executionIds.map(async (id) => {
            for (const step of steps) await timed(latencies, () => sides[side].storeStep(id, step));
          }),
        );
      },
    };
  });
  const audit = {
    writer: await auditExecutions(backend.raw, ids.writer, steps.length, TOOL_CALLS_PER_STEP),
    raw: await auditExecutions(backend.raw, ids.raw, steps.length, TOOL_CALLS_PER_STEP),
  };
  for (const side of ["writer", "raw"] as const) {
    if (!isLossless(audit[side])) throw new Error(`${label}: the ${side} side lost or duplicated rows: ${JSON.stringify(audit[side])}`);
  }
  return {
    executions: config.executions,
    stepsPerExecution: config.stepsPerExecution,
    poolSize: backend.poolSize,
    ...writerVsRaw(samples),
    audit,
  };
}
