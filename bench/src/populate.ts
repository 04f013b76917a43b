import { storeStepRows } from "./raw-bulk-import.js";
import type { RawDriver } from "./raw-driver.js";
import { createExecution } from "./raw-execution.js";
import { stepInputs } from "./step-fixtures.js";
import { stepRow } from "./step-row.js";

/** A new execution with `steps` committed steps, written fast (raw bulk inserts, untimed). */
export async function populateExecution(driver: RawDriver, executionId: string, steps: number): Promise<void> {
  await createExecution(driver, executionId);
  const { created } = await storeStepRows(
    driver,
    executionId,
    stepInputs(steps).map((s) => stepRow(executionId, s)),
  );
  if (created !== steps) throw new Error(`populating ${executionId}: created ${created} steps, expected ${steps}`);
}

/** Executions inserted per statement by populateExecutions: progress shows, no transaction grows huge. */
const POPULATE_BATCH = 10_000;

/**
 * `count` finished executions of `stepsEach` committed steps (small contents, no tool calls), in SQL:
 * `generate_series` inside the database, a batch of executions and their steps per transaction, so
 * 100,000 executions take seconds, not a round trip each. Ids are `${prefix}-0000001`…, started one
 * second apart (the first newest), so the list's order is known. The NOTIFY triggers are switched off
 * inside these transactions (foreign keys stay checked): no one listens to a fill.
 */
export async function populateExecutions(
  driver: RawDriver,
  prefix: string,
  count: number,
  stepsEach: number,
  onProgress: (done: number) => void,
): Promise<void> {
  for (let first = 1; first <= count; first += POPULATE_BATCH) {
    const last = Math.min(count, first + POPULATE_BATCH - 1);
    await driver.transaction(async (q) => {
      // The tables' owner may switch their triggers off (no superuser needed): on again before the commit; a rollback undoes both.
      for (const table of ["execution_sessions", "step_sessions"]) await q(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      await q(
        `INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, status, started_at, finished_at, duration_ms, error)
         SELECT $1 || '-' || lpad(g::text, 7, '0'), 'flow-' || (g % 20), 'scripted', 'the prompt of run ' || g,
                CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END::execution_status,
                timestamptz '2026-11-01 00:00:00+00' - make_interval(secs => g),
                timestamptz '2026-11-01 00:00:00+00' - make_interval(secs => g) + interval '800 milliseconds', 800,
                CASE WHEN g % 10 = 0 THEN '1 of ' || $4 || ' steps did not succeed' END
         FROM generate_series($2::int, $3::int) g`,
        [prefix, first, last, stepsEach],
      );
      await q(
        `INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, step_id, status, score,
                                    started_at, finished_at, duration_ms, committed_at)
         SELECT e || '_step_' || s, e, s, '{"response":"done"}', repeat('0', 64), 'committed', 'step_' || s, 'success', 1,
                t, t + interval '80 milliseconds', 80, t + interval '80 milliseconds'
         FROM generate_series($2::int, $3::int) g, generate_series(0, $4::int - 1) s,
              LATERAL (SELECT $1 || '-' || lpad(g::text, 7, '0') AS e,
                              timestamptz '2026-11-01 00:00:00+00' - make_interval(secs => g) + make_interval(secs => s * 0.08) AS t) x`,
        [prefix, first, last, stepsEach],
      );
      for (const table of ["execution_sessions", "step_sessions"]) await q(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    });
    onProgress(last);
  }
  await driver.query("ANALYZE execution_sessions");
}
