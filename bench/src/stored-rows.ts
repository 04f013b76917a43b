import type { RawDriver } from "./raw-driver.js";
import { TOOL_CALLS_PER_STEP } from "./step-fixtures.js";

/**
 * What is really in the database, checked after every scenario: the measurement only counts if each
 * side stored exactly what it was asked to, and both sides stored the same thing.
 */

export type RowCounts = { steps: number; committed: number; toolCalls: number; contentBytes: number; toolJsonBytes: number };

const COUNT_SQL = `
  SELECT
    (SELECT count(*)::int FROM step_sessions WHERE execution_id LIKE $1) AS steps,
    (SELECT count(*)::int FROM step_sessions WHERE execution_id LIKE $1 AND state = 'committed') AS committed,
    (SELECT coalesce(sum(octet_length(content)), 0)::float8 FROM step_sessions WHERE execution_id LIKE $1) AS "contentBytes",
    (SELECT count(*)::int FROM tool_calls WHERE execution_id LIKE $1) AS "toolCalls",
    (SELECT coalesce(sum(octet_length(input::text) + octet_length(output::text)), 0)::float8
       FROM tool_calls WHERE execution_id LIKE $1) AS "toolJsonBytes"`;

/** Rows of the executions whose id starts with `prefix` (letters, digits and dashes: no LIKE wildcards). */
export async function countRows(driver: RawDriver, prefix: string): Promise<RowCounts> {
  const row = (await driver.query(COUNT_SQL, [`${prefix}%`]))[0];
  if (!row) throw new Error("the count query returned no row");
  return {
    steps: Number(row.steps),
    committed: Number(row.committed),
    toolCalls: Number(row.toolCalls),
    contentBytes: Number(row.contentBytes),
    toolJsonBytes: Number(row.toolJsonBytes),
  };
}

/**
 * Counts what each side stored under `<prefix>-writer-` / `<prefix>-raw-` and throws unless both stored
 * `steps` committed steps with their tool calls, byte for byte alike.
 */
export async function checkSameRows(
  driver: RawDriver,
  what: string,
  prefix: string,
  steps: number,
): Promise<{ writer: RowCounts; raw: RowCounts }> {
  const stored = { writer: await countRows(driver, `${prefix}-writer-`), raw: await countRows(driver, `${prefix}-raw-`) };
  const expected = { steps, toolCalls: steps * TOOL_CALLS_PER_STEP };
  for (const side of ["writer", "raw"] as const) {
    const got = stored[side];
    if (got.steps !== expected.steps || got.committed !== expected.steps || got.toolCalls !== expected.toolCalls) {
      throw new Error(
        `${what}: the ${side} side stored ${got.steps} steps (${got.committed} committed) and ${got.toolCalls} tool calls; ` +
          `expected ${expected.steps} committed steps and ${expected.toolCalls} tool calls. The measurement is void.`,
      );
    }
  }
  const keys = Object.keys(stored.writer) as (keyof RowCounts)[];
  if (keys.some((k) => stored.writer[k] !== stored.raw[k])) {
    throw new Error(`${what}: the writer and the raw driver stored different data: ${JSON.stringify(stored)}`);
  }
  return stored;
}

/** Per execution: every step exactly once (indexes 0 … n−1), each of its tool calls exactly once. */
export type ExecutionAudit = {
  executions: number;
  steps: number;
  toolCalls: number;
  lostSteps: number;
  duplicatedSteps: number;
  lostToolCalls: number;
  duplicatedToolCalls: number;
};

export async function auditExecutions(
  driver: RawDriver,
  executionIds: readonly string[],
  stepsEach: number,
  toolCallsPerStep: number,
): Promise<ExecutionAudit> {
  const rows = await driver.query<{
    execution_id: string;
    steps: number;
    distinct_steps: number;
    in_range: number;
    calls: number;
    distinct_calls: number;
  }>(
    `SELECT s.execution_id,
            count(*)::int AS steps,
            count(DISTINCT s.step_index)::int AS distinct_steps,
            count(DISTINCT s.step_index) FILTER (WHERE s.step_index BETWEEN 0 AND $2 - 1 AND s.state = 'committed')::int AS in_range,
            coalesce(sum(t.calls), 0)::int AS calls,
            coalesce(sum(t.distinct_calls), 0)::int AS distinct_calls
     FROM step_sessions s
     LEFT JOIN LATERAL (SELECT count(*) AS calls, count(DISTINCT call_index) AS distinct_calls FROM tool_calls
                       WHERE execution_id = s.execution_id AND step_index = s.step_index) t ON true
     WHERE s.execution_id = ANY($1::text[])
     GROUP BY s.execution_id`,
    [executionIds, stepsEach],
  );
  const byId = new Map(rows.map((r) => [r.execution_id, r]));
  const audit: ExecutionAudit = {
    executions: executionIds.length,
    steps: 0,
    toolCalls: 0,
    lostSteps: 0,
    duplicatedSteps: 0,
    lostToolCalls: 0,
    duplicatedToolCalls: 0,
  };
  for (const id of executionIds) {
    const r = byId.get(id) ?? { steps: 0, distinct_steps: 0, in_range: 0, calls: 0, distinct_calls: 0 };
    audit.steps += r.steps;
    audit.toolCalls += r.calls;
    audit.lostSteps += stepsEach - r.in_range;
    audit.duplicatedSteps += r.steps - r.distinct_steps;
    audit.lostToolCalls += r.in_range * toolCallsPerStep - r.distinct_calls;
    audit.duplicatedToolCalls += r.calls - r.distinct_calls;
  }
  return audit;
}

export const isLossless = (a: ExecutionAudit) => !a.lostSteps && !a.duplicatedSteps && !a.lostToolCalls && !a.duplicatedToolCalls;
