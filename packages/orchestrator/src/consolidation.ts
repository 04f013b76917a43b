import {
  type ConsolidatedDocumentFrame,
  type ConsolidationMetadata,
  DatabaseError,
  type DatabaseWriter,
  type ExecutionSessionRecord,
  type SessionLog,
  type ShownConsolidationStatus,
  type StepSummary,
  shownConsolidation,
  sortedKeys,
} from "@reev/db";
import type { ConsolidatedContent, ConsolidatedMetrics, ConsolidatedStep } from "./consolidated-content.js";
import { errorMessage, OrchestratorError } from "./errors.js";
import { type CostGap, costGaps, storedCostGaps } from "./evaluation/cost-gaps.js";
import { formatUsd } from "./evaluation/format-usage.js";
import { parseInput } from "./evaluation/parse-input.js";
import { type PriceTable, runCostUsd, ZPriceTable } from "./evaluation/price-table.js";
import { sumKnown } from "./evaluation/summary-statistics.js";
import { attemptedUsage } from "./evaluation/token-usage.js";
import { fitId } from "./ids.js";

export const DEFAULT_CONSOLIDATION_TIMEOUT_MS = 60_000;

/** The mean of the recorded step scores; null when no step has one (never the success rate in disguise). */
const meanScore = (scores: readonly number[]): number | null => (scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null);

/** A step's usage: each count summed over its recorded attempts; null when no attempt was recorded or one lacks it. */
function stepUsage(s: Pick<StepSummary, "attempts">): { input: number | null; output: number | null } {
  if (!s.attempts.length) return { input: null, output: null };
  return {
    input: sumKnown(s.attempts.map((a) => a.inputTokens)).total,
    output: sumKnown(s.attempts.map((a) => a.outputTokens)).total,
  };
}

type Attempt = StepSummary["attempts"][number];

/** Over every attempt of the steps that were attempted; null when none was, or one count is unknown (attemptedUsage). */
const runTokens = (attempts: readonly Attempt[] | null, count: (attempt: Attempt) => number | null): number | null =>
  attempts === null ? null : sumKnown(attempts.map(count)).total;

/**
 * The run's metrics, from the stored steps only (the README's "Metrics" section says the same):
 * - `avg_score`: the mean of the step scores that were recorded; null when no step has one;
 * - `success_rate`: successful steps / all steps × 100; skipped, failed, timed-out and steps of
 *   unknown outcome are all "not successful"; null when no step is stored (a rate of nothing is
 *   unknown: a run killed before its first step did not fail 100 % of its steps);
 * - `infrastructure_errors`: failed or timed-out steps whose error was not the agent's (network,
 *   HTTP 5xx, rate limits); they are counted in `failed_steps` too;
 * - `total_tools`: every recorded tool call, failed attempts' calls included (reev counted tool
 *   names in free text);
 * - `execution_duration_ms` (the steps' time): latest finish − earliest start over the steps that
 *   carry timings;
 * - `total_input_tokens` / `total_output_tokens`: summed over every attempt of every step that ran;
 *   null unless every such attempt reported the count;
 * - `cost_usd`: those same attempts priced by `prices` with the evaluations' rule (runCostUsd); null
 *   without a price table, or when one attempt's model is not in it or a count it needs is unknown;
 * - `cost_unknown`: when `cost_usd` is null, why (costGaps): the price table is not stored, so no
 *   later view could tell.
 */
export function computeMetrics(sessions: readonly SessionLog[], prices: PriceTable | null = null): ConsolidatedMetrics {
  return summaryMetrics(sessions.map(stepSummary), prices);
}

/** A stored step as the metrics see it: what the database summarises for consolidation (StepSummary). */
const stepSummary = (s: SessionLog): StepSummary => ({
  sessionId: s.sessionId,
  stepIndex: s.stepIndex,
  status: s.status,
  score: s.score,
  startedAt: s.startedAt,
  finishedAt: s.finishedAt,
  errorKind: s.errorKind,
  toolCount: s.toolCalls.length,
  attempts: s.attempts,
});

