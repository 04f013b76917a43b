import { consolidateExecution } from "@reev/orchestrator";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { whole } from "./format.js";
import { interleave } from "./interleave.js";
import { populateExecution } from "./populate.js";
import { progress } from "./progress.js";
import { readCommittedSteps } from "./raw-read-steps.js";
import { type LinearFit, linearFit, type SideStats, summarise } from "./stats.js";
import { TOOL_CALLS_PER_STEP } from "./step-fixtures.js";

/**
 * §1.3 Consolidation of executions of growing size. Writer: the orchestrator's
 * `consolidateExecution` (the real path: lock, read the committed steps' summaries, compute the
 * metrics, and one INSERT … SELECT in which the database assembles and stores the consolidated JSON —
 * in one transaction); raw: the SELECT of the same rows, read into JS. Both read the same executions,
 * filled beforehand by raw bulk inserts. A third, diagnostic side times the writer's full read of the
 * steps into JS (`getSessionsForConsolidation`), which consolidation did before it stopped holding
 * the run in memory.
 */
export type ConsolidationSize = {
  steps: number;
  writer: SideStats;
  /** `writer.getSessionsForConsolidation` alone. */
  writerRead: SideStats;
  raw: SideStats;
  /** Writer time ÷ raw time (the targets are in targets.ts). */
  timeRatio: number;
  /** The writer's read alone ÷ raw time. */
  readRatio: number;
  writerMsPer1000Steps: number;
  rawMsPer1000Steps: number;
};

export type ConsolidationResult = {
  sizes: ConsolidationSize[];
  /** Median time against steps, least squares: slope in ms per 1,000 steps. */
  fit: { writer: LinearFit; raw: LinearFit };
  /** Cost per 1,000 steps at the largest size ÷ at the one before: ≈ 1 or below when growth is linear. */
  perStepGrowth: { writer: number; raw: number };
};

/** The writer's growth counts as linear while a step at the largest size costs at most this much more. */
export const LINEAR_TOLERANCE = 1.25;

/** Generous: the point is to measure how long it takes, not to cut it off on a loaded machine. */
const CONSOLIDATION_TIMEOUT_MS = 30 * 60_000;

const SIDES = ["writer", "writer-read", "raw"] as const;

export async function consolidation(backend: Backend, config: BenchConfig): Promise<ConsolidationResult> {
  for (const size of config.consolidationSizes) {
    progress(`[${backend.key}] 3 consolidation: filling an execution of ${whole(size)} steps`);
    await populateExecution(backend.raw, `cons-${size}`, size);
  }
  const sizes: ConsolidationSize[] = [];
  for (const size of config.consolidationSizes) {
    const executionId = `cons-${size}`;
    const expect = (what: string, steps: number, toolCalls: number) => {
      if (steps !== size || toolCalls !== size * TOOL_CALLS_PER_STEP) {
        throw new Error(`[${backend.key}] ${what} of ${size} steps saw ${steps} steps and ${toolCalls} tool calls`);
      }
    };
    const run: Record<(typeof SIDES)[number], (round: number) => Promise<void>> = {
      writer: async (round) => {
        const done = await consolidateExecution(backend.db, executionId, {
          consolidatedSessionId: `${executionId}_c${round}`,
          timeoutMs: CONSOLIDATION_TIMEOUT_MS,
        });
        expect("consolidation", (done.metadata.totalTools ?? 0) / TOOL_CALLS_PER_STEP, done.metadata.totalTools ?? 0);
      },
      "writer-read": async () => {
        const sessions = await backend.db.writer.getSessionsForConsolidation(executionId);
        expect(
          "the writer's read",
          sessions.length,
          sessions.reduce((n, s) => n + s.toolCalls.length, 0),
        );
      },
      raw: async () => {
        const read = await readCommittedSteps(backend.raw, executionId);
        expect("the raw read", read.steps.length, read.toolCalls);
      },
    };
    const samples = await interleave(
      `[${backend.key}] 3 consolidation of ${whole(size)} steps`,
      config.consolidationRounds,
      SIDES,
      async (side, round) => ({
        ops: 1,
        run: () => run[side](round),
      }),
    );
    await checkConsolidated(backend, executionId, size, config.consolidationRounds);
    const writer = summarise(samples.writer);
    const writerRead = summarise(samples["writer-read"]);
    const raw = summarise(samples.raw);
    sizes.push({
      steps: size,
      writer,
      writerRead,
      raw,
      timeRatio: writer.medianMs / raw.medianMs,
      readRatio: writerRead.medianMs / raw.medianMs,
      writerMsPer1000Steps: (writer.medianMs / size) * 1000,
      rawMsPer1000Steps: (raw.medianMs / size) * 1000,
    });
  }
  const xs = sizes.map((s) => s.steps / 1000);
  const [before, last] = sizes.slice(-2) as [ConsolidationSize, ConsolidationSize];
  return {
    sizes,
    fit: {
      writer: linearFit(
        xs,
        sizes.map((s) => s.writer.medianMs),
      ),
      raw: linearFit(
        xs,
        sizes.map((s) => s.raw.medianMs),
      ),
    },
    perStepGrowth: {
      writer: last.writerMsPer1000Steps / before.writerMsPer1000Steps,
      raw: last.rawMsPer1000Steps / before.rawMsPer1000Steps,
    },
  };
}

/** Every round stored one consolidated row naming every step, and the execution ended `completed`. */
async function checkConsolidated(backend: Backend, executionId: string, size: number, rounds: number): Promise<void> {
  const rows = await backend.raw.query<{ n: number; named: number; status: string }>(
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE jsonb_array_length(c.original_session_ids) = $2)::int AS named,
            (SELECT consolidation_status::text FROM execution_sessions WHERE execution_id = $1) AS status
     FROM consolidated_sessions c WHERE c.execution_id = $1`,
    [executionId, size],
  );
  const got = rows[0];
  if (!got || got.n !== rounds || got.named !== rounds || got.status !== "completed") {
    throw new Error(
      `[${backend.key}] consolidation of ${executionId}: expected ${rounds} consolidated rows of ${size} steps each, found ${JSON.stringify(got)}`,
    );
  }
}
