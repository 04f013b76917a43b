// The JSON the read commands print with --json. Field names are an interface scripts rely on (the
// README lists them), so each is mapped here by name instead of passing @reev/db's records through:
// a rename inside the database layer must not rename a field in anyone's script. Times are ISO 8601
// strings, durations whole milliseconds, and what was not measured is null.
import {
  type AbandonedEvaluation,
  type AbandonedExecution,
  type EvaluationRunRecord,
  type ExecutionSessionRecord,
  type SessionLog,
  shownConsolidation,
} from "@reev/db";
import { type ConsolidationStatusReport, costUnknownReason, plannedStepCount, storedSummary } from "@reev/orchestrator";
import { livenessOf } from "./liveness.js";

const iso = (date: Date | null) => date?.toISOString() ?? null;
/** The process that holds a running execution or evaluation, or null for rows recorded without one. */
const ownerJson = (owner: { host: string; pid: number; startedAt: Date | null } | null) =>
  owner ? { host: owner.host, pid: owner.pid, startedAt: iso(owner.startedAt) } : null;

/** One execution, as `reev list --json` prints each and `show`/`status --json` print theirs. */
export function executionJson(e: ExecutionSessionRecord) {
  return {
    executionId: e.executionId,
    flowId: e.flowId,
    agent: e.agent,
    prompt: e.prompt,
    status: e.status,
    error: e.error,
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
    durationMs: e.durationMs,
    openTransaction: e.openTransaction
      ? { transactionId: e.openTransaction.transactionId, openedAt: iso(e.openTransaction.openedAt) }
      : null,
    // `skipped`, with why, for a rolled-back run never consolidated: as `reev run` said (shownConsolidation).
    consolidation: { ...shownConsolidation(e.status, e.consolidation), updatedAt: iso(e.consolidation.updatedAt) },
    owner: ownerJson(e.owner),
    heartbeatAt: iso(e.heartbeatAt),
    // stale: a running execution's heartbeat is older than $REEV_STALE_AFTER_MS; abandoned: its owner
    // is provably gone, and reev recover finishes it.
    ...livenessOf(e),
  };
}

/** An execution with its consolidation in full: the newest consolidated session and its metrics. */
export function executionWithConsolidationJson(e: ExecutionSessionRecord, report: ConsolidationStatusReport) {
  const m = report.metadata;
  return {
    ...executionJson(e),
    consolidation: {
      status: report.status,
      error: report.error,
      updatedAt: iso(report.updatedAt),
      consolidatedSessionId: report.consolidatedSessionId,
      metrics: m
        ? {
            successRate: m.successRate ?? null,
            avgScore: m.avgScore ?? null,
            totalTools: m.totalTools ?? null,
            executionDurationMs: m.executionDurationMs ?? null,
            totalInputTokens: m.totalInputTokens ?? null,
            totalOutputTokens: m.totalOutputTokens ?? null,
            costUsd: m.costUsd ?? null,
            // Why costUsd is null, as the consolidation stored it: the reasons (`{ reason, … }`) and the
            // words the text views say. Null when the cost is known, and for runs consolidated before
            // reasons were stored (nothing to tell then).
            costUnknown: report.costGaps.length ? report.costGaps : null,
            costUnknownReason: costUnknownReason(report.costGaps),
          }
        : null,
    },
    // A run cut short (reev recover finished it) has metrics of its recorded steps only: with these a
    // script sees that 6 of 12 planned steps have no record, as the text's "Steps" line says.
    // recordedSteps: the steps its newest consolidated session holds (null without one); plannedSteps:
    // its plan's (null when it recorded none).
    recordedSteps: report.recordedSteps,
    plannedSteps: plannedStepCount(e.metadata) ?? null,
  };
}

/** A committed step, as `reev show --json` prints it. */
export function stepJson(s: SessionLog) {
  return {
    stepIndex: s.stepIndex,
    stepId: s.stepId,
    status: s.status,
    score: s.score,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    durationMs: s.durationMs,
    error: s.error,
    errorKind: s.errorKind,
    committedAt: s.timestamp,
    attempts: s.attempts,
    toolCalls: s.toolCalls.map((t) => ({
      attempt: t.attempt,
      toolName: t.toolName,
      success: t.success,
      durationMs: t.durationMs,
      error: t.error,
      input: t.input,
      output: t.output,
    })),
  };
}

/**
 * One evaluation, as `reev evaluations --json` prints each: runs, passes and flows are its stored
 * report's, null while it runs or when it ended without one (its process died; see `error`).
 */
export function evaluationJson(e: EvaluationRunRecord) {
  const report = storedSummary(e);
  return {
    evaluationId: e.id,
    name: e.name,
    agent: e.agent,
    model: e.model,
    status: e.status,
    error: e.error,
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
    runs: report?.runs ?? null,
    passes: report?.passes ?? null,
    flows: report?.flows.length ?? null,
    // As an execution's: a killed `reev eval` leaves its evaluation running until reev recover ends it.
    ...livenessOf(e),
  };
}

/** An abandoned evaluation, as `reev recover --json` prints it. */
export function abandonedEvaluationJson(a: AbandonedEvaluation) {
  const e = a.evaluation;
  return {
    evaluationId: e.id,
    name: e.name,
    owner: ownerJson(e.owner),
    heartbeatAt: iso(e.heartbeatAt),
    status: e.status,
    error: a.reason,
    executions: a.executions,
    runningExecutions: a.runningExecutions,
  };
}

/** An abandoned execution, as `reev recover --json` prints it, with what its consolidation did (or would do). */
export function abandonedJson(
  a: AbandonedExecution,
  consolidation: { status: string; consolidatedSessionId: string | null; error: string | null },
) {
  const e = a.execution;
  return {
    executionId: e.executionId,
    flowId: e.flowId,
    owner: ownerJson(e.owner),
    heartbeatAt: iso(e.heartbeatAt),
    status: e.status,
    error: a.reason,
    rolledBackSteps: a.pendingSteps,
    committedSteps: a.committedSteps,
    consolidation,
  };
}
