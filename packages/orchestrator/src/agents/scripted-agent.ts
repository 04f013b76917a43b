import { performance } from "node:perf_hooks";
import { abortableSleep, untilAborted } from "../clock.js";
import { OrchestratorError } from "../errors.js";
import type { TokenUsage } from "../evaluation/token-usage.js";
import type { FlowPlan, FlowStep, ScriptedAttempt, ScriptedToolCall } from "../flow-plan.js";
import type { Agent, AgentResult, StepContext, ToolCallRecord } from "./agent.js";

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export type ScriptedAgentOptions = {
  /** Replaces the real timer (tests); must reject with `signal.reason` when the signal aborts. */
  sleep?: Sleep;
  /** Milliseconds on the clock `sleep` runs on (default: performance.now); tool calls are timed on it. */
  now?: () => number;
  /**
   * Which repetition this agent plays (1-based, `reev eval --repeat`): a step's `scriptByRun[run]`
   * replaces its `script` in that run. One agent per run, so concurrent runs never share the number.
   */
  run?: number;
};

/**
 * The steps a scripted run could only invent: without a script, the agent has nothing to replay.
 * `runs` is how many repetitions will play the flow (`reev eval --repeat`; 1 for `reev run`), since
 * run n replays `scriptByRun["n"]` when it is there. `run` is the first of them left without a script:
 * null when the step has none for any run. Flow runs and evaluations with the scripted agent check
 * this before anything is opened (the CLI exits 2).
 */
export function unscriptedSteps(plan: FlowPlan, runs = 1): { index: number; stepId: string; run: number | null }[] {
  return plan.steps.flatMap((step, index) => {
    // Only the runs' own entries are looked at, never every one of up to 100,000 runs.
    const entries = Object.entries(step.scriptByRun ?? {})
      .map(([n, script]) => ({ n: Number(n), scripted: script.length > 0 }))
      .filter(({ n }) => n <= runs);
    let run: number | undefined;
    let scriptedRuns: number;
    if (step.script?.length) {
      // Every run replays the script, except those whose own entry is empty.
      const empty = entries.filter((e) => !e.scripted).map((e) => e.n);
      run = empty.length ? empty.reduce((a, b) => Math.min(a, b)) : undefined;
      scriptedRuns = runs - empty.length;
    } else {
      // Only the runs with an entry of their own have anything to replay: the first run without one.
      const scripted = new Set(entries.filter((e) => e.scripted).map((e) => e.n));
      run = 1;
      while (scripted.has(run)) run += 1;
      if (run > runs) run = undefined;
      scriptedRuns = scripted.size;
    }
    return run === undefined ? [] : [{ index, stepId: step.stepId, run: scriptedRuns ? run : null }];
  });
}

/** Why a flow cannot be run by the scripted agent: `path` is the field to fix (`steps[1].script`). */
export type UnscriptedProblem = { message: string; path: string; run: number | null };

/**
 * The one check every way of starting a scripted run makes (reev run, reev eval, the API's POST
 * /executions) before anything is written, so none of them records a `success` step that replayed
 * nothing. `source` names the flow in the message (a file, "the request body"); `agent` is how the
 * caller chose the scripted agent (`--agent scripted`), so the message speaks the caller's words.
 */
export function unscriptedProblem(
  plan: FlowPlan,
  { source, agent, runs = 1 }: { source: string; agent: string; runs?: number },
): UnscriptedProblem | undefined {
  const [first, ...more] = unscriptedSteps(plan, runs);
  if (!first) return undefined;
  const others = more.length ? ` (and ${more.map((s) => `"${s.stepId}"`).join(", ")})` : "";
  // A step scripted for some runs only (scriptByRun) is named with the first run it leaves empty.
  const gap = first.run === null ? "" : ` for run ${first.run}`;
  return {
    message: `Step "${first.stepId}" (steps[${first.index}])${others} of ${source} has no script${gap}, and ${agent} can only replay what a script says; nothing was run.`,
    path: `steps[${first.index}].script`,
    run: first.run,
  };
}