/** computeMetrics from the steps' summaries, as consolidation reads them. */
export function summaryMetrics(sessions: readonly StepSummary[], prices: PriceTable | null = null): ConsolidatedMetrics {
  const total = sessions.length;
  const successful = sessions.filter((s) => s.status === "success").length;
  const skipped = sessions.filter((s) => s.status === "skipped").length;
  const starts = sessions.flatMap((s) => (s.startedAt ? [s.startedAt.getTime()] : []));
  const finishes = sessions.flatMap((s) => (s.finishedAt ? [s.finishedAt.getTime()] : []));
  const scores = sessions.flatMap((s) => (s.score === null ? [] : [s.score]));
  const attempts = attemptedUsage(sessions, (s) => s.attempts);
  const costUnknown = costGaps(attempts, prices);
  return {
    successful_steps: successful,
    failed_steps: total - successful - skipped,
    skipped_steps: skipped,
    total_steps: total,
    infrastructure_errors: sessions.filter((s) => s.status !== "success" && s.errorKind === "infrastructure").length,
    success_rate: total ? (successful / total) * 100 : null,
    avg_score: meanScore(scores),
    total_tools: sessions.reduce((n, s) => n + s.toolCount, 0),
    execution_duration_ms: starts.length && finishes.length ? Math.max(0, Math.max(...finishes) - Math.min(...starts)) : null,
    total_input_tokens: runTokens(attempts, (a) => a.inputTokens),
    total_output_tokens: runTokens(attempts, (a) => a.outputTokens),
    cost_usd: runCostUsd(attempts, prices),
    ...(costUnknown.length ? { cost_unknown: costUnknown } : {}),
  };
}

function toConsolidatedStep(s: SessionLog): ConsolidatedStep {
  return {
    step_index: s.stepIndex,
    session_id: s.sessionId,
    step_id: s.stepId,
    status: s.status,
    success: s.status === "success",
    score: s.score,
    tool_count: s.toolCalls.length,
    // The document is JSON: its dates are ISO strings, made here at its edge.
    timestamp: s.timestamp.toISOString(),
    started_at: s.startedAt?.toISOString() ?? null,
    finished_at: s.finishedAt?.toISOString() ?? null,
    duration_ms: s.durationMs,
    error: s.error,
    tool_calls: s.toolCalls.map((t) => ({
      tool_name: t.toolName,
      input: sortedKeys(t.input),
      output: sortedKeys(t.output),
      success: t.success,
      duration_ms: t.durationMs,
      error: t.error,
      // Only where the store knows it: documents of steps stored as text stay as they were.
      ...(t.attempt === null ? {} : { attempt: t.attempt }),
    })),
    ...attemptFields(s),
    content: s.content,
  };
}

/** A step's recorded attempts, in the document only when there are some: a view then shows "—", never a guessed 1. */
function attemptFields(
  s: SessionLog,
): Pick<ConsolidatedStep, "attempts" | "attempt_log" | "error_kind" | "input_tokens" | "output_tokens"> {
  if (!s.attempts.length) return s.errorKind === null ? {} : { error_kind: s.errorKind };
  const usage = stepUsage(s);
  return {
    attempts: s.attempts.length,
    attempt_log: s.attempts.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      error: a.error,
      error_kind: a.errorKind,
      started_at: a.startedAt?.toISOString() ?? null,
      finished_at: a.finishedAt?.toISOString() ?? null,
      duration_ms: a.durationMs,
      model: a.model,
      input_tokens: a.inputTokens,
      output_tokens: a.outputTokens,
      cached_input_tokens: a.cachedInputTokens,
    })),
    error_kind: s.errorKind,
    input_tokens: usage.input,
    output_tokens: usage.output,
  };
}

/** What the document says about the run besides its steps. */
type DocumentHead = {
  consolidatedSessionId: string;
  executionId: string;
  flowId: string | null;
  prompt: string | null;
  consolidatedAt: Date;
};

export type ConsolidationInput = DocumentHead & {
  sessions: readonly SessionLog[];
  /** What prices the run's tokens into `cost_usd`; without one (or null) the cost is null. */
  prices?: PriceTable | null;
};

