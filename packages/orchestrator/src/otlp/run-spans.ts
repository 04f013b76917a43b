import { type Attributes, type HrTime, type SpanContext, SpanKind, type SpanStatus, SpanStatusCode, TraceFlags } from "@opentelemetry/api";
import { hrTimeDuration, type InstrumentationScope, millisToHrTime } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
// The GenAI conventions are still "development": the package pins them under /incubating, and the
// exact version pinned in package.json keeps their names from moving under us.
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_EVALUATION_EXPLANATION,
  ATTR_GEN_AI_EVALUATION_NAME,
  ATTR_GEN_AI_EVALUATION_SCORE_LABEL,
  ATTR_GEN_AI_EVALUATION_SCORE_VALUE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_WORKFLOW_NAME,
  ATTR_SESSION_ID,
  EVENT_GEN_AI_EVALUATION_RESULT,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
} from "@opentelemetry/semantic-conventions/incubating";
import { type ConsolidatedSessionHead, type ExecutionSessionRecord, type SessionLog, shownConsolidation, type ToolCallLog } from "@reev/db";
import { sumKnown } from "../evaluation/summary-statistics.js";
import { spanIdOf, traceIdOf } from "./trace-ids.js";

/**
 * What one attempt of a step reported about its usage. The store records it per attempt once
 * step_attempts exists; a step read from a store without it has no `attempts`, and its span carries
 * no usage (unknown is never exported as 0).
 */
export type AttemptUsage = {
  model?: string | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  cachedInputTokens?: number | null;
};

/** A stored step as the export reads it: its row and tool calls, and its attempts where recorded. */
export type StoredRunStep = Omit<SessionLog, "attempts"> & { attempts?: readonly AttemptUsage[] };

/** Everything the export reads about one run: exactly what is stored, nothing from memory. */
export type StoredRun = {
  execution: ExecutionSessionRecord;
  /** Committed steps in step order. */
  steps: readonly StoredRunStep[];
  /** Its metrics go on the run's span; null when the run has not been consolidated. */
  newestConsolidation: ConsolidatedSessionHead | null;
};

export type RunSpansContext = { resource: Resource; scope: InstrumentationScope };

/** reev's own attributes, beside the GenAI ones: what the conventions have no name for. */
export const REEV_ATTRIBUTES = {
  executionId: "reev.execution.id",
  flowId: "reev.flow.id",
  status: "reev.status",
  consolidationStatus: "reev.consolidation.status",
  successRate: "reev.run.success_rate",
  avgScore: "reev.run.avg_score",
  totalTools: "reev.run.total_tools",
  stepIndex: "reev.step.index",
  stepId: "reev.step.id",
  stepSessionId: "reev.step.session_id",
  callIndex: "reev.tool.call_index",
} as const;

/** The names of the `gen_ai.evaluation.result` events on a step's span. */
export const EVALUATIONS = { score: "score", passed: "passed" } as const;

/** A status message is for people; a multi-megabyte error text would be refused by some backends. */
const MAX_STATUS_MESSAGE = 4096;

type Interval = { start: number; end: number };

/**
 * A step's span from its stored times: both when recorded; one of them and the duration; else
 * (a skipped step, a step whose content carried no times) the moment the step was committed, as a
 * zero-length span.
 */
function stepInterval(step: StoredRunStep): Interval {
  const started = step.startedAt?.getTime();
  const finished = step.finishedAt?.getTime();
  const duration = step.durationMs;
  const start = started ?? (finished !== undefined && duration !== null ? finished - duration : (finished ?? step.timestamp.getTime()));
  const end = finished ?? (duration !== null ? start + duration : start);
  return { start, end: Math.max(start, end) };
}

/**
 * The store keeps a tool call's duration but not when it began: its span starts with its step's
 * and lasts the recorded duration (zero when none was recorded). Laying calls end to end would look
 * tidier and be a guess.
 */
const toolInterval = (step: Interval, call: ToolCallLog): Interval => ({ start: step.start, end: step.start + (call.durationMs ?? 0) });

