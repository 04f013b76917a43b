import type { StepInput } from "@reev/db";

/**
 * Deterministic step fixtures: the same step index always gives the same step, so the writer and the
 * raw driver store byte-identical rows and the bench can compare what each side wrote.
 */

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
      { role: "assistant", content: FILLER.repeat(4).trim() },
      { role: "tool", content: JSON.stringify({ ok: true, slot: 312_000_000 + stepIndex, fee: 5000 }) },
    ],
    reasoning: FILLER.repeat(5).trim(),
    usage: { promptTokens: 1800 + stepIndex, completionTokens: 240, totalTokens: 2040 + stepIndex },
  };
}

/** 2 or 3 tool calls with small JSON input and output. */
export function toolCallsOf(stepIndex: number): NonNullable<StepInput["toolCalls"]> {
  const calls: NonNullable<StepInput["toolCalls"]> = [
    {
      toolName: "get_account_balance",
      input: { account: "USER_WALLET_PUBKEY", mint: "SOL" },
      output: { lamports: 1_500_000_000 - stepIndex, decimals: 9 },
      success: true,
      durationMs: 12,
    },
    {
      toolName: "jupiter_swap",
      input: { inputMint: "SOL", outputMint: "USDC", amount: 500_000_000, slippageBps: 50 },
      output: { signature: `sig${stepIndex.toString(16).padStart(8, "0")}`, outAmount: 71_230_000 },
      success: true,
      durationMs: 340,
    },
  ];
  if (stepIndex % 2 === 1) {
    calls.push({ toolName: "get_token_balance", input: { mint: "USDC" }, output: { amount: 71_230_000 }, success: true, durationMs: 9 });
  }
  return calls;
}

export const toolCallCount = (stepIndex: number) => (stepIndex % 2 === 1 ? 3 : 2);

const BASE_TIME = Date.UTC(2026, 0, 1);

/** The step `storeStep` gets: structured fields, tool calls and ~2 KB of JSON content. */
export function stepInput(stepIndex: number): StepInput {
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
 * The seed's input: a step session as reev wrote it, YAML with snake_case keys (its StepResult),
 * ~2 KB. `storeStepSession` parses the structured fields (and tool calls) out of it.
 */
export function stepYaml(stepIndex: number): string {
  const startedAt = new Date(BASE_TIME + stepIndex * 1000);
  const calls = toolCallsOf(stepIndex)
    .map(
      (c) =>
        `  - tool_name: ${c.toolName}\n` +
        `    params: ${JSON.stringify(c.input)}\n` +
        `    result: ${JSON.stringify(c.output)}\n` +
        `    success: ${c.success}\n` +
        `    execution_time_ms: ${c.durationMs}\n`,
    )
    .join("");
  return (
    `step_id: step-${stepIndex}\n` +
    `success: ${stepIndex % 10 !== 9}\n` +
    `score: ${(stepIndex % 10) / 10}\n` +
    `started_at: ${startedAt.toISOString()}\n` +
    `finished_at: ${new Date(startedAt.getTime() + 420).toISOString()}\n` +
    `execution_time_ms: 420\n` +
    `tool_calls:\n${calls}` +
    `response: |\n${FILLER.repeat(6)
      .trim()
      .match(/.{1,100}(\s|$)/g)!
      .map((line) => `  ${line.trim()}`)
      .join("\n")}\n` +
    `reasoning: |\n${FILLER.repeat(5)
      .trim()
      .match(/.{1,100}(\s|$)/g)!
      .map((line) => `  ${line.trim()}`)
      .join("\n")}\n`
  );
}