/** The document's keys before `steps`, in its order. */
const headOf = (input: DocumentHead, totalSessions: number) => ({
  consolidated_session_id: input.consolidatedSessionId,
  execution_id: input.executionId,
  flow_id: input.flowId,
  prompt: input.prompt,
  total_sessions: totalSessions,
  consolidated_at: input.consolidatedAt.toISOString(),
});

/**
 * Pure: committed steps → consolidated content (reev's JSON shape) and the metadata row. Steps are
 * ordered by index here too, so the same stored steps give byte-identical content whatever order
 * they arrive in.
 */
export function buildConsolidation(input: ConsolidationInput): {
  content: string;
  document: ConsolidatedContent;
  metadata: ConsolidationMetadata;
} {
  const sessions = [...input.sessions].sort((a, b) => a.stepIndex - b.stepIndex);
  const metrics = computeMetrics(sessions, input.prices ?? null);
  const document: ConsolidatedContent = { ...headOf(input, sessions.length), steps: sessions.map(toConsolidatedStep), metadata: metrics };
  return {
    content: JSON.stringify(document),
    document,
    metadata: metadataOf(metrics),
  };
}

/**
 * buildConsolidation's document without its steps, for the database to fill with them as it stores it
 * (writer.consolidate): the steps' content and tool calls never pass through this process. The frame
 * is JSON.stringify's own output cut where the steps go (an object is written `{"key":value,…}`, keys
 * in order), and the metrics come from the steps' summaries, so the stored bytes are what
 * buildConsolidation gives for the same stored steps.
 */
export function consolidationFrame(input: DocumentHead & { steps: readonly StepSummary[]; prices: PriceTable | null }): {
  content: ConsolidatedDocumentFrame;
  metadata: ConsolidationMetadata;
  costGaps: CostGap[];
} {
  const metrics = summaryMetrics(input.steps, input.prices);
  const head = JSON.stringify(headOf(input, input.steps.length));
  return {
    content: { beforeSteps: `${head.slice(0, -1)},"steps":`, afterSteps: `,"metadata":${JSON.stringify(metrics)}}` },
    metadata: metadataOf(metrics),
    costGaps: metrics.cost_unknown ?? [],
  };
}

/** The consolidated_sessions row's metric columns, from the document's metrics. */
const metadataOf = (m: ConsolidatedMetrics): ConsolidationMetadata => ({
  avgScore: m.avg_score,
  totalTools: m.total_tools,
  successRate: m.success_rate,
  executionDurationMs: m.execution_duration_ms,
  totalInputTokens: m.total_input_tokens ?? null,
  totalOutputTokens: m.total_output_tokens ?? null,
  costUsd: m.cost_usd ?? null,
});

/** The metric columns of a stored consolidated session. */
export const sessionMetadata = (c: ConsolidationMetadata): ConsolidationMetadata => ({
  avgScore: c.avgScore,
  totalTools: c.totalTools,
  successRate: c.successRate,
  executionDurationMs: c.executionDurationMs,
  totalInputTokens: c.totalInputTokens ?? null,
  totalOutputTokens: c.totalOutputTokens ?? null,
  costUsd: c.costUsd ?? null,
});

/** reev's `{executionId}_consolidated_{ms}`, within the id length limit. */
export function defaultConsolidatedId(executionId: string, at: Date): string {
  return fitId(executionId, `_consolidated_${at.getTime()}`);
}

export type ConsolidateOptions = {
  /** Whole-consolidation deadline; nothing is stored after it has passed. Default 60 s. */
  timeoutMs?: number;
  /** Default `{executionId}_consolidated_{ms}` (reev's format). */
  consolidatedSessionId?: string;
  /** The clock: `consolidated_at`, the default id, and the deadline are read on it (default: the system clock). */
  now?: () => Date;
  /**
   * Prices the run's tokens into the metrics' `cost_usd`, from the attempts read under the
   * execution's lock (computeMetrics says how); without one the cost is null, never a guess.
   */
  prices?: PriceTable | null;
};

