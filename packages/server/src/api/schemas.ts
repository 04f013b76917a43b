import { z } from "@hono/zod-openapi";
import { EXECUTION_STATUSES, MAX_PAGE_LIMIT, STEP_STATUSES } from "@reev/db";
import { queryOf } from "./params.js";

/**
 * The API's shapes: reev's snake_case field names and status strings. The consolidation status
 * `timed_out` of the database is `timeout` here, as reev's API said (see toApiConsolidationStatus);
 * `skipped` is a rolled-back run's, which is never consolidated (shownConsolidation in @reev/db).
 */
const API_CONSOLIDATION_STATUSES = ["pending", "in_progress", "completed", "failed", "timeout", "skipped"] as const;
export type ApiConsolidationStatus = (typeof API_CONSOLIDATION_STATUSES)[number];
const ZApiConsolidationStatus = z.enum(API_CONSOLIDATION_STATUSES);

export const ZTime = z.string().openapi({ format: "date-time", example: "2026-12-03T06:50:00.000Z" });
const ZJson = z.unknown().openapi({ description: "Any JSON value." });

/** The query of a list read in keyset pages (executions, evaluations): how many, and after which page. */
export const ZPageQuery = queryOf({
  limit: z.coerce
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(1, "must be 1 or more")
    .max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}`)
    .default(50),
  cursor: z.string().optional().openapi({ description: "meta.nextCursor of the previous page." }),
});

/** The `meta` of such a page. */
export const ZPageMeta = z.object({
  limit: z.int().min(1).max(MAX_PAGE_LIMIT),
  nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});

/** One reason a run's cost is null, as consolidation stored it in the document's `metadata.cost_unknown`. */
const ZCostGap = z
  .discriminatedUnion("reason", [
    z.object({
      reason: z.literal("no_usage"),
      reported: z.enum(["none", "some", "no_attempts"]).optional().openapi({
        description:
          "none: no attempt reported an input or output count (an agent that reports no usage, such as a script without any); some: only some did; no_attempts: no step that ran is recorded (none ran, or an atomic run rolled them back), or one recorded no attempt. Absent for runs consolidated before it was kept.",
      }),
    }),
    z.object({ reason: z.literal("no_prices") }),
    z.object({ reason: z.literal("no_model"), attempts: z.int().openapi({ description: "Attempts that reported no model." }) }),
    z.object({
      reason: z.literal("unpriced"),
      models: z.array(z.string()).openapi({ description: "Models the price table does not have." }),
    }),
    z.object({
      reason: z.literal("uncached"),
      models: z
        .array(z.string())
        .openapi({ description: "Models priced apart for cached input, with an attempt that did not report its cached count." }),
    }),
  ])
  .openapi("CostGap");

/** The token and cost metrics every view of a consolidated run carries; null when unknown (never 0, never a guess). */
const USAGE_METRICS = {
  total_input_tokens: z
    .int()
    .nullable()
    .openapi({ description: "Summed over every attempt of the steps that ran; null unless each reported it." }),
  total_output_tokens: z.int().nullable(),
  cost_usd: z.number().nullable().openapi({
    description:
      "US dollars: those attempts' tokens priced by the server's price table (reev serve --prices) when the run was consolidated; null without one, or when one attempt's model is not in it.",
  }),
  cost_unknown: z.array(ZCostGap).nullable().openapi({
    description:
      "Why cost_usd is null, as stored with the run's consolidation (the document's metadata.cost_unknown). Null when the cost is known, and for runs consolidated before reasons were stored.",
  }),
  cost_unknown_reason: z.string().nullable().openapi({
    description:
      'cost_unknown in the words reev\'s views say under the metrics ("no price table was given: pass --prices FILE to price the tokens"); null with it.',
    example: "the agent reported no token usage",
  }),
};

const ZStepCounts = z
  .object({
    total: z.int().openapi({ description: "Committed steps." }),
    pending: z.int().openapi({ description: "Steps of an execution transaction still open: not yet visible to consolidation." }),
    success: z.int(),
    failed: z.int(),
    timed_out: z.int(),
    skipped: z.int(),
    unknown: z.int().openapi({ description: "Committed steps whose content did not say how they went." }),
  })
  .openapi("StepCounts");

export const ZExecutionSummary = z
  .object({
    execution_id: z.string(),
    flow_id: z.string(),
    agent: z.string(),
    prompt: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    started_at: ZTime,
    finished_at: ZTime.nullable(),
    duration_ms: z.int().nullable(),
    error: z.string().nullable(),
    consolidation_status: ZApiConsolidationStatus,
    stale: z.boolean().openapi({
      description:
        "Running, and no sign of life from its process for longer than the server's stale threshold ($REEV_STALE_AFTER_MS when reev serve started, else 2 minutes): that process may be gone. False once finished.",
    }),
    abandoned: z.boolean().openapi({
      description:
        "Running, and its process is provably gone: it will never finish on its own (`reev recover` finishes it as failed). False once finished.",
    }),
  })
  .openapi("ExecutionSummary");

export const ZExecution = ZExecutionSummary.extend({
  metadata: ZJson.nullable(),
  open_transaction: z.object({ transaction_id: z.string(), opened_at: ZTime }).nullable(),
  consolidation_error: z.string().nullable(),
  consolidation_updated_at: ZTime.nullable(),
  consolidated_session_id: z.string().nullable().openapi({ description: "The newest consolidated session of the execution." }),
  step_counts: ZStepCounts,
}).openapi("Execution");

export const ZExecutionList = z
  .object({
    data: z.array(ZExecutionSummary),
    meta: ZPageMeta,
  })
  .openapi("ExecutionList");

export const ZToolCall = z
  .object({
    call_index: z.int(),
    tool_name: z.string(),
    input: ZJson,
    output: ZJson,
    success: z.boolean().nullable(),
    duration_ms: z.int().nullable(),
    error: z.string().nullable(),
  })
  .openapi("ToolCall");

export const ZAttempt = z
  .object({
    attempt: z.int(),
    status: z.enum(STEP_STATUSES),
    error: z.string().nullable(),
    error_kind: z.string().nullable().openapi({ description: "Whose failure it was: agent or infrastructure." }),
    started_at: ZTime.nullable(),
    finished_at: ZTime.nullable(),
    duration_ms: z.int().nullable(),
    model: z.string().nullable(),
    input_tokens: z.int().nullable(),
    output_tokens: z.int().nullable(),
    cached_input_tokens: z.int().nullable(),
  })
  .openapi("Attempt");

export const ZCheckVerdict = z
  .object({
    passed: z.boolean(),
    checks: z.array(z.object({ check: z.string(), passed: z.boolean(), reason: z.string().nullable() })),
  })
  .openapi("CheckVerdict");

export const ZStep = z
  .object({
    session_id: z.string(),
    execution_id: z.string(),
    step_index: z.int(),
    step_id: z.string().nullable(),
    status: z.enum([...STEP_STATUSES, "unknown"]),
    success: z.boolean().nullable(),
    score: z.number().nullable(),
    started_at: ZTime.nullable(),
    finished_at: ZTime.nullable(),
    duration_ms: z.int().nullable(),
    error: z.string().nullable(),
    timestamp: ZTime.openapi({ description: "When the step became visible (committed)." }),
    tool_calls: z.array(ZToolCall),
    attempts: z
      .array(ZAttempt)
      .openapi({ description: "Every recorded attempt, in order (a retried step has several); [] when none were recorded." }),
    checks: ZCheckVerdict.nullable().openapi({ description: "The verdict of the step's `expect` checks; null when it has none recorded." }),
    content: z.string().optional().openapi({ description: "The step's content as stored; only with ?include=content." }),
  })
  .openapi("Step");

export const ZStepList = z.object({ data: z.array(ZStep) }).openapi("StepList");

export const ZConsolidatedSession = z
  .object({
    consolidated_session_id: z.string(),
    execution_id: z.string(),
    content: ZJson.openapi({ description: "The consolidated document as a JSON value (not a string)." }),
    original_session_ids: z.array(z.string()),
    avg_score: z.number().nullable(),
    total_tools: z.int().nullable(),
    success_rate: z.number().nullable(),
    execution_duration_ms: z.int().nullable(),
    ...USAGE_METRICS,
    created_at: ZTime.openapi({ description: "When the session was stored." }),
  })
  .openapi("ConsolidatedSession");

export const ZConsolidationStatusResponse = z
  .object({
    execution_id: z.string(),
    complete: z.boolean(),
    consolidated_session_id: z.string().nullable(),
    status: ZApiConsolidationStatus,
    message: z.string(),
    updated_at: ZTime.nullable(),
    metadata: z
      .object({
        avg_score: z.number().nullable(),
        total_tools: z.int().nullable(),
        success_rate: z.number().nullable(),
        execution_duration_ms: z.int().nullable(),
        ...USAGE_METRICS,
      })
      .nullable()
      .openapi({ description: "The newest consolidated session's metrics; only with ?include_metadata=true." }),
  })
  .openapi("ConsolidationStatus");

export const ZFlowResponse = z
  .object({
    execution_id: z.string(),
    consolidated_session_id: z
      .string()
      .nullable()
      .openapi({ description: "Null when the run has no consolidated session yet: the flow is drawn from its committed steps." }),
    diagram: z.string().openapi({ description: "Mermaid stateDiagram-v2 source." }),
    metadata: z.object({
      status: z.enum(EXECUTION_STATUSES),
      consolidation_status: ZApiConsolidationStatus,
      flow_id: z.string().nullable(),
      prompt: z.string().nullable(),
      total_steps: z.int(),
      successful_steps: z.int(),
      failed_steps: z.int(),
      skipped_steps: z.int(),
      success_rate: z.number().nullable(),
      avg_score: z.number().nullable(),
      total_tools: z.int(),
      execution_duration_ms: z.number().nullable(),
      ...USAGE_METRICS,
    }),
    tool_calls: z.array(ZToolCall.extend({ step_index: z.int() })),
  })
  .openapi("Flow");

export const ZHealth = z.object({ status: z.literal("ok") }).openapi("Health");
export const ZAccepted = z
  .object({ execution_id: z.string(), status: z.literal("running"), location: z.string() })
  .openapi("ExecutionAccepted");
