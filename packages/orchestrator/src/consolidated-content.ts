import { ZRecordedStepStatus } from "@reev/db";
import { z } from "zod";
import { ZCostGap } from "./evaluation/cost-gaps.js";

/**
 * The consolidated session content: reev's JSON shape (consolidated_session_id, execution_id,
 * total_sessions, consolidated_at, steps[], metadata{}) plus what reev lacked: each step's structured
 * tool calls, timings, score and error, so a diagram never has to guess from free text.
 * Keys are snake_case as in reev; the content is produced by consolidation and read by the diagram.
 */
export const ZConsolidatedToolCall = z.object({
  tool_name: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  success: z.boolean().nullable(),
  duration_ms: z.number().nullable(),
  error: z.string().nullable(),
  /** The attempt that made the call; absent when the store does not know it. */
  attempt: z.number().int().positive().optional(),
});
export type ConsolidatedToolCall = z.infer<typeof ZConsolidatedToolCall>;

/** A step's status as recorded: @reev/db's step statuses, and `unknown` where the step carried none. */
export const ZConsolidatedStepStatus = ZRecordedStepStatus;
export type ConsolidatedStepStatus = z.infer<typeof ZConsolidatedStepStatus>;

/** Whose failure an error is: the agent's, or the infrastructure's (network, HTTP 5xx, rate limits). */
export const ZConsolidatedErrorKind = z.enum(["agent", "infrastructure"]);

/** One attempt of a step, as recorded. */
export const ZConsolidatedAttempt = z.object({
  attempt: z.number().int().positive(),
  status: ZConsolidatedStepStatus,
  error: z.string().nullable(),
  error_kind: ZConsolidatedErrorKind.nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  model: z.string().nullable(),
  input_tokens: z.number().int().nonnegative().nullable(),
  output_tokens: z.number().int().nonnegative().nullable(),
  cached_input_tokens: z.number().int().nonnegative().nullable(),
});
export type ConsolidatedAttempt = z.infer<typeof ZConsolidatedAttempt>;

export const ZConsolidatedStep = z.object({
  step_index: z.number().int().nonnegative(),
  session_id: z.string(),
  step_id: z.string().nullable(),
  status: ZConsolidatedStepStatus,
  success: z.boolean(),
  score: z.number().nullable(),
  tool_count: z.number().int().nonnegative(),
  /** When the step row was committed (ISO 8601). */
  timestamp: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  error: z.string().nullable(),
  tool_calls: z.array(ZConsolidatedToolCall),
  /**
   * How many times the agent was asked (0 for a skipped step). Absent from documents consolidated
   * before attempts were recorded, and views show "—" then rather than guess 1.
   */
  attempts: z.number().int().nonnegative().optional(),
  /** Every recorded attempt, in order (absent with `attempts`). */
  attempt_log: z.array(ZConsolidatedAttempt).optional(),
  /** Whose failure `error` is; absent or null when not recorded. */
  error_kind: ZConsolidatedErrorKind.nullable().optional(),
  /** Summed over the step's attempts; null when one did not report it, absent without recorded attempts. */
  input_tokens: z.number().int().nonnegative().nullable().optional(),
  output_tokens: z.number().int().nonnegative().nullable().optional(),
  /** The step session content exactly as stored. */
  content: z.string(),
});
export type ConsolidatedStep = z.infer<typeof ZConsolidatedStep>;

export const ZConsolidatedMetrics = z.object({
  successful_steps: z.number().int().nonnegative(),
  failed_steps: z.number().int().nonnegative(),
  skipped_steps: z.number().int().nonnegative(),
  total_steps: z.number().int().nonnegative(),
  /** Of the failed steps, those whose error was the infrastructure's, not the agent's. Absent from older documents. */
  infrastructure_errors: z.number().int().nonnegative().optional(),
  /** 0–100. */
  /** Null when no step is stored (documents before this stored 0 for none). */
  success_rate: z.number().nullable(),
  /**
   * 0–1: mean of the recorded step scores; null when no step has one. (Documents written before this
   * fell back to the success rate; their number stays as stored.)
   */
  avg_score: z.number().nullable(),
  /** Every recorded tool call, failed attempts' included. */
  total_tools: z.number().int().nonnegative(),
  /** The steps' time: last step's finish − first step's start; null when the steps carry no timings. */
  execution_duration_ms: z.number().nullable(),
  /** Summed over every attempt of the steps that ran; null unless each reported it. Absent from older documents. */
  total_input_tokens: z.number().int().nonnegative().nullable().optional(),
  total_output_tokens: z.number().int().nonnegative().nullable().optional(),
  /**
   * US dollars: the same attempts' tokens priced by the price table the run was consolidated with
   * (--prices); null without one, or when one attempt's model or count cannot be priced. Absent from older documents.
   */
  cost_usd: z.number().nonnegative().nullable().optional(),
  /**
   * Why `cost_usd` is null, in the words' terms (CostGap): present only then, and absent from documents
   * stored before it was kept. One this reader does not know is dropped, never the document's fault.
   */
  cost_unknown: z.array(ZCostGap).min(1).optional().catch(undefined),
});
export type ConsolidatedMetrics = z.infer<typeof ZConsolidatedMetrics>;

export const ZConsolidatedContent = z.object({
  consolidated_session_id: z.string(),
  execution_id: z.string(),
  flow_id: z.string().nullable(),
  prompt: z.string().nullable(),
  total_sessions: z.number().int().nonnegative(),
  consolidated_at: z.string(),
  steps: z.array(ZConsolidatedStep),
  metadata: ZConsolidatedMetrics,
});
export type ConsolidatedContent = z.infer<typeof ZConsolidatedContent>;

/** Failed steps that ran out of their time limit, from the steps' stored statuses: counted in `failed_steps`, and worth saying apart. */
export const timedOutSteps = (content: ConsolidatedContent): number => content.steps.filter((s) => s.status === "timed_out").length;
