import type { SessionLog } from "../schemas.js";
import type { Client } from "./context.js";
import type { AttemptUsage } from "./evaluations.js";

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

type SummaryRow = {
  session_id: string;
  step_index: number;
  status: SessionLog["status"] | null;
  score: number | null;
  started_at: Date | null;
  finished_at: Date | null;
  error_kind: SessionLog["errorKind"];
  tool_count: number;
  attempts: StepSummary["attempts"];
};

/** The committed steps of an execution, summarised, in numeric step order: one query, a few bytes a step. */
export async function committedStepSummaries(client: Client, executionId: string): Promise<StepSummary[]> {
  const rows = await client.$queryRaw<SummaryRow[]>`
    SELECT s.session_id, s.step_index, s.status::text AS status, s.score, s.started_at, s.finished_at, s.error_kind::text AS error_kind,
      (SELECT count(*)::int FROM tool_calls t WHERE t.execution_id = ${executionId} AND t.step_index = s.step_index) AS tool_count,
      COALESCE((SELECT json_agg(json_build_object('model', a.model, 'inputTokens', a.input_tokens, 'outputTokens', a.output_tokens,
          'cachedInputTokens', a.cached_input_tokens) ORDER BY a.attempt)
        FROM step_attempts a WHERE a.execution_id = ${executionId} AND a.step_index = s.step_index), '[]'::json) AS attempts
    FROM step_sessions s WHERE s.execution_id = ${executionId} AND s.state = 'committed' ORDER BY s.step_index`;
  return rows.map((r) => ({
    sessionId: r.session_id,
    stepIndex: r.step_index,
    status: r.status ?? "unknown",
    score: r.score,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    errorKind: r.error_kind,
    toolCount: r.tool_count,
    attempts: r.attempts,
  }));
}
