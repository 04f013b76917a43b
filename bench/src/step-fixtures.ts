import type { StepInput } from "@reev/db";

/**
 * Deterministic step fixtures, the shape issue 4 asks for: ~2 KB of content and 5 tool calls per
 * step. The same step index always gives the same step, so the writer and the raw driver store
 * byte-identical rows and the bench can compare what each side wrote.
 */

export const TOOL_CALLS_PER_STEP = 5;

const FILLER =
  "The agent inspected the account, compared the balance with the requested transfer and decided to " +
  "call the swap tool first, then verify the resulting token balance before reporting back. ";

/** ~2 KB of JSON: a plausible step transcript (messages, reasoning), as an agent run would store it. */
function transcript(stepIndex: number): Record<string, unknown> {
  return {
    step: stepIndex,
    model: "glm-4.6",
    messages: [
      { role: "user", content: `Step ${stepIndex}: swap 0.5 SOL to USDC and report the new balance.` },
      { role: "assistant", content: FILLER.repeat(5).trim() },
      { role: "tool", content: JSON.stringify({ ok: true, slot: 312_000_000 + stepIndex, fee: 5000 }) },
    ],
    reasoning: FILLER.repeat(5).trim(),
    usage: { promptTokens: 1800 + stepIndex, completionTokens: 240, totalTokens: 2040 + stepIndex },
  };
}

/** Five tool calls with small JSON input and output, as a DeFi step makes them. */
function toolCallsOf(stepIndex: number): NonNullable<StepInput["toolCalls"]> {
  const signature = `sig${stepIndex.toString(16).padStart(8, "0")}`;
  return [
    {
      toolName: "get_account_balance",
      input: { account: "USER_WALLET", mint: "SOL" },
      output: { lamports: 1_500_000_000 - stepIndex },
      success: true,
      durationMs: 12,
    },
    {
      toolName: "jupiter_quote",
      input: { inputMint: "SOL", outputMint: "USDC", amount: 500_000_000 },
      output: { outAmount: 71_230_000, priceImpactPct: 0.01 },
      success: true,
      durationMs: 85,
    },
    {
      toolName: "jupiter_swap",
      input: { inputMint: "SOL", outputMint: "USDC", amount: 500_000_000, slippageBps: 50 },
      output: { signature, outAmount: 71_230_000 },
      success: true,
      durationMs: 340,
    },
    {
      toolName: "confirm_transaction",
      input: { signature },
      output: { confirmed: true, slot: 312_000_001 + stepIndex },
      success: true,
      durationMs: 410,
    },
    { toolName: "get_token_balance", input: { mint: "USDC" }, output: { amount: 71_230_000 }, success: true, durationMs: 9 },
  ];
}

const BASE_TIME = Date.UTC(2026, 0, 1);

/** The step `storeStep` gets: structured fields, 5 tool calls and ~2 KB of JSON content. */
function stepInput(stepIndex: number): StepInput {
  const startedAt = new Date(BASE_TIME + stepIndex * 1000);
  return {
    stepIndex,
    stepId: `step-${stepIndex}`,
    status: stepIndex % 10 === 9 ? "failed" : "success",
    score: (stepIndex % 10) / 10,
    startedAt,
    finishedAt: new Date(startedAt.getTime() + 420),
    durationMs: 420,
    toolCalls: toolCallsOf(stepIndex),
    content: JSON.stringify(transcript(stepIndex)),
  };
}

/**
 * What the executor stores through `storeStepSession`: its StepResult as JSON (~2.2 KB with the same
 * 5 tool calls), from which the writer parses the same structured fields.
 */
function stepResultContent(stepIndex: number): string {
  const step = stepInput(stepIndex);
  return JSON.stringify({
    stepIndex,
    stepId: step.stepId,
    status: step.status,
    success: step.status === "success",
    critical: false,
    attempts: 1,
    prompt: `Step ${stepIndex}: swap 0.5 SOL to USDC and report the new balance.`,
    startedAt: (step.startedAt as Date).toISOString(),
    finishedAt: (step.finishedAt as Date).toISOString(),
    durationMs: step.durationMs,
    response: FILLER.repeat(7).trim(),
    toolCalls: step.toolCalls,
    score: step.score,
    error: null,
  });
}

/** Fixtures are built once, before anything is timed: building them is not the writer's cost. */
function memoised<T>(make: (index: number) => T): (count: number) => T[] {
  const cache: T[] = [];
  return (count) => {
    for (let i = cache.length; i < count; i++) cache.push(make(i));
    return cache.slice(0, count);
  };
}

export const stepInputs = memoised(stepInput);
export const stepResultContents = memoised(stepResultContent);
