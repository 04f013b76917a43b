import { prepared } from "../prepared-statement.js";
import type { SessionLog } from "../schemas.js";
import type { Client } from "./context.js";
import type { AttemptUsage } from "./evaluations.js";
import { dateOrNull } from "./steps.js";

/**
 * A committed step as consolidation's metrics see it: its outcome, timings, how many tool calls it
 * made and what its attempts reported using (what the metrics sum and a price table prices) — not its content or its tool calls' input and output,
 * which stay in the database (the document is assembled there).
 */
export type StepSummary = Pick<SessionLog, "sessionId" | "stepIndex" | "status" | "score" | "startedAt" | "finishedAt" | "errorKind"> & {
  toolCount: number;
  /** Every recorded attempt's usage, in attempt order; empty when none was recorded. */
  attempts: AttemptUsage[];
};

/** A summary as the server writes it in JSON: timestamps as ISO 8601 text. */
type SummaryJson = Omit<StepSummary, "startedAt" | "finishedAt"> & { startedAt: string | null; finishedAt: string | null };

/** The metric columns of a stored consolidation, as a retry under its id answers them. */
export type StoredMetrics = {
  avg_score: number | null;
  total_tools: number | null;
  success_rate: number | null;
  execution_duration_ms: number | null;
  total_input_tokens: number | null;
  total_output_tokens: number | null;
  cost_usd: number | null;
};

/** What consolidation reads once it holds the execution's lock: a stored consolidation under the id, or else the steps. */
export type ConsolidationInputs = { stored: StoredMetrics; steps: null } | { stored: null; steps: StepSummary[] };

/**
 * One statement (a round trip counts at 10 steps): the consolidation stored under `consolidatedSessionId`
 * for this execution if there is one (a retry), else the committed steps summarised, in numeric step
 * order, a few bytes a step. Run after the execution's lock is granted, so its snapshot holds every
 * step committed before it.
 */
export async function consolidationInputs(
  client: Client,
  executionId: string,
  consolidatedSessionId: string,
): Promise<ConsolidationInputs> {
  const [row] = await client.$queryRaw<{ stored: StoredMetrics | null; steps: SummaryJson[] | null }[]>`${prepared("consolidation-inputs")}
    WITH stored AS (
      SELECT avg_score, total_tools, success_rate, execution_duration_ms, total_input_tokens, total_output_tokens, cost_usd
      FROM consolidated_sessions WHERE execution_id = ${executionId} AND consolidated_session_id = ${consolidatedSessionId}
    )
    SELECT (SELECT row_to_json(stored) FROM stored) AS stored,
      CASE WHEN NOT EXISTS (SELECT 1 FROM stored) THEN COALESCE((
        SELECT json_agg(json_build_object('sessionId', s.session_id, 'stepIndex', s.step_index, 'status', COALESCE(s.status::text, 'unknown'),
            'score', s.score, 'startedAt', s.started_at, 'finishedAt', s.finished_at, 'errorKind', s.error_kind,
            'toolCount', (SELECT count(*) FROM tool_calls t WHERE t.execution_id = ${executionId} AND t.step_index = s.step_index),
            'attempts', COALESCE((SELECT json_agg(json_build_object('model', a.model, 'inputTokens', a.input_tokens,
                'outputTokens', a.output_tokens, 'cachedInputTokens', a.cached_input_tokens) ORDER BY a.attempt)
              FROM step_attempts a WHERE a.execution_id = ${executionId} AND a.step_index = s.step_index), '[]'::json))
          ORDER BY s.step_index)
        FROM step_sessions s WHERE s.execution_id = ${executionId} AND s.state = 'committed'), '[]'::json) END AS steps`;
  if (row?.stored) return { stored: row.stored, steps: null };
  const steps = (row?.steps ?? []).map((s) => ({ ...s, startedAt: dateOrNull(s.startedAt), finishedAt: dateOrNull(s.finishedAt) }));
  return { stored: null, steps };
}
