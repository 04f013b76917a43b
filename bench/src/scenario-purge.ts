import type { PurgeCounts } from "@reev/db";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { whole, x } from "./format.js";
import { interleave, type SideName, WRITER_AND_RAW } from "./interleave.js";
import { progress } from "./progress.js";
import type { RawDriver } from "./raw-driver.js";
import type { BackendResult } from "./results.js";
import { msSince, now, type WriterVsRaw, writerVsRaw } from "./stats.js";
import { stepInputs } from "./step-fixtures.js";
import type { TargetCheck } from "./targets.js";

/**
 * Retention (issue 13 §1): N finished executions × S steps (each step with one tool call and one
 * attempt, each execution with one consolidated session) purged by `purgeExecutions` against a raw
 * batched `DELETE` of the same rows (the parent row per batch, the foreign keys cascading), batch for
 * batch the same size, each side on data of its own written the same way (set-based, untimed).
 * Meanwhile, on both sides alike, LIVE_RUNS running executions keep storing steps through the writer;
 * their rate during the writer's purge is compared with their rate without any purge. Afterwards: the
 * writer's report must count exactly the rows populated, both sides must have left none of them, and
 * every live step must be there.
 */
export type PurgeResult = {
  executions: number;
  stepsPerExecution: number;
  batchSize: number;
  /** Rows each side deleted, every table together. */
  rowsPerSide: number;
  /** What the writer's last purge reported. */
  report: PurgeCounts;
  live: {
    runs: number;
    /** Steps/s stored to live executions with no purge running, during the writer's purge, during the raw one. */
    withoutPurge: number;
    duringWriterPurge: number;
    duringRawPurge: number;
    /** duringWriterPurge ÷ withoutPurge (the target is ≥ 0.7). */
    ratio: number;
  };
} & WriterVsRaw; // throughputRatio: rows/s of the writer's purge ÷ the raw DELETE's (the target is ≥ 0.8)

const LIVE_RUNS = 4;
const PURGE_RATIO = 0.8;
const LIVE_RATIO = 0.7;

type Sizes = { executions: number; steps: number; batch: number; rounds: number; liveBaselineSteps: number };