/** A failure: status ERROR with the stored error, and `error.type`, the stored status word that ended it. */
function failure(errorType: string, message: string | null): { status: SpanStatus; attributes: Attributes } {
  return {
    status: { code: SpanStatusCode.ERROR, ...(message ? { message: message.slice(0, MAX_STATUS_MESSAGE) } : {}) },
    attributes: { [ATTR_ERROR_TYPE]: errorType },
  };
}
const UNSET: { status: SpanStatus; attributes: Attributes } = { status: { code: SpanStatusCode.UNSET }, attributes: {} };

/** Only values that are there: an attribute set to null or undefined would be dropped anyway, or worse, sent as "null". */
function defined(attributes: Record<string, string | number | boolean | null | undefined>): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== null && v !== undefined)) as Attributes;
}

/** Usage summed over a step's attempts; a count is exported only when every attempt reported it. */
function usageAttributes(attempts: readonly AttemptUsage[] | undefined): Attributes {
  if (!attempts?.length) return {};
  const total = (pick: (a: AttemptUsage) => number | null | undefined) => sumKnown(attempts.map((a) => pick(a) ?? null)).total;
  return defined({
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: total((a) => a.inputTokens),
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: total((a) => a.outputTokens),
    [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: total((a) => a.cachedInputTokens),
    [ATTR_GEN_AI_RESPONSE_MODEL]: attempts.findLast((a) => a.model)?.model,
  });
}

/**
 * A step's checks and score as `gen_ai.evaluation.result` events, at the step's end: `passed` (the
 * step's recorded outcome: its agent answered and the required tools succeeded) and `score` (the
 * agent's or a judge's 0–1 score) when one was stored. A skipped step was never checked.
 */
function evaluationEvents(step: StoredRunStep, time: HrTime): TimedEvent[] {
  const events: TimedEvent[] = [];
  if (step.status !== "skipped" && step.status !== "unknown") {
    const passed = step.status === "success";
    events.push({
      name: EVENT_GEN_AI_EVALUATION_RESULT,
      time,
      attributes: defined({
        [ATTR_GEN_AI_EVALUATION_NAME]: EVALUATIONS.passed,
        [ATTR_GEN_AI_EVALUATION_SCORE_VALUE]: passed ? 1 : 0,
        [ATTR_GEN_AI_EVALUATION_SCORE_LABEL]: passed ? "pass" : "fail",
        [ATTR_GEN_AI_EVALUATION_EXPLANATION]: step.error?.slice(0, MAX_STATUS_MESSAGE),
      }),
    });
  }
  if (step.score !== null) {
    events.push({
      name: EVENT_GEN_AI_EVALUATION_RESULT,
      time,
      attributes: { [ATTR_GEN_AI_EVALUATION_NAME]: EVALUATIONS.score, [ATTR_GEN_AI_EVALUATION_SCORE_VALUE]: step.score },
    });
  }
  return events;
}

type SpanParts = {
  name: string;
  spanId: string;
  parent: SpanContext | undefined;
  interval: Interval;
  outcome: { status: SpanStatus; attributes: Attributes };
  attributes: Attributes;
  events?: TimedEvent[];
};

function toReadableSpan(traceId: string, context: RunSpansContext, parts: SpanParts): ReadableSpan {
  const spanContext: SpanContext = { traceId, spanId: parts.spanId, traceFlags: TraceFlags.SAMPLED };
  const startTime = millisToHrTime(parts.interval.start);
  const endTime = millisToHrTime(parts.interval.end);
  return {
    name: parts.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => spanContext,
    ...(parts.parent ? { parentSpanContext: parts.parent } : {}),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: parts.outcome.status,
    attributes: { ...parts.attributes, ...parts.outcome.attributes },
    links: [],
    events: parts.events ?? [],
    ended: true,
    resource: context.resource,
    instrumentationScope: context.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * One stored run as OpenTelemetry spans, following the GenAI semantic conventions: the run is
 * `invoke_workflow {flow}`, each step `invoke_agent {agent}` under it, each tool call
 * `execute_tool {tool}` under its step. Pure: ids and times come from the stored data alone, so the
 * same run always gives the same spans. The run's span comes first, then each step and its calls.
 */
export function runSpans(run: StoredRun, context: RunSpansContext): ReadableSpan[] {
  const { execution } = run;
  const executionId = execution.executionId;
  const traceId = traceIdOf(executionId);
  const session = { [ATTR_SESSION_ID]: executionId, [REEV_ATTRIBUTES.executionId]: executionId };
  const stepIntervals = run.steps.map(stepInterval);
  const runStart = execution.startedAt.getTime();
  // A finished run has its finish time; the end of its last step stands in only for a row without one.
  const runEnd = execution.finishedAt?.getTime() ?? Math.max(runStart, ...stepIntervals.map((i) => i.end));
  const runSpanId = spanIdOf(executionId);
  const runContext: SpanContext = { traceId, spanId: runSpanId, traceFlags: TraceFlags.SAMPLED };
  const metrics = run.newestConsolidation;
  const spans: ReadableSpan[] = [
    toReadableSpan(traceId, context, {
      name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW} ${execution.flowId}`,
      spanId: runSpanId,
      parent: undefined,
      interval: { start: runStart, end: Math.max(runStart, runEnd) },
      outcome: execution.status === "completed" || execution.status === "running" ? UNSET : failure(execution.status, execution.error),
      attributes: defined({
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
        [ATTR_GEN_AI_WORKFLOW_NAME]: execution.flowId,
        ...session,
        [REEV_ATTRIBUTES.flowId]: execution.flowId,
        [REEV_ATTRIBUTES.status]: execution.status,
        [REEV_ATTRIBUTES.consolidationStatus]: shownConsolidation(execution.status, execution.consolidation).status,
        [REEV_ATTRIBUTES.successRate]: metrics?.successRate,
        [REEV_ATTRIBUTES.avgScore]: metrics?.avgScore,
        [REEV_ATTRIBUTES.totalTools]: metrics?.totalTools,
      }),
    }),
  ];
  run.steps.forEach((step, i) => {
    const interval = stepIntervals[i] as Interval;
    const stepSpanId = spanIdOf(executionId, step.stepIndex);
    const failed = step.status === "failed" || step.status === "timed_out";
    spans.push(
      toReadableSpan(traceId, context, {
        name: `${GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT} ${execution.agent}`,
        spanId: stepSpanId,
        parent: runContext,
        interval,
        outcome: failed ? failure(step.status, step.error) : UNSET,
        attributes: defined({
          [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
          [ATTR_GEN_AI_AGENT_NAME]: execution.agent,
          ...session,
          [REEV_ATTRIBUTES.stepIndex]: step.stepIndex,
          [REEV_ATTRIBUTES.stepId]: step.stepId,
          [REEV_ATTRIBUTES.stepSessionId]: step.sessionId,
          [REEV_ATTRIBUTES.status]: step.status,
          ...usageAttributes(step.attempts),
        }),
        events: evaluationEvents(step, millisToHrTime(interval.end)),
      }),
    );
    const stepContext: SpanContext = { traceId, spanId: stepSpanId, traceFlags: TraceFlags.SAMPLED };
    for (const call of step.toolCalls) {
      spans.push(
        toReadableSpan(traceId, context, {
          name: `${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${call.toolName}`,
          spanId: spanIdOf(executionId, step.stepIndex, call.callIndex),
          parent: stepContext,
          interval: toolInterval(interval, call),
          outcome: call.success === false ? failure("failed", call.error) : UNSET,
          attributes: defined({
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
            [ATTR_GEN_AI_TOOL_NAME]: call.toolName,
            // The store has no provider-given call id: the call's own key in the store stands in.
            [ATTR_GEN_AI_TOOL_CALL_ID]: `${step.sessionId}_call_${call.callIndex}`,
            ...session,
            [REEV_ATTRIBUTES.callIndex]: call.callIndex,
          }),
        }),
      );
    }
  });
  return spans;
}
