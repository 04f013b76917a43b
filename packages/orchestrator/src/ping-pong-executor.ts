import { randomBytes } from "node:crypto";
import {
  type ConsolidationMetadata,
  type ConsolidationStatus,
  type DatabaseWriter,
  type ErrorKind,
  type FinalExecutionStatus,
  HEARTBEAT_INTERVAL_MS,
  type JsonValue,
  ROLLED_BACK_NOT_CONSOLIDATED,
  type StepInput,
  type StepStatus,
  toStorableText,
} from "@reev/db";
import {
  type Agent,
  type AgentResult,
  type AttemptSpent,
  type PreviousStepResult,
  type StepContext,
  type ToolCallRecord,
  ZAgentResult,
  ZAttemptSpent,
} from "./agents/agent.js";
import { type Clock, MAX_TIMER_MS, systemClock, untilAborted } from "./clock.js";
import { consolidateExecution, DEFAULT_CONSOLIDATION_TIMEOUT_MS } from "./consolidation.js";
import { errorMessage, OrchestratorError } from "./errors.js";
import type { CostGap } from "./evaluation/cost-gaps.js";
import { parseInput } from "./evaluation/parse-input.js";
import { type PriceTable, ZPriceTable } from "./evaluation/price-table.js";
import { type RecordedChecks, recordStoredChecks } from "./evaluation/record-checks.js";
import type { TokenUsage } from "./evaluation/token-usage.js";
import type { FlowPlan, FlowStep, RetryPolicy } from "./flow-plan.js";
import { Heartbeat } from "./heartbeat.js";
import { fitId } from "./ids.js";
import { renderPrompt } from "./prompt-template.js";
import { cancellationReason } from "./run-cancellation.js";

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

/** How a step ended: @reev/db's step statuses, the one list. */
export type StepOutcome = StepStatus;

/** One attempt of a step: the agent asked once. Stored in step_attempts, its tool calls in tool_calls. */
export type AttemptResult = {
  /** 1 for the first try. */
  attempt: number;
  status: Exclude<StepOutcome, "skipped">;
  error: string | null;
  /** Whose failure `error` is; null when the attempt succeeded or the run was cancelled. */
  errorKind: ErrorKind | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The calls this attempt made, failed attempts' included. */
  toolCalls: ToolCallRecord[];
  /** What the provider reported for this attempt; null when it reported nothing. */
  usage: TokenUsage | null;
};

/** One step as it happened; stored through `storeStep` (see toStepInput) and returned to the caller. */
export type StepResult = {
  stepIndex: number;
  stepId: string;
  status: StepOutcome;
  success: boolean;
  critical: boolean;
  /** How many times the agent was asked (0 for a skipped step). */
  attempts: number;
  prompt: string | null;
  /** From the first attempt's start to the last one's end, backoff waits included. */
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  response: string | null;
  /** The last attempt's tool calls: what later steps' templates see. Every attempt's are in `attemptLog`. */
  toolCalls: ToolCallRecord[];
  score: number | null;
  error: string | null;
  /** Whose failure `error` is (the last attempt's); null for a success or a skipped step. */
  errorKind: ErrorKind | null;
  attemptLog: AttemptResult[];
};

export type ExecutionResult = {
  executionId: string;
  flowId: string;
  /** `completed` only when every step succeeded. */
  status: FinalExecutionStatus;
  /** Steps that succeeded. */
  completedSteps: number;
  totalSteps: number;
  stepResults: StepResult[];
  consolidatedSessionId: string | null;
  /** `costGaps`: why `metadata.costUsd` is null (empty when it is known, or nothing was consolidated). */
  consolidation: {
    status: ConsolidationStatus | "skipped";
    error: string | null;
    metadata: ConsolidationMetadata | null;
    costGaps: CostGap[];
  };
  /** The verdicts of the plan's `expect` blocks, as recorded with the run (recordStoredChecks); null when it has none. */
  checks: RecordedChecks | null;
  durationMs: number;
  error: string | null;
};

export type ExecutionEvent =
  | { type: "execution-started"; executionId: string; flowId: string; totalSteps: number }
  | { type: "step-started"; executionId: string; stepIndex: number; stepId: string; attempt: number }
  | { type: "step-retrying"; executionId: string; stepIndex: number; stepId: string; attempt: number; delayMs: number; error: string }
  | { type: "step-finished"; executionId: string; step: StepResult }
  | { type: "execution-finished"; result: ExecutionResult };