function sizes(config: BenchConfig, env: NodeJS.ProcessEnv): Sizes {
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === "" ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer ≥ 1, got "${raw}"`);
    return value;
  };
  return {
    executions: int("REEV_BENCH_PURGE_EXECUTIONS", config.smoke ? 40 : 100_000),
    steps: int("REEV_BENCH_PURGE_STEPS", 10),
    batch: int("REEV_BENCH_PURGE_BATCH", config.smoke ? 8 : 1_000),
    // One round by default: a round populates two sides of N × S steps.
    rounds: int("REEV_BENCH_PURGE_ROUNDS", 1),
    liveBaselineSteps: int("REEV_BENCH_PURGE_LIVE_STEPS", config.smoke ? 40 : 2_000),
  };
}

/** Rows one execution of the populated shape has: itself, S steps, S tool calls, S attempts, one consolidation. */
const rowsPerExecution = (steps: number) => 2 + 3 * steps;

/** Executions per populating statement: bounded, so PGlite never builds one huge statement. */
const POPULATE_CHUNK = 5_000;

/**
 * Writes `count` executions of flow `flowId` (ids `{flowId}-{n}`), finished 40 days ago, a millisecond
 * apart, with `steps` committed steps each, one tool call and one attempt per step, one consolidation.
 */
async function populate(raw: RawDriver, flowId: string, count: number, steps: number): Promise<void> {
  for (let from = 0; from < count; from += POPULATE_CHUNK) {
    const to = Math.min(count, from + POPULATE_CHUNK) - 1;
    await raw.transaction(async (q) => {
      const ids = `SELECT $1::text || '-' || g AS id, g FROM generate_series($2::int, $3::int) g`;
      await q(
        `INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, status, started_at, finished_at, duration_ms, consolidation_status)
         SELECT id, $1, 'bench', 'bench', 'completed', now() - interval '41 days', now() - interval '40 days' + g * interval '1 ms', 1000, 'completed'
         FROM (${ids}) AS e`,
        [flowId, from, to],
      );
      await q(
        `INSERT INTO step_sessions (execution_id, session_id, step_index, content, content_sha256, state, status, committed_at)
         SELECT id, id || '_step_' || s, s, repeat('x', 200), repeat('0', 64), 'committed', 'success', now()
         FROM (${ids}) AS e CROSS JOIN generate_series(0, $4::int - 1) s`,
        [flowId, from, to, steps],
      );
      await q(
        `INSERT INTO tool_calls (execution_id, step_index, call_index, attempt, tool_name, input, output, success, duration_ms)
         SELECT id, s, 0, 1, 'get_balance', '{"wallet": "w"}', '{"sol": 2}', true, 5
         FROM (${ids}) AS e CROSS JOIN generate_series(0, $4::int - 1) s`,
        [flowId, from, to, steps],
      );
      await q(
        `INSERT INTO step_attempts (execution_id, step_index, attempt, status, duration_ms)
         SELECT id, s, 1, 'success', 20 FROM (${ids}) AS e CROSS JOIN generate_series(0, $4::int - 1) s`,
        [flowId, from, to, steps],
      );
      await q(
        `INSERT INTO consolidated_sessions (execution_id, consolidated_session_id, consolidated_content, original_session_ids)
         SELECT id, id || '-c', '{}', jsonb_build_array(id || '_step_0') FROM (${ids}) AS e`,
        [flowId, from, to],
      );
    });
  }
}

/** Rows left of flow `flowId`'s executions, every table together. */
async function rowsLeft(raw: RawDriver, flowId: string): Promise<number> {
  const [row] = await raw.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM execution_sessions WHERE flow_id = $1)
       + (SELECT count(*) FROM step_sessions WHERE execution_id LIKE $2)
       + (SELECT count(*) FROM tool_calls WHERE execution_id LIKE $2)
       + (SELECT count(*) FROM step_attempts WHERE execution_id LIKE $2)
       + (SELECT count(*) FROM consolidated_sessions WHERE execution_id LIKE $2) AS n`,
    [flowId, `${flowId}-%`],
  );
  return Number(row?.n);
}

/** The raw side: a plain batched DELETE of the parent rows, oldest finish first, the foreign keys cascading. */
async function rawPurge(raw: RawDriver, flowId: string, batch: number): Promise<void> {
  for (;;) {
    const deleted = await raw.query(
      `WITH batch AS (
         SELECT execution_id FROM execution_sessions WHERE flow_id = $1 AND status <> 'running' AND finished_at < now()
         ORDER BY finished_at, execution_id LIMIT $2)
       DELETE FROM execution_sessions e USING batch b WHERE e.execution_id = b.execution_id RETURNING 1`,
      [flowId, batch],
    );
    if (deleted.length < batch) return;
  }
}

/** Live runs storing steps through the writer, one after another each, until `until` resolves (or `steps` are stored). */
class LiveRuns {
  readonly #backend: Backend;
  readonly #ids: string[] = [];
  readonly #next = new Map<string, number>();
  readonly #steps = stepInputs(50);

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  async create(prefix: string): Promise<void> {
    for (let i = 0; i < LIVE_RUNS; i++) {
      const id = `${prefix}-${i}`;
      await this.#backend.db.writer.createExecutionSession({ executionId: id, flowId: "purge-live", agent: "bench", prompt: "bench" });
      this.#ids.push(id);
      this.#next.set(id, 0);
    }
  }

  /** Stores steps until `stop()` says so or each run stored `perRun`; returns steps/s. */
  async write(stop: () => boolean, perRun = Number.POSITIVE_INFINITY): Promise<number> {
    const start = now();
    let stored = 0;
    await Promise.all(
      this.#ids.slice(-LIVE_RUNS).map(async (id) => {
        for (let n = 0; n < perRun && !stop(); n++) {
          const stepIndex = this.#next.get(id) ?? 0;
          await this.#backend.db.writer.storeStep(id, { ...this.#steps[stepIndex % this.#steps.length]!, stepIndex });
          this.#next.set(id, stepIndex + 1);
          stored++;
        }
      }),
    );
    return stored / (msSince(start) / 1000);
  }

  /** Throws unless every step each live run was told was stored is there. */
  async audit(): Promise<void> {
    for (const id of this.#ids) {
      const [row] = await this.#backend.raw.query<{ n: number }>("SELECT count(*)::int AS n FROM step_sessions WHERE execution_id = $1", [
        id,
      ]);
      if (Number(row?.n) !== this.#next.get(id))
        throw new Error(`live run ${id}: ${row?.n} steps stored, ${this.#next.get(id)} acknowledged`);
    }
  }
}

