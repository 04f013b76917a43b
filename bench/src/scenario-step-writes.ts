import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { interleave, timed, WRITER_AND_RAW } from "./interleave.js";
import { type WriterVsRaw, writerVsRaw } from "./stats.js";
import { stepInputs, stepResultContents, TOOL_CALLS_PER_STEP } from "./step-fixtures.js";
import { type StepSide, stepSides } from "./step-sides.js";
import { checkSameRows, type RowCounts } from "./stored-rows.js";

/**
 * §1.1 The step write path: steps of one execution written one after the other, each committed on
 * its own, as a run produces them. Two cases:
 * - `storeStep`: the write itself, committed at once (no execution transaction open) — the writer's
 *   `storeStep` against the same statement on the driver (raw-step-writer.ts);
 * - the executor's pattern: what PingPongExecutor does per step outside an atomic run —
 *   `storeStepSession` of its StepResult as JSON (fields parsed from it), committed at once.
 */
export type StepWriteCase = {
  id: "store-step" | "executor";
  label: string;
  steps: number;
  contentBytesPerStep: number;
  /** The same comparison as throughputRatio (target ≥ 0.8) by the median step (raw p50 ÷ writer p50): steadier than whole rounds on a busy machine. */
  p50Ratio: number;
  stored: { writer: RowCounts; raw: RowCounts };
} & WriterVsRaw;

export type StepWritesResult = { toolCallsPerStep: number; cases: StepWriteCase[] };

type Case = {
  id: StepWriteCase["id"];
  label: string;
  steps: number;
  write: (side: StepSide, executionId: string, stepIndex: number) => Promise<void>;
};

async function runCase(backend: Backend, config: BenchConfig, c: Case): Promise<StepWriteCase> {
  const sides = stepSides(backend.db, backend.raw);
  const samples = await interleave(`[${backend.key}] 1 ${c.label}`, config.rounds, WRITER_AND_RAW, async (side, round) => {
    const executionId = `${c.id}-${side}-r${round}`;
    await sides[side].createExecution(executionId);
    return {
      ops: c.steps,
      run: async (latencies) => {
        for (let i = 0; i < c.steps; i++) await timed(latencies, () => c.write(sides[side], executionId, i));
      },
    };
  });
  const expected = config.rounds * c.steps;
  const stored = await checkSameRows(backend.raw, `[${backend.key}] ${c.label}`, c.id, expected);
  const compared = writerVsRaw(samples);
  return {
    id: c.id,
    label: c.label,
    steps: c.steps,
    contentBytesPerStep: Math.round(stored.writer.contentBytes / expected),
    ...compared,
    p50Ratio: compared.raw.p50Ms / compared.writer.p50Ms,
    stored,
  };
}

export async function stepWritePath(backend: Backend, config: BenchConfig): Promise<StepWritesResult> {
  const steps = stepInputs(config.steps);
  const contents = stepResultContents(config.executorSteps);
  const cases: Case[] = [
    { id: "store-step", label: "storeStep, committed at once", steps: steps.length, write: (side, id, i) => side.storeStep(id, steps[i]!) },
    {
      id: "executor",
      label: "executor's pattern: storeStepSession (StepResult JSON)",
      steps: contents.length,
      write: (side, id, i) => side.recordStepAsExecutor(id, i, contents[i]!),
    },
  ];
  const results: StepWriteCase[] = [];
  for (const c of cases) results.push(await runCase(backend, config, c));
  return { toolCallsPerStep: TOOL_CALLS_PER_STEP, cases: results };
}