/** The stored document is not in it: it was assembled in the database, and `getConsolidatedSession` reads it. */
export type ConsolidationResult = {
  consolidatedSessionId: string;
  metadata: ConsolidationMetadata;
  /** Why `metadata.costUsd` is null, as the stored document says (empty when the cost is known). */
  costGaps: CostGap[];
};

/**
 * The cost gaps a stored consolidated document carries: empty for a known cost, and for a document
 * stored before they were kept (or not reev's JSON), whose reason is not known.
 */
export function documentCostGaps(content: string): CostGap[] {
  let metrics: unknown;
  try {
    metrics = (JSON.parse(content) as { metadata?: unknown }).metadata;
  } catch {
    return [];
  }
  return metrics && typeof metrics === "object" ? (storedCostGaps(metrics) ?? []) : [];
}

/**
 * Why a stored consolidated session's cost is unknown. A known cost has no gaps (costGaps), so its
 * document, up to 256 MiB, is read only when the cost is null.
 */
async function storedCostGapsOf(
  db: { writer: DatabaseWriter },
  session: { executionId: string; consolidatedSessionId: string; costUsd: number | null },
): Promise<CostGap[]> {
  if (session.costUsd !== null) return [];
  const content = await db.writer.getConsolidatedSession(session.consolidatedSessionId, session.executionId);
  return content === null ? [] : documentCostGaps(content);
}

/**
 * Consolidates an execution's committed steps into one stored session, and records the outcome as
 * the execution's consolidation status: `writer.consolidate` owns the transaction (lock, read the
 * committed steps, build, store, status) and the deadline; this passes it the pure builder and turns
 * its errors into the orchestrator's. Nothing is stored after the deadline (reev's spawned task
 * wrote late).
 */
export async function consolidateExecution(
  db: { writer: DatabaseWriter },
  executionId: string,
  options: ConsolidateOptions = {},
): Promise<ConsolidationResult> {
  // Checked before anything is written: a bad table is refused whole, naming the field, never half-used.
  const prices = options.prices == null ? null : parseInput(ZPriceTable, options.prices, "prices");
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONSOLIDATION_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  const deadline = new Date(now().getTime() + timeoutMs);
  const consolidatedSessionId = options.consolidatedSessionId ?? defaultConsolidatedId(executionId, now());
  let gaps: CostGap[] | undefined;
  try {
    const done = await db.writer.consolidate({
      executionId,
      consolidatedSessionId,
      deadline,
      now,
      build: ({ execution, steps, consolidatedAt }) => {
        // A run still going has nothing to show yet; a finished one that committed nothing (an atomic
        // run interrupted or abandoned) is consolidated as what it is: no steps.
        if (!steps.length && execution.status === "running")
          throw new OrchestratorError("CONSOLIDATION_FAILED", "No sessions found for consolidation");
        const frame = consolidationFrame({
          consolidatedSessionId,
          executionId,
          flowId: execution.flowId,
          prompt: execution.prompt,
          consolidatedAt,
          steps,
          prices,
        });
        gaps = frame.costGaps;
        return frame;
      },
    });
    // A retry under a stored id is answered from its metric columns, and from its document why its cost is unknown.
    const costGaps = done.created
      ? (gaps ?? [])
      : await storedCostGapsOf(db, { executionId, consolidatedSessionId, costUsd: done.metadata.costUsd ?? null });
    return { consolidatedSessionId, metadata: done.metadata, costGaps };
  } catch (error) {
    throw asOrchestratorError(error, { executionId, timeoutMs });
  }
}

/** The cost a consolidation without a price table left behind: the newest consolidation before it had one. */
export type DroppedCost = { consolidatedSessionId: string; costUsd: number };

/**
 * consolidateExecution for a run that may have been consolidated before (reev consolidate, the API's
 * consolidate route). A cost is priced by the table given, never carried over, so one consolidated
 * again without a table loses the cost the views showed: `droppedCost` names it, for a warning
 * (droppedCostWarning), rather than let it go silently. It stays in the older session.
 */
