import { z } from "zod";
import { ZTokenUsage } from "../evaluation/token-usage.js";
import type { FlowStep } from "../flow-plan.js";

/** One tool call as the agent really made it: structured, never inferred from the model's text. */
export const ZToolCallRecord = z.object({
  toolName: z.string().min(1),
  input: z.unknown(),
  output: z.unknown(),
  success: z.boolean(),
  durationMs: z.number().nonnegative(),
  error: z.string().optional(),
});
export type ToolCallRecord = z.infer<typeof ZToolCallRecord>;

export const ZAgentResult = z.object({
  response: z.string(),
  toolCalls: z.array(ZToolCallRecord),
  /** 0–1, when the agent (or a judge behind it) scores its own step. */
  score: z.number().min(0).max(1).optional(),
  /** What this attempt consumed, as the provider reported it; left out when nothing was reported. */
  usage: ZTokenUsage.optional(),
});
export type AgentResult = z.infer<typeof ZAgentResult>;

/** Tool calls made and tokens consumed by an attempt before it failed (carried by OrchestratorError). */
export const ZAttemptSpent = z.object({ toolCalls: z.array(ZToolCallRecord), usage: ZTokenUsage.nullable() });
export type AttemptSpent = z.infer<typeof ZAttemptSpent>;

/** What one earlier step produced, as later steps see it (ping-pong: each step builds on the last). */
export type PreviousStepResult = {
  stepIndex: number;
  stepId: string;
  status: "success" | "failed" | "timed_out" | "skipped";
  response: string | null;
  toolCalls: ToolCallRecord[];
  error: string | null;
};

/** Everything an agent is told about the step it runs. */
export type StepContext = {
  executionId: string;
  flowId: string;
  /** The flow's overall prompt. */
  flowPrompt: string;
  stepIndex: number;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** The step's prompt template, rendered with the previous results and the flow context. */
  prompt: string;
  /** The flow file's free-form context (wallet, balances, …). */
  context: Record<string, unknown>;
  previousResults: PreviousStepResult[];
};

/**
 * The agent contract. `signal` aborts when the step times out or the run is cancelled: an agent must
 * stop its work (and its HTTP calls) and reject promptly when it fires.
 */
export type Agent = {
  readonly name: string;
  run(step: FlowStep, context: StepContext, signal: AbortSignal): Promise<AgentResult>;
};