export async function purge(backend: Backend, config: BenchConfig): Promise<PurgeResult> {
  const s = sizes(config, process.env);
  const label = `[${backend.key}] purge, ${whole(s.executions)} × ${s.steps} steps`;
  const rows = s.executions * rowsPerExecution(s.steps);
  const live = new LiveRuns(backend);
  await live.create(`purge-live-${backend.key}-base`);
  const withoutPurge = await live.write(() => false, Math.ceil(s.liveBaselineSteps / LIVE_RUNS));
  const during: Record<SideName, number[]> = { writer: [], raw: [] };
  let report: PurgeCounts | undefined;
  const samples = await interleave(label, s.rounds, WRITER_AND_RAW, async (side, round) => {
    const flowId = `purge-${side}-r${round}`;
    progress(`${label}: populating ${whole(rows)} rows for the ${side} side…`);
    await populate(backend.raw, flowId, s.executions, s.steps);
    await live.create(`purge-live-${backend.key}-${side}-r${round}`);
    return {
      ops: rows,
      run: async () => {
        let done = false;
        const purged = (
          side === "writer"
            ? backend.db.writer.purgeExecutions({ olderThanMs: 0, flowId, batchSize: s.batch }).then((r) => {
                report = r.deleted;
              })
            : rawPurge(backend.raw, flowId, s.batch)
        ).finally(() => {
          done = true;
        });
        const [, rate] = await Promise.all([purged, live.write(() => done)]);
        during[side].push(rate);
        const left = await rowsLeft(backend.raw, flowId);
        if (left !== 0) throw new Error(`${label}: the ${side} side left ${left} of the ${rows} rows`);
      },
    };
  });
  const expected = {
    executions: s.executions,
    steps: s.executions * s.steps,
    stepAttempts: s.executions * s.steps,
    toolCalls: s.executions * s.steps,
    consolidatedSessions: s.executions,
  };
  if (JSON.stringify(report) !== JSON.stringify(expected)) {
    throw new Error(`${label}: the writer reported ${JSON.stringify(report)}, populated ${JSON.stringify(expected)}`);
  }
  await live.audit();
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
  const duringWriterPurge = median(during.writer);
  return {
    executions: s.executions,
    stepsPerExecution: s.steps,
    batchSize: s.batch,
    rowsPerSide: rows,
    report: expected,
    ...writerVsRaw(samples),
    live: { runs: LIVE_RUNS, withoutPurge, duringWriterPurge, duringRawPurge: median(during.raw), ratio: duringWriterPurge / withoutPurge },
  };
}

/** The purge's targets, reported beside the others. */
export function purgeTargets(b: BackendResult): TargetCheck[] {
  const p = b.purge;
  if (!p) return [];
  return [
    {
      target: `purge ≥ ${PURGE_RATIO}× a raw batched DELETE (rows/s)`,
      where: b.name,
      measured: `${x(p.throughputRatio)} (${whole(p.writer.perSecond)} vs ${whole(p.raw.perSecond)} rows/s; ${whole(p.executions)} × ${p.stepsPerExecution} steps, batches of ${whole(p.batchSize)})`,
      met: p.throughputRatio >= PURGE_RATIO,
    },
    {
      target: `step writes during a purge ≥ ${LIVE_RATIO}× without`,
      where: b.name,
      measured: `${x(p.live.ratio)} (${whole(p.live.duringWriterPurge)} vs ${whole(p.live.withoutPurge)} steps/s; ${whole(p.live.duringRawPurge)} during the raw DELETE)`,
      met: p.live.ratio >= LIVE_RATIO,
    },
  ];
}
