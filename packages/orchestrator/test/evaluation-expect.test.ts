import { formatIssuePath } from "@reev/db";
import { describe, expect, it } from "vitest";
import { ZExpect } from "../src/evaluation/expect.js";

/** Every problem of a refused block, as `path: message`, unknown keys at the key itself. */
function problems(block: unknown): string[] {
  const result = ZExpect.safeParse(block);
  if (result.success) throw new Error(`expected ${JSON.stringify(block)} to be refused`);
  return result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${formatIssuePath([...issue.path, key])}: unrecognized`)
      : [`${formatIssuePath(issue.path)}: ${issue.message}`],
  );
}

describe("ZExpect", () => {
  it("accepts every field together, unchanged", () => {
    const block = {
      tools: ["get_account_balance", "jupiter_swap"],
      order: "in_order",
      forbiddenTools: ["transfer_all"],
      maxToolCalls: 4,
      args: { jupiter_swap: { inputMint: "SOL", amount: 2 }, get_account_balance: {} },
      minScore: 0.8,
    };
    expect(ZExpect.parse(block)).toEqual(block);
  });

  it("accepts an empty block and a tool listed twice", () => {
    expect(ZExpect.parse({})).toEqual({});
    expect(ZExpect.parse({ tools: ["search", "search"], order: "exact" })).toEqual({ tools: ["search", "search"], order: "exact" });
  });

  it.each([
    [{ tool: ["x"] }, "tool: unrecognized"],
    [{ forbidenTools: ["x"] }, "forbidenTools: unrecognized"],
    [{ tools: ["x"], order: "strict" }, 'order: Invalid option: expected one of "exact"|"in_order"|"any_order"'],
    [{ tools: "search" }, "tools: Invalid input: expected array, received string"],
    [{ tools: [] }, "tools: must list at least one tool (leave it out to require none)"],
    [{ tools: ["ok", ""] }, "tools[1]: must not be empty"],
    [{ forbiddenTools: [] }, "forbiddenTools: must list at least one tool (leave it out to forbid none)"],
    [{ maxToolCalls: -1 }, "maxToolCalls: must be 0 or more"],
    [{ tools: ["a"], maxToolCalls: -1 }, "maxToolCalls: must be 0 or more"],
    [{ maxToolCalls: 2.5 }, "maxToolCalls: must be a whole number"],
    [{ minScore: 1.5 }, "minScore: must be between 0 and 1"],
    [{ args: {} }, "args: must name at least one tool (leave it out to check no arguments)"],
    [{ args: { swap: { amount: Number.NaN } } }, "args.swap: must not contain NaN or Infinity"],
  ])("refuses %j with the field's path", (block, problem) => {
    expect(problems(block)).toEqual([problem]);
  });

  it("reports each problem of a block, each at its own path", () => {
    expect(problems({ tools: [], minScore: 2, maxToolCals: 3 })).toEqual([
      "tools: must list at least one tool (leave it out to require none)",
      "minScore: must be between 0 and 1",
      "maxToolCals: unrecognized",
    ]);
  });

  it("reports a contradiction alongside a typo elsewhere in the block", () => {
    expect(problems({ tools: ["a", "b"], maxToolCalls: 1, minScor: 0.5 })).toEqual([
      "minScor: unrecognized",
      "maxToolCalls: is less than the 2 successful calls that tools and args require",
    ]);
  });

  it.each([
    [{ order: "exact" }, "order: applies to tools: list the tools whose order it checks"],
    [{ tools: ["a", "b"], forbiddenTools: ["c", "b"] }, 'forbiddenTools[1]: "b" is also required in tools'],
    [{ forbiddenTools: ["a"], args: { a: { x: 1 } } }, 'args.a: "a" is forbidden in forbiddenTools, so no call can carry these arguments'],
    [{ tools: ["a", "b", "a"], maxToolCalls: 2 }, "maxToolCalls: is less than the 3 successful calls that tools and args require"],
    [{ tools: ["a"], args: { b: {} }, maxToolCalls: 1 }, "maxToolCalls: is less than the 2 successful calls that tools and args require"],
  ])("refuses %j, which no run could satisfy", (block, problem) => {
    expect(problems(block)).toEqual([problem]);
  });

  it("accepts maxToolCalls equal to the calls that tools and args need", () => {
    expect(ZExpect.safeParse({ tools: ["a", "b"], args: { a: {} }, maxToolCalls: 2 }).success).toBe(true);
    expect(ZExpect.safeParse({ maxToolCalls: 0 }).success).toBe(true);
  });
});
