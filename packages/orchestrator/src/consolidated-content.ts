import { ZRecordedStepStatus } from "@reev/db";
import { z } from "zod";

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
});
export type ConsolidatedToolCall = z.infer<typeof ZConsolidatedToolCall>;

/** A step's status as recorded: @reev/db's step statuses, and `unknown` where the step carried none. */
export const ZConsolidatedStepStatus = ZRecordedStepStatus;
export type ConsolidatedStepStatus = z.infer<typeof ZConsolidatedStepStatus>;

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
  /** The step session content exactly as stored. */
  content: z.string(),
});
export type ConsolidatedStep = z.infer<typeof ZConsolidatedStep>;

export const ZConsolidatedMetrics = z.object({
  successful_steps: z.number().int().nonnegative(),
  failed_steps: z.number().int().nonnegative(),
  skipped_steps: z.number().int().nonnegative(),
  total_steps: z.number().int().nonnegative(),
  /** 0–100. */
  success_rate: z.number(),
  /** 0–1: mean of the recorded step scores; without any, mean of per-step success (1/0). */
  avg_score: z.number(),
  total_tools: z.number().int().nonnegative(),
  /** Last step's finish − first step's start; null when the steps carry no timings. */
  execution_duration_ms: z.number().nullable(),
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