export type ExecutorOptions = {
  /** Backoff waits and timestamps; timeouts always use real timers. */
  clock?: Clock;
  /** For backoff jitter; [0, 1). */
  random?: () => number;
  defaultStepTimeoutMs?: number;
  consolidationTimeoutMs?: number;
  /** Prices each run's tokens into its consolidated `cost_usd` (see ConsolidateOptions.prices); none: null cost. */
  prices?: PriceTable | null;
  /** How often a running execution's heartbeat is refreshed while an agent thinks (default 10 s). */
  heartbeatIntervalMs?: number;
};

export type ExecuteOptions = {
  /** Default `exec_{flowId}_{ms}_{random}`. */
  executionId?: string;
  /** Consolidate after the run (default true). */
  consolidate?: boolean;
  /**
   * Cancels the run: the current agent call is aborted, its step recorded as failed with the abort
   * reason's message (see cancellationReason), the rest skipped, and the run ends `cancelled`.
   */
  signal?: AbortSignal;
  /**
   * Stops the run gently: the step under way finishes and is recorded, the rest are skipped, and the
   * run ends failed with the signal's reason as its error (a server shutting down uses it).
   */
  stop?: AbortSignal;
  onEvent?: (event: ExecutionEvent) => void;
  /** The evaluation run (`reev eval`) this execution belongs to; it must exist. */
  evaluationId?: string;
};

/**
 * min(maxBackoff, backoff·2^(n−1)), then "equal jitter": half fixed, half random, so retries of many
 * concurrent runs spread out without ever waiting less than half the nominal delay.
 * @internal exported for its tests
 */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random: () => number): number {
  const nominal = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (failedAttempt - 1));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/**
 * Agent results are the agent's words; normalise them to what JSON (and PostgreSQL) can hold. U+0000
 * and lone UTF-16 surrogates cannot be stored in text or jsonb at all: they become U+FFFD, so a step
 * is recorded rather than lost.
 */
function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return storableJson(JSON.parse(JSON.stringify(value)));
  } catch {
    return toStorableText(String(value));
  }
}

/** Keys too: jsonb refuses U+0000 in a key as much as in a value. */
function storableJson(value: unknown): unknown {
  if (typeof value === "string") return toStorableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toStorableText(k), storableJson(v)]));
  return value;
}

const toStorableOrNull = (text: string | null | undefined) => (text == null ? null : toStorableText(text));

/**
 * A step succeeds when the agent answered and every required tool has a successful call. A required
 * tool that failed (and was not retried successfully) or was never called fails the step: the verdict
 * comes from the structured tool calls, never from words in the response (reev searched for "error").
 */
function judge(step: FlowStep, result: AgentResult): string | null {
  for (const tool of step.requiredTools) {
    const calls = result.toolCalls.filter((c) => c.toolName === tool);
    if (calls.some((c) => c.success)) continue;
    const failed = calls.at(-1);
    return failed ? (failed.error ?? `${tool} failed`) : `Required tool ${tool} was not called`;
  }
  return null;
}

type Attempt = {
  result?: AgentResult;
  error?: string;
  /** What a failed attempt had done before it failed (see OrchestratorError.spent). */
  spent?: AttemptSpent;
  timedOut: boolean;
  errorKind: ErrorKind | null;
  /** When the agent's answer settled, on the executor's clock: the attempt's end (see #attempt). */
  answeredAt?: number | undefined;
};

/**
 * A step as the writer stores it: every field in its column, each tool call once in `tool_calls`.
 * The content keeps only what has no column of its own, the agent's response (empty when there was
 * none), so nothing is stored twice.
 */