export async function consolidateAgain(
  db: { writer: DatabaseWriter },
  executionId: string,
  options: ConsolidateOptions = {},
): Promise<ConsolidationResult & { droppedCost: DroppedCost | null }> {
  // As the executor: a rolled-back run has no step to consolidate, and its views say "skipped".
  // Consolidating it anyway would store an empty document and turn that truthful word into "completed".
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) throw executionNotStored(executionId);
  if (execution.status === "rolled_back")
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `Execution "${executionId}" was rolled back: every step was undone, so there is nothing to consolidate. Its error says why it stopped.`,
      { path: "executionId" },
    );
  const previous = options.prices == null ? await db.writer.getNewestConsolidatedSession(executionId, { content: false }) : null;
  const done = await consolidateExecution(db, executionId, options);
  const dropped =
    previous?.costUsd != null && done.metadata.costUsd == null
      ? { consolidatedSessionId: previous.consolidatedSessionId, costUsd: previous.costUsd }
      : null;
  return { ...done, droppedCost: dropped };
}

/** The warning for a DroppedCost; `keep` says how to keep the cost where the consolidation was asked for. */
export const droppedCostWarning = (dropped: DroppedCost, keep: string): string =>
  `The run's cost of ${formatUsd(dropped.costUsd)} was dropped: it was consolidated again without a price table, so its newest consolidation has no cost (the previous one, ${dropped.consolidatedSessionId}, still holds it). ${keep}`;

/** The library's words for an unknown id; the CLI and the API add where they looked and near ids. */
const executionNotStored = (executionId: string, cause?: unknown): OrchestratorError =>
  new OrchestratorError("NOT_FOUND", `No execution "${executionId}" is stored in this database: check the id.`, { cause });

function asOrchestratorError(error: unknown, context: { executionId: string; timeoutMs: number }): OrchestratorError {
  if (OrchestratorError.is(error)) return error;
  if (DatabaseError.is(error, "NOT_FOUND") && error.field === "executionId") {
    return executionNotStored(context.executionId, error);
  }
  if (DatabaseError.is(error, "VALIDATION")) {
    return new OrchestratorError("INVALID_ARGUMENT", error.message, { cause: error, ...(error.field ? { path: error.field } : {}) });
  }
  if (DatabaseError.is(error, "TIMEOUT")) {
    return new OrchestratorError("CONSOLIDATION_TIMEOUT", `Consolidation timed out after ${context.timeoutMs}ms`, { cause: error });
  }
  return new OrchestratorError("CONSOLIDATION_FAILED", errorMessage(error), { cause: error });
}

export type ConsolidationStatusReport = {
  executionId: string;
  /** `skipped` for a rolled-back run never consolidated (shownConsolidation). */
  status: ShownConsolidationStatus;
  updatedAt: Date | null;
  error: string | null;
  /** The newest consolidated session, when status is `completed`. */
  consolidatedSessionId: string | null;
  metadata: ConsolidationMetadata | null;
  /** Why its cost is unknown, from its document (documentCostGaps); empty without one or when the cost is known. */
  costGaps: CostGap[];
  /** How many steps the newest consolidated session holds (its metrics count those); null unless status is `completed`. */
  recordedSteps: number | null;
};

/** Where an execution's consolidation stands: pending, in_progress, completed, failed, timed_out or skipped. */
export async function getConsolidationStatus(db: { writer: DatabaseWriter }, executionId: string): Promise<ConsolidationStatusReport> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) throw executionNotStored(executionId);
  return consolidationReport(db, execution);
}

/** getConsolidationStatus for an execution record already read. */
export async function consolidationReport(
  db: { writer: DatabaseWriter },
  execution: ExecutionSessionRecord,
): Promise<ConsolidationStatusReport> {
  const { executionId } = execution;
  const { updatedAt } = execution.consolidation;
  const { status, error } = shownConsolidation(execution.status, execution.consolidation);
  const latest = status === "completed" ? await db.writer.getNewestConsolidatedSession(executionId, { content: false }) : null;
  return {
    executionId,
    status,
    updatedAt,
    error,
    consolidatedSessionId: latest?.consolidatedSessionId ?? null,
    metadata: latest ? sessionMetadata(latest) : null,
    costGaps: latest ? await storedCostGapsOf(db, latest) : [],
    recordedSteps: latest ? latest.originalSessionIds.length : null,
  };
}
