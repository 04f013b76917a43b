import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { interleave, WRITER_AND_RAW } from "./interleave.js";
import { type WriterVsRaw, writerVsRaw } from "./stats.js";
import { stepInputs, TOOL_CALLS_PER_STEP } from "./step-fixtures.js";
import { stepSides } from "./step-sides.js";
import { checkSameRows, type RowCounts } from "./stored-rows.js";

/**
 * §1.2 Bulk import: N steps of one execution in one call (importing an exported run, say), all or
 * nothing in one transaction. Writer: `writer.storeSteps`; raw: one transaction of plain multi-row
 * INSERTs with the same lock and checks (raw-bulk-import.ts).
 */
export type BulkImportResult = {
  steps: number;
  /** Rows per import: the steps and their tool calls. */
  rows: number;
  stored: { writer: RowCounts; raw: RowCounts };
} & WriterVsRaw;

export async function bulkImport(backend: Backend, config: BenchConfig): Promise<BulkImportResult> {
  const sides = stepSides(backend.db, backend.raw);
  const steps = stepInputs(config.bulkSteps);
  const rows = steps.length * (1 + TOOL_CALLS_PER_STEP);
  const samples = await interleave(`[${backend.key}] 2 bulk import`, config.rounds, WRITER_AND_RAW, async (side, round) => {
    const executionId = `bulk-${side}-r${round}`;
    await sides[side].createExecution(executionId);
    return {
      ops: rows,
      run: async () => {
        const { stored, created } = await sides[side].storeSteps(executionId, steps);
        if (stored !== steps.length || created !== steps.length) {
          throw new Error(`[${backend.key}] bulk import (${side}): stored ${stored}, created ${created}; expected ${steps.length} of each`);
        }
      },
    };
  });
  const stored = await checkSameRows(backend.raw, `[${backend.key}] bulk import`, "bulk", config.rounds * steps.length);
  return { steps: steps.length, rows, ...writerVsRaw(samples), stored };
}