function toStepInput(result: StepResult): StepInput {
  return {
    stepIndex: result.stepIndex,
    content: result.response ?? "",
    stepId: result.stepId,
    status: result.status,
    score: result.score,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    durationMs: result.durationMs,
    error: result.error,
    errorKind: result.errorKind,
    toolCalls: result.attemptLog.flatMap((a) =>
      a.toolCalls.map((c) => ({
        attempt: a.attempt,
        toolName: c.toolName,
        input: c.input as JsonValue,
        output: c.output as JsonValue,
        success: c.success,
        durationMs: c.durationMs,
        error: c.error ?? null,
      })),
    ),
    attempts: result.attemptLog.map((a) => ({
      attempt: a.attempt,
      status: a.status,
      error: a.error,
      errorKind: a.errorKind,
      startedAt: a.startedAt,
      finishedAt: a.finishedAt,
      durationMs: a.durationMs,
      model: a.usage?.model ?? null,
      inputTokens: a.usage?.inputTokens ?? null,
      outputTokens: a.usage?.outputTokens ?? null,
      cachedInputTokens: a.usage?.cachedInputTokens ?? null,
    })),
  };
}

/** An agent's tool call as it can be stored: text PostgreSQL accepts, JSON, whole milliseconds. */
function storableCall(c: ToolCallRecord): ToolCallRecord {
  return {
    ...c,
    toolName: toStorableText(c.toolName),
    ...(c.error === undefined ? {} : { error: toStorableText(c.error) }),
    input: toJson(c.input),
    output: toJson(c.output),
    durationMs: Math.round(c.durationMs),
  };
}

/**
 * Runs a flow plan step by step (ping-pong: each step's context is built from the previous results,
 * the agent is called, the result recorded, then the next step decided) and records every step
 * through the DatabaseWriter as it completes.
 *
 * Executions share nothing but the database: any number can run at once in one process.
 */
export class PingPongExecutor {
  readonly #writer: DatabaseWriter;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #defaultTimeoutMs: number;
  readonly #consolidationTimeoutMs: number;
  readonly #prices: PriceTable | null;
  readonly #heartbeatIntervalMs: number;

  constructor(db: { writer: DatabaseWriter }, options: ExecutorOptions = {}) {
    this.#writer = db.writer;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#defaultTimeoutMs = options.defaultStepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    this.#consolidationTimeoutMs = options.consolidationTimeoutMs ?? DEFAULT_CONSOLIDATION_TIMEOUT_MS;
    // Checked here, once: a bad table would otherwise fail every run's consolidation.
    this.#prices = options.prices == null ? null : parseInput(ZPriceTable, options.prices, "prices");
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  }