/**
 * Replays each step's `script` deterministically: attempt n plays `script[n-1]` (the last entry repeats),
 * so retries, failures, timeouts and slow steps can be demonstrated and tested without a model.
 *
 * Durations are played, not declared: each scripted tool call takes its `durationMs` and is timed as
 * it runs, and the attempt then waits what is left of its `delayMs`. A tool call can therefore never
 * look longer than the step that made it.
 *
 * What an attempt does not state falls back to the default success: `ok: <stepId>` and one successful
 * call per required tool. That is for programs and tests that drive the agent directly; a flow run
 * refuses steps without a script (see unscriptedSteps), so a user never sees invented calls.
 */
export class ScriptedAgent implements Agent {
  readonly name = "scripted";
  readonly #sleep: Sleep;
  readonly #now: () => number;
  readonly #run: number;

  constructor(options: ScriptedAgentOptions = {}) {
    this.#sleep = options.sleep ?? abortableSleep;
    this.#now = options.now ?? (() => performance.now());
    this.#run = options.run ?? 1;
  }

  async run(step: FlowStep, context: StepContext, signal: AbortSignal): Promise<AgentResult> {
    signal.throwIfAborted();
    const started = this.#now();
    const script = step.scriptByRun?.[String(this.#run)] ?? step.script ?? [];
    const attempt = pickAttempt(script, context.attempt);
    if (attempt?.hang) {
      if (attempt.delayMs) await this.#sleep(attempt.delayMs, signal);
      await untilAborted(signal);
    }
    const toolCalls: ToolCallRecord[] = [];
    for (const call of attempt?.toolCalls ?? []) toolCalls.push(await this.#play(call, signal));
    const rest = (attempt?.delayMs ?? 0) - (this.#now() - started);
    if (rest > 0) await this.#sleep(rest, signal);
    const usage = attempt?.usage === undefined ? undefined : toTokenUsage(attempt.usage);
    if (attempt?.fail !== undefined) {
      throw new OrchestratorError("AGENT_FAILED", attempt.fail, { spent: { toolCalls, usage: usage ?? null } });
    }
    return {
      response: attempt?.response ?? `ok: ${step.stepId}`,
      toolCalls: attempt?.toolCalls ? toolCalls : step.requiredTools.map(defaultToolCall),
      ...(attempt?.score === undefined ? {} : { score: attempt.score }),
      ...(usage === undefined ? {} : { usage }),
    };
  }

  /** One scripted call, taking its time; its duration is what the clock measured, in whole milliseconds. */
  async #play(call: ScriptedToolCall, signal: AbortSignal): Promise<ToolCallRecord> {
    const started = this.#now();
    if (call.durationMs > 0) await this.#sleep(call.durationMs, signal);
    // Rounded down: a call measured on this clock never outlasts the step timed around it.
    return toToolCallRecord(call, Math.max(0, Math.floor(this.#now() - started)));
  }
}

/** `attempt` is 1-based; attempts past the end of the script replay its last entry. */
export function pickAttempt(script: readonly ScriptedAttempt[], attempt: number): ScriptedAttempt | undefined {
  if (script.length === 0) return undefined;
  return script[Math.min(Math.max(attempt, 1), script.length) - 1];
}

function toToolCallRecord(call: ScriptedToolCall, durationMs: number): ToolCallRecord {
  return {
    toolName: call.toolName,
    input: call.input ?? {},
    output: call.output ?? null,
    success: call.success,
    durationMs,
    ...(call.error === undefined ? {} : { error: call.error }),
  };
}

/** What a script leaves out of its usage is unknown: null, never 0. */
function toTokenUsage(usage: NonNullable<ScriptedAttempt["usage"]>): TokenUsage {
  return {
    model: usage.model ?? null,
    inputTokens: usage.inputTokens ?? null,
    outputTokens: usage.outputTokens ?? null,
    cachedInputTokens: usage.cachedInputTokens ?? null,
  };
}

function defaultToolCall(toolName: string): ToolCallRecord {
  return { toolName, input: {}, output: { ok: true }, success: true, durationMs: 0 };
}
