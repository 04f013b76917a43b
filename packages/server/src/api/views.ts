import type { z } from "@hono/zod-openapi";
import {
  type ConsolidatedSessionLog,
  type ExecutionOverview,
  type ExecutionSummary,
  type LivenessOptions,
  livenessFlags,
  type SessionLog,
  type ShownConsolidationStatus,
  type StoredCheckResult,
  shownConsolidation,
  type ToolCallLog,
} from "@reev/db";
import { type CostGap, costUnknownReason, storedCostGaps } from "@reev/orchestrator";
import type { ApiConsolidationStatus, ZConsolidatedSession, ZExecution, ZExecutionSummary, ZStep, ZToolCall } from "./schemas.js";

/** The database says `timed_out`; reev's API says `timeout`. Mapped here, at the edge, and nowhere else. */
const API_CONSOLIDATION_STATUS = {
  pending: "pending",
  in_progress: "in_progress",
  completed: "completed",
  failed: "failed",
  timed_out: "timeout",
  skipped: "skipped",
} as const satisfies Record<ShownConsolidationStatus, ApiConsolidationStatus>;

export const toApiConsolidationStatus = (status: ShownConsolidationStatus): ApiConsolidationStatus => API_CONSOLIDATION_STATUS[status];

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function executionSummaryJson(e: ExecutionSummary, liveness: LivenessOptions): z.infer<typeof ZExecutionSummary> {
  return {
    execution_id: e.executionId,
    flow_id: e.flowId,
    agent: e.agent,
    prompt: e.prompt,
    status: e.status,
    started_at: e.startedAt.toISOString(),
    finished_at: iso(e.finishedAt),
    duration_ms: e.durationMs,
    error: e.error,
    consolidation_status: toApiConsolidationStatus(shownConsolidation(e.status, e.consolidation).status),
    // As reev list --json says them: a client must not wait on a run whose process is gone.
    ...livenessFlags(e, liveness),
  };
}

export function executionJson(
  { execution: e, steps, latestConsolidation }: ExecutionOverview,
  liveness: LivenessOptions,
): z.infer<typeof ZExecution> {
  return {
    ...executionSummaryJson(e, liveness),
    metadata: e.metadata,
    open_transaction: e.openTransaction
      ? { transaction_id: e.openTransaction.transactionId, opened_at: e.openTransaction.openedAt.toISOString() }
      : null,
    consolidation_error: shownConsolidation(e.status, e.consolidation).error,
    consolidation_updated_at: iso(e.consolidation.updatedAt),
    consolidated_session_id: latestConsolidation?.consolidatedSessionId ?? null,
    step_counts: {
      total: steps.committed,
      pending: steps.pending,
      success: steps.success,
      failed: steps.failed,
      timed_out: steps.timedOut,
      skipped: steps.skipped,
      unknown: steps.unknown,
    },
  };
}

export const toolCallJson = (t: ToolCallLog): z.infer<typeof ZToolCall> => ({
  call_index: t.callIndex,
  tool_name: t.toolName,
  input: t.input ?? null,
  output: t.output ?? null,
  success: t.success,
  duration_ms: t.durationMs,
  error: t.error,
});

/** A step as the API shows it; `checks`: its stored `expect` verdict, if any (db.writer.getChecks). */
export function stepJson(s: SessionLog, withContent: boolean, checks: StoredCheckResult | null = null): z.infer<typeof ZStep> {
  return {
    session_id: s.sessionId,
    execution_id: s.executionId,
    step_index: s.stepIndex,
    step_id: s.stepId,
    status: s.status,
    success: s.success,
    score: s.score,
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
    duration_ms: s.durationMs,
    error: s.error,
    timestamp: s.timestamp.toISOString(),
    tool_calls: s.toolCalls.map(toolCallJson),
    attempts: s.attempts.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      error: a.error,
      error_kind: a.errorKind,
      started_at: iso(a.startedAt),
      finished_at: iso(a.finishedAt),
      duration_ms: a.durationMs,
      model: a.model,
      input_tokens: a.inputTokens,
      output_tokens: a.outputTokens,
      cached_input_tokens: a.cachedInputTokens,
    })),
    checks,
    ...(withContent ? { content: s.content } : {}),
  };
}

/**
 * The token and cost columns of a consolidated session, as every API view of its metrics names them,
 * with why the cost is null (`gaps`: what its document stored; none for a known cost or an older document).
 */
export const usageMetricsJson = (
  c: Pick<ConsolidatedSessionLog, "totalInputTokens" | "totalOutputTokens" | "costUsd">,
  gaps: readonly CostGap[],
) => ({
  total_input_tokens: c.totalInputTokens,
  total_output_tokens: c.totalOutputTokens,
  cost_usd: c.costUsd,
  cost_unknown: gaps.length ? [...gaps] : null,
  cost_unknown_reason: costUnknownReason(gaps),
});

/** The cost gaps a parsed consolidated document stored: none when it is not one, or stored none. */
const parsedCostGaps = (document: unknown): CostGap[] => {
  const metadata = document && typeof document === "object" ? (document as { metadata?: unknown }).metadata : undefined;
  return metadata && typeof metadata === "object" ? (storedCostGaps(metadata) ?? []) : [];
};

/** reev's consolidated session with the content as a JSON value (reev double-encoded it as a string). */
export function consolidatedJson(c: ConsolidatedSessionLog): z.infer<typeof ZConsolidatedSession> {
  const content = JSON.parse(c.consolidatedContent) as unknown;
  return {
    consolidated_session_id: c.consolidatedSessionId,
    execution_id: c.executionId,
    content,
    original_session_ids: c.originalSessionIds,
    avg_score: c.avgScore,
    total_tools: c.totalTools,
    success_rate: c.successRate,
    execution_duration_ms: c.executionDurationMs,
    ...usageMetricsJson(c, parsedCostGaps(content)),
    created_at: c.timestamp.toISOString(),
  };
}
