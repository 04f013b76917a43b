import { abortableSleep, untilAborted } from "../clock.js";
import { OrchestratorError } from "../errors.js";
import type { FlowStep, ScriptedAttempt, ScriptedToolCall } from "../flow-plan.js";
import type { Agent, AgentResult, StepContext, ToolCallRecord } from "./agent.js";

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export type ScriptedAgentOptions = {
  /** Replaces the real timer (tests); must reject with `signal.reason` when the signal aborts. */
  sleep?: Sleep;
  /**
   * Which repetition this agent plays (1-based, `reev eval --repeat`): a step's `scriptByRun[run]`
   * replaces its `script` in that run. One agent per run, so concurrent runs never share the number.
   */
  run?: number;
};

/**
 * Replays each step's `script` deterministically: attempt n plays `script[n-1]` (the last entry repeats),
 * so retries, failures, timeouts and slow steps can be demonstrated and tested without a model.
 * What an attempt does not state falls back to the default success: `ok: <stepId>` and one successful
 * call per required tool.
 */
export class ScriptedAgent implements Agent {
  readonly name = "scripted";
  readonly #sleep: Sleep;
  readonly #run: number;

  constructor(options: ScriptedAgentOptions = {}) {
    this.#sleep = options.sleep ?? abortableSleep;
    this.#run = options.run ?? 1;
  }

  async run(step: FlowStep, context: StepContext, signal: AbortSignal): Promise<AgentResult> {
    signal.throwIfAborted();
    const script = step.scriptByRun?.[String(this.#run)] ?? step.script ?? [];
    const attempt = pickAttempt(script, context.attempt);
    if (attempt?.delayMs) await this.#sleep(attempt.delayMs, signal);
    if (attempt?.hang) await untilAborted(signal);
    if (attempt?.fail !== undefined) throw new OrchestratorError("AGENT_FAILED", attempt.fail);
    return {
      response: attempt?.response ?? `ok: ${step.stepId}`,
      toolCalls: attempt?.toolCalls?.map(toToolCallRecord) ?? step.requiredTools.map(defaultToolCall),
      ...(attempt?.score === undefined ? {} : { score: attempt.score }),
    };
  }
}

/** `attempt` is 1-based; attempts past the end of the script replay its last entry. */
export function pickAttempt(script: readonly ScriptedAttempt[], attempt: number): ScriptedAttempt | undefined {
  if (script.length === 0) return undefined;
  return script[Math.min(Math.max(attempt, 1), script.length) - 1];
}

function toToolCallRecord(call: ScriptedToolCall): ToolCallRecord {
  return {
    toolName: call.toolName,
    input: call.input ?? {},
    output: call.output ?? null,
    success: call.success,
    durationMs: call.durationMs,
    ...(call.error === undefined ? {} : { error: call.error }),
  };
}

function defaultToolCall(toolName: string): ToolCallRecord {
  return { toolName, input: {}, output: { ok: true }, success: true, durationMs: 0 };
}