  async execute(plan: FlowPlan, agent: Agent, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    const started = this.#clock.now();
    const executionId = options.executionId ?? fitId(`exec_${plan.flowId}`, `_${started}_${randomBytes(3).toString("hex")}`);
    // A progress listener is an observer: if it throws, the run (and its recording) goes on.
    const emit = (event: ExecutionEvent) => {
      try {
        options.onEvent?.(event);
      } catch {
        // ignored on purpose; see above
      }
    };
    await this.#writer.createExecutionSession({
      executionId,
      flowId: plan.flowId,
      agent: agent.name,
      prompt: plan.prompt,
      metadata: { atomic: plan.atomic, steps: plan.steps.map((s) => s.stepId) },
      startedAt: new Date(started),
      ...(options.evaluationId === undefined ? {} : { evaluationId: options.evaluationId }),
    });
    emit({ type: "execution-started", executionId, flowId: plan.flowId, totalSteps: plan.steps.length });
    const heartbeat = new Heartbeat(() => this.#writer.heartbeat(executionId), this.#heartbeatIntervalMs);
    try {
      return await this.#run(plan, agent, options, { executionId, started, heartbeat, emit });
    } finally {
      await heartbeat.stop();
    }
  }

  async #run(
    plan: FlowPlan,
    agent: Agent,
    options: ExecuteOptions,
    run: { executionId: string; started: number; heartbeat: Heartbeat; emit: (event: ExecutionEvent) => void },
  ): Promise<ExecutionResult> {
    const { executionId, started, heartbeat, emit } = run;
    const atomicTransaction = plan.atomic ? await this.#writer.beginTransaction(executionId) : undefined;
    const cancelled = () => ({ status: "cancelled" as const, error: cancellationReason(options.signal as AbortSignal) });

    const results: StepResult[] = [];
    let stop: { status: FinalExecutionStatus; error: string } | undefined;
    let recording = true;
    for (const [stepIndex, step] of plan.steps.entries()) {
      if (!stop && options.signal?.aborted) stop = cancelled();
      if (!stop && options.stop?.aborted) stop = { status: "failed", error: cancellationReason(options.stop, "the run was stopped") };
      const result = stop
        ? this.#skipped(stepIndex, step, stop.error)
        : await this.#runStep(plan, step, stepIndex, executionId, results, agent, options.signal, emit);
      results.push(result);
      if (!recording) continue;
      try {
        await this.#record(executionId, atomicTransaction, result);
      } catch (error) {
        // Nothing more is recorded: the rest of the plan is reported as skipped, never as run.
        recording = false;
        stop = { status: "failed", error: `could not record step ${stepIndex} (${step.stepId}): ${errorMessage(error)}` };
        continue;
      }
      heartbeat.beat();
      emit({ type: "step-finished", executionId, step: result });
      if (!stop && options.signal?.aborted) {
        // The step says why it stopped ("interrupted (SIGINT)"); the run says it once, not twice.
        stop = cancelled();
      } else if (!stop && result.status !== "success" && step.critical) {
        const why = `critical step ${step.stepId} ${result.status === "timed_out" ? "timed out" : "failed"}`;
        stop = { status: result.status === "timed_out" ? "timed_out" : "failed", error: `${why}: ${result.error ?? "no error given"}` };
      }
    }

    let status: FinalExecutionStatus = stop?.status ?? (results.every((r) => r.success) ? "completed" : "failed");
    let error = stop
      ? `Stopped: ${stop.error}`
      : status === "failed"
        ? `${results.filter((r) => !r.success).length} of ${plan.steps.length} steps did not succeed`
        : null;
    if (atomicTransaction) {
      const guard = { transactionId: atomicTransaction };
      try {
        if (stop) {
          await this.#writer.rollbackTransaction(executionId, guard);
          // A cancelled run says so; the error tells that its steps were undone.
          if (status !== "cancelled") status = "rolled_back";
          error = `${error}; every step was rolled back`;
        } else {
          await this.#writer.commitTransaction(executionId, guard);
        }
      } catch (endError) {
        // Our transaction was ended elsewhere (recovered, say) or the database failed: the run cannot
        // claim its steps; say so, and leave nothing of ours open.
        await this.#writer.rollbackTransaction(executionId, guard).catch(() => {});
        status = "failed";
        error = `${error ? `${error}; ` : ""}the run's transaction could not be ${stop ? "rolled back" : "committed"}: ${errorMessage(endError)}`;
      }
    }
    const durationMs = Math.max(0, this.#clock.now() - started);
    await heartbeat.stop();
    // Throws if the final status cannot be stored: a result is only returned once it is recorded.
    await this.#writer.finishExecutionSession(executionId, { status, error, durationMs, finishedAt: new Date(started + durationMs) });
    // The plan's expect blocks, judged from the stored steps; part of the record, so it throws like the finish.
    const checks = await recordStoredChecks(this.#writer, executionId, plan);

    const consolidation = await this.#consolidate(executionId, status, options.consolidate !== false);
    const result: ExecutionResult = {
      executionId,
      flowId: plan.flowId,
      status,
      completedSteps: results.filter((r) => r.success).length,
      totalSteps: plan.steps.length,
      stepResults: results,
      consolidatedSessionId: consolidation.consolidatedSessionId,
      consolidation: consolidation.report,
      checks,
      durationMs,
      error,
    };
    emit({ type: "execution-finished", result });
    return result;
  }

  async #consolidate(executionId: string, status: FinalExecutionStatus, enabled: boolean) {
    if (!enabled || status === "rolled_back") {
      const why = enabled ? ROLLED_BACK_NOT_CONSOLIDATED : "consolidation was not requested";
      return { consolidatedSessionId: null, report: { status: "skipped" as const, error: why, metadata: null, costGaps: [] } };
    }
    try {
      const done = await consolidateExecution({ writer: this.#writer }, executionId, {
        timeoutMs: this.#consolidationTimeoutMs,
        prices: this.#prices,
      });
      return {
        consolidatedSessionId: done.consolidatedSessionId,
        report: { status: "completed" as const, error: null, metadata: done.metadata, costGaps: done.costGaps },
      };
    } catch (error) {
      // A failed consolidation is reported, never allowed to break the execution it describes.
      const timedOut = OrchestratorError.is(error, "CONSOLIDATION_TIMEOUT");
      return {
        consolidatedSessionId: null,
        report: {
          status: timedOut ? ("timed_out" as const) : ("failed" as const),
          error: errorMessage(error),
          metadata: null,
          costGaps: [],
        },
      };
    }
  }

  /**
   * Every write is pinned: in an atomic run to the transaction this run opened, so one recovered or
   * ended elsewhere fails the write instead of silently changing what it means; outside one to "no
   * transaction", so the step (row and tool calls, one atomic statement) is committed at once and can
   * never slip into a transaction someone else opened.
   */
  async #record(executionId: string, atomicTransaction: string | undefined, result: StepResult): Promise<void> {
    await this.#writer.storeStep(executionId, toStepInput(result), { transactionId: atomicTransaction ?? null });
  }

  #skipped(stepIndex: number, step: FlowStep, reason: string): StepResult {
    return {
      stepIndex,
      stepId: step.stepId,
      status: "skipped",
      success: false,
      critical: step.critical,
      attempts: 0,
      prompt: null,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      response: null,
      toolCalls: [],
      score: null,
      error: `Skipped: ${reason}`,
      errorKind: null,
      attemptLog: [],
    };
  }

  async #runStep(
    plan: FlowPlan,
    step: FlowStep,
    stepIndex: number,
    executionId: string,
    done: readonly StepResult[],
    agent: Agent,
    runSignal: AbortSignal | undefined,
    emit: (e: ExecutionEvent) => void,
  ): Promise<StepResult> {
    const previousResults: PreviousStepResult[] = done
      .filter((r) => r.status !== "skipped")
      .map((r) => ({
        stepIndex: r.stepIndex,
        stepId: r.stepId,
        status: r.status,
        response: r.response,
        toolCalls: r.toolCalls,
        error: r.error,
      }));
    const prompt = renderPrompt(step.prompt, {
      prompt: plan.prompt,
      context: plan.context,
      previous: previousResults.at(-1),
      steps: Object.fromEntries(previousResults.map((r) => [r.stepId, r])),
    });
    const maxAttempts = step.retry?.attempts ?? 1;
    const attemptLog: AttemptResult[] = [];
    // The step runs from its first attempt's start to its last one's end, backoff waits between them included.
    let startedAt: number | undefined;
    let finishedAt = 0;
    let attempt = 0;
    let outcome: Attempt;
    for (;;) {
      attempt += 1;
      emit({ type: "step-started", executionId, stepIndex, stepId: step.stepId, attempt });
      const attemptStarted = this.#clock.now();
      startedAt ??= attemptStarted;
      const context: StepContext = {
        executionId,
        flowId: plan.flowId,
        flowPrompt: plan.prompt,
        stepIndex,
        attempt,
        prompt,
        context: plan.context,
        previousResults,
      };
      outcome = await this.#attempt(step, context, agent, runSignal, attemptStarted);
      const failure = outcome.error ?? (outcome.result ? judge(step, outcome.result) : null);
      // A required tool that failed is the agent's failure, whatever the agent call itself was.
      if (outcome.error === undefined && failure !== null) outcome = { ...outcome, errorKind: "agent" };
      finishedAt = outcome.answeredAt ?? this.#clock.now();
      attemptLog.push(this.#attemptResult({ attempt, started: attemptStarted, finished: finishedAt }, outcome, failure));
      if (failure === null || attempt >= maxAttempts || runSignal?.aborted || !step.retry) {
        outcome = { ...outcome, error: failure ?? undefined };
        break;
      }
      const delayMs = backoffDelay(step.retry, attempt, this.#random);
      emit({ type: "step-retrying", executionId, stepIndex, stepId: step.stepId, attempt, delayMs, error: failure });
      try {
        await this.#clock.sleep(delayMs, runSignal);
      } catch {
        outcome = { ...outcome, error: failure };
        break;
      }
    }
    // Stopped by the run's cancellation (in the agent call or in a backoff wait): failed, for that reason.
    if (outcome.error !== undefined && runSignal?.aborted) outcome = { ...outcome, timedOut: false, error: cancellationReason(runSignal) };
    startedAt ??= finishedAt;
    const status: StepOutcome = outcome.error === undefined ? "success" : outcome.timedOut ? "timed_out" : "failed";
    return {
      stepIndex,
      stepId: step.stepId,
      status,
      success: status === "success",
      critical: step.critical,
      attempts: attempt,
      prompt,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: Math.max(0, Math.round(finishedAt - startedAt)),
      response: toStorableOrNull(outcome.result?.response),
      toolCalls: attemptLog.at(-1)?.toolCalls ?? [],
      score: outcome.result?.score ?? null,
      error: toStorableOrNull(outcome.error),
      errorKind: status === "success" ? null : outcome.errorKind,
      attemptLog,
    };
  }

  #attemptResult(
    { attempt, started, finished }: { attempt: number; started: number; finished: number },
    outcome: Attempt,
    failure: string | null,
  ): AttemptResult {
    return {
      attempt,
      status: failure === null ? "success" : outcome.timedOut ? "timed_out" : "failed",
      error: toStorableOrNull(failure),
      errorKind: failure === null ? null : outcome.errorKind,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: Math.max(0, Math.round(finished - started)),
      toolCalls: (outcome.result?.toolCalls ?? outcome.spent?.toolCalls ?? []).map(storableCall),
      usage: outcome.result?.usage ?? outcome.spent?.usage ?? null,
    };
  }

  /**
   * One agent call under the step's timeout. The signal given to the agent aborts on timeout (or run
   * cancellation) so it can stop its work; the race makes sure the run moves on even if an agent
   * ignores it.
   */
  async #attempt(
    step: FlowStep,
    context: StepContext,
    agent: Agent,
    runSignal: AbortSignal | undefined,
    started: number,
  ): Promise<Attempt> {
    const timeoutMs = step.timeoutMs ?? this.#defaultTimeoutMs;
    const controller = new AbortController();
    const timeoutError = new OrchestratorError(
      "AGENT_TIMEOUT",
      `Step ${context.stepIndex} (${step.stepId}) timed out after ${timeoutMs}ms`,
    );
    const timer = setTimeout(() => controller.abort(timeoutError), Math.min(timeoutMs, MAX_TIMER_MS));
    const onRunAbort = () =>
      controller.abort(new OrchestratorError("AGENT_FAILED", cancellationReason(runSignal as AbortSignal), { cause: runSignal?.reason }));
    if (runSignal?.aborted) onRunAbort();
    runSignal?.addEventListener("abort", onRunAbort, { once: true });
    try {
      // Timed as the answer settles, before whatever else is queued on this thread runs.
      let answeredAt: number | undefined;
      const answer = agent.run(step, context, controller.signal).then((result) => {
        answeredAt = this.#clock.now();
        return result;
      });
      const raw = await Promise.race([answer, untilAborted(controller.signal)]);
      const parsed = ZAgentResult.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return {
          answeredAt,
          timedOut: false,
          errorKind: "agent",
          error: `Agent returned a malformed result: ${issue?.path.join(".") || "result"}: ${issue?.message}`,
        };
      }
      // A blocked event loop (PGlite runs on this thread, storing the other runs' steps) fires the
      // timer late, and an answer that fell due before it wins the race although it came past the
      // limit: the attempt would be stored as succeeded with a duration over its timeout, and the
      // outcome would depend on the machine's load. The limit is judged by the clock that times it.
      if (answeredAt !== undefined && answeredAt - started > timeoutMs) {
        const { toolCalls, usage = null } = parsed.data;
        return { answeredAt, timedOut: true, errorKind: "agent", error: timeoutError.message, spent: { toolCalls, usage } };
      }
      return { answeredAt, timedOut: false, errorKind: null, result: parsed.data };
    } catch (error) {
      const timedOut = controller.signal.reason === timeoutError;
      // A cancelled run is nobody's failure; the network, a 5xx or a rate limit is not the agent's.
      const errorKind = runSignal?.aborted && !timedOut ? null : OrchestratorError.is(error, "INFRASTRUCTURE") ? "infrastructure" : "agent";
      // Checked like a result: an agent's error is as untrusted as its answer.
      const spent = OrchestratorError.is(error) ? ZAttemptSpent.safeParse(error.spent).data : undefined;
      return { timedOut, errorKind, error: errorMessage(error), ...(spent === undefined ? {} : { spent }) };
    } finally {
      clearTimeout(timer);
      runSignal?.removeEventListener("abort", onRunAbort);
    }
  }
}
