import { describe, expect, it } from "vitest";
import type { PreviousStepResult } from "../src/agents/agent.js";
import { describePreviousResults, missingPlaceholders, renderPrompt, type TemplateVars } from "../src/prompt-template.js";

const balanceCheck: PreviousStepResult = {
  stepIndex: 0,
  stepId: "balance_check",
  status: "success",
  response: "4 SOL, 20 USDC",
  toolCalls: [
    {
      toolName: "get_account_balance",
      input: { wallet: "W1" },
      output: { sol: 4, usdc: 20, "token list": ["SOL", "USDC"] },
      success: true,
      durationMs: 12,
    },
  ],
  error: null,
};

const swap: PreviousStepResult = {
  stepIndex: 1,
  stepId: "swap-1",
  status: "failed",
  response: null,
  toolCalls: [{ toolName: "jupiter_swap", input: { amount: 2 }, output: null, success: false, durationMs: 30, error: "slippage" }],
  error: "swap failed: slippage",
};

const vars: TemplateVars = {
  prompt: "use my 50% sol to multiply usdc 1.5x on jup",
  context: { wallet: "W1", balances: { sol: 4 }, "odd key": "yes", tags: ["a", "b"], zero: 0, off: false, none: null },
  previous: swap,
  steps: { balance_check: balanceCheck, "swap-1": swap },
};

describe("renderPrompt", () => {
  it.each([
    ["{{prompt}}", "use my 50% sol to multiply usdc 1.5x on jup"],
    ["{{ context.wallet }}", "W1"],
    ["{{context.balances.sol}}", "4"],
    ["{{context.balances}}", '{"sol":4}'],
    ["{{context.tags}}", '["a","b"]'],
    ["{{context.tags[1]}}", "b"],
    ['{{context["odd key"]}}', "yes"],
    ["{{context['odd key']}}", "yes"],
    ["{{context.zero}}/{{context.off}}/{{context.none}}", "0/false/null"],
    ["{{previous.error}}", "swap failed: slippage"],
    ["{{previous.response}}", "null"],
    ["{{steps.balance_check.response}}", "4 SOL, 20 USDC"],
    ["{{steps.balance_check.toolCalls[0].output.sol}}", "4"],
    ["{{steps.balance_check.toolCalls[0].output}}", '{"sol":4,"usdc":20,"token list":["SOL","USDC"]}'],
    ['{{steps.balance_check.toolCalls[0].output["token list"][0]}}', "SOL"],
    ["{{steps.swap-1.toolCalls[0].error}}", "slippage"],
    ["{{steps.balance_check.toolCalls.0.toolName}}", "get_account_balance"],
  ])("%s → %s", (template, expected) => {
    expect(renderPrompt(template, vars)).toBe(expected);
  });

  it("renders every placeholder of a longer template and keeps the rest verbatim", () => {
    const template =
      "Goal: {{prompt}}. Wallet {{context.wallet}} holds {{steps.balance_check.toolCalls[0].output.sol}} SOL; " +
      "last step: {{previous.stepId}} ({{ previous.status }}). Braces { alone } stay.";
    expect(renderPrompt(template, vars)).toBe(
      "Goal: use my 50% sol to multiply usdc 1.5x on jup. Wallet W1 holds 4 SOL; " + "last step: swap-1 (failed). Braces { alone } stay.",
    );
  });

  it("renders missing paths visibly and lists them once, in order", () => {
    const template =
      "{{context.nope}} {{previous.response.x}} {{steps.unknown.response}} {{context.nope}} " +
      "{{context.tags[5]}} {{prompt.length}} {{context.constructor}} {{context..wallet}} {{ }} {{wat}}";
    expect(renderPrompt(template, vars)).toBe(
      "<missing: context.nope> <missing: previous.response.x> <missing: steps.unknown.response> " +
        "<missing: context.nope> <missing: context.tags[5]> <missing: prompt.length> " +
        "<missing: context.constructor> <missing: context..wallet> <missing: > <missing: wat>",
    );
    expect(missingPlaceholders(template, vars)).toEqual([
      "context.nope",
      "previous.response.x",
      "steps.unknown.response",
      "context.tags[5]",
      "prompt.length",
      "context.constructor",
      "context..wallet",
      "",
      "wat",
    ]);
  });

  it("treats previous as missing on the first step", () => {
    const first: TemplateVars = { ...vars, previous: undefined, steps: {} };
    expect(renderPrompt("after {{previous.response}}", first)).toBe("after <missing: previous.response>");
    expect(missingPlaceholders("{{previous}} {{prompt}}", first)).toEqual(["previous"]);
  });

  it("finds nothing missing when everything resolves", () => {
    expect(missingPlaceholders("{{prompt}} {{steps.balance_check.toolCalls[0].input.wallet}}", vars)).toEqual([]);
  });
});

describe("describePreviousResults", () => {
  it("renders reev's previous-results block", () => {
    expect(describePreviousResults([balanceCheck, swap])).toBe(
      [
        "Previous step results:",
        'Step 0: balance_check - SUCCESS, Data: {"response":"4 SOL, 20 USDC","toolCalls":[{"toolName":"get_account_balance",' +
          '"input":{"wallet":"W1"},"output":{"sol":4,"usdc":20,"token list":["SOL","USDC"]},"success":true}]}',
        'Step 1: swap-1 - FAILED, Error: swap failed: slippage, Data: {"response":null,"toolCalls":[{"toolName":"jupiter_swap",' +
          '"input":{"amount":2},"output":null,"success":false,"error":"slippage"}]}',
      ].join("\n"),
    );
  });

  it("names timed out and skipped steps", () => {
    const block = describePreviousResults([
      { ...swap, stepIndex: 2, stepId: "lend", status: "timed_out", error: "timed out after 50ms", toolCalls: [] },
      { ...swap, stepIndex: 3, stepId: "check", status: "skipped", error: null, toolCalls: [] },
    ]);
    expect(block.split("\n")).toEqual([
      "Previous step results:",
      'Step 2: lend - TIMED_OUT, Error: timed out after 50ms, Data: {"response":null,"toolCalls":[]}',
      'Step 3: check - SKIPPED, Data: {"response":null,"toolCalls":[]}',
    ]);
  });

  it("is empty before the first step", () => {
    expect(describePreviousResults([])).toBe("");
  });
});
