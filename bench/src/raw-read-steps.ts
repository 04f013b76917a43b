import type { RawDriver } from "./raw-driver.js";

/**
 * The raw floor of consolidation's read: the committed steps of one execution with their tool calls,
 * in order, read into JS by one SELECT with the tool calls aggregated per step by the server. At
 * 10,000 steps that was as fast as two plain SELECTs (steps, then five times as many tool-call rows)
 * on PostgreSQL, and a quarter faster on PGlite: the lower floor.
 */
export async function readCommittedSteps(driver: RawDriver, executionId: string): Promise<{ steps: unknown[]; toolCalls: number }> {
  const steps = await driver.query<{ tool_calls: unknown[] }>(
    `SELECT s.session_id, s.step_index, s.content, s.status::text AS status, s.step_id, s.score, s.started_at, s.finished_at,
            s.duration_ms, s.error, s.committed_at, s.created_at,
            COALESCE((SELECT json_agg(json_build_object('call_index', t.call_index, 'tool_name', t.tool_name, 'input', t.input,
                        'output', t.output, 'success', t.success, 'duration_ms', t.duration_ms, 'error', t.error) ORDER BY t.call_index)
                      FROM tool_calls t WHERE t.execution_id = $1 AND t.step_index = s.step_index), '[]'::json) AS tool_calls
     FROM step_sessions s WHERE s.execution_id = $1 AND s.state = 'committed' ORDER BY s.step_index`,
    [executionId],
  );
  return { steps, toolCalls: steps.reduce((n, s) => n + s.tool_calls.length, 0) };
}
