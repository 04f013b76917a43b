import type { ToolCallLog } from "@reev/db";
import { describe, expect, it } from "vitest";
import type { ToolCallRecord } from "../src/agents/agent.js";
import { checkExpectations, type ExpectCheck, type TrajectoryToolCall } from "../src/evaluation/check-expectations.js";
import { ZExpect } from "../src/evaluation/expect.js";

const ok = (toolName: string, input: unknown = {}): TrajectoryToolCall => ({ toolName, input, success: true });
const failed = (toolName: string, error?: string): TrajectoryToolCall => ({ toolName, input: {}, success: false, error: error ?? null });
/** Imported from a source that only named the tool. */
const unknown = (toolName: string): TrajectoryToolCall => ({ toolName, input: {}, success: null });

const pass = (check: ExpectCheck["check"]): ExpectCheck => ({ check, passed: true, reason: null });
const fail = (check: ExpectCheck["check"], reason: string): ExpectCheck => ({ check, passed: false, reason });

/** Every block goes through the schema first, as a flow file's would. */
const judge = (block: unknown, calls: TrajectoryToolCall[], score: number | null = null) =>
  checkExpectations(ZExpect.parse(block), calls, score);

describe("checkExpectations: tool-call sequences × expectations", () => {
  it.each<[string, unknown, TrajectoryToolCall[], ExpectCheck[]]>([
    // tools
    ["every required tool succeeded", { tools: ["a", "b"] }, [ok("b"), ok("a")], [pass("tools")]],
    ["a required tool never called", { tools: ["a", "b"] }, [ok("a")], [fail("tools", "b was never called")]],
    [
      "a required tool that only failed (as the executor's requiredTools)",
      { tools: ["a"] },
      [failed("a", "rpc timeout"), failed("a", "slippage exceeded")],
      [fail("tools", "a was called 2 times but never succeeded (last error: slippage exceeded)")],
    ],
    [
      "a call of unknown outcome is not a success",
      { tools: ["a"] },
      [unknown("a")],
      [fail("tools", "a was called 1 time but never succeeded")],
    ],
    ["a failed call retried successfully", { tools: ["a"] }, [failed("a", "x"), ok("a")], [pass("tools")]],
    [
      "a tool listed twice needs two successes",
      { tools: ["a", "a"] },
      [ok("a"), failed("a")],
      [fail("tools", "a succeeded 1 time, 2 are required")],
    ],
    ["each missing tool named", { tools: ["a", "b", "c"] }, [ok("b")], [fail("tools", "a was never called; c was never called")]],
    // order: exact
    ["exact: the same sequence", { tools: ["a", "b"], order: "exact" }, [ok("a"), ok("b")], [pass("tools"), pass("order")]],
    [
      "exact: failed attempts are not part of the sequence",
      { tools: ["a", "b"], order: "exact" },
      [failed("a"), ok("a"), unknown("c"), ok("b")],
      [pass("tools"), pass("order")],
    ],
    [
      "exact: swapped",
      { tools: ["a", "b"], order: "exact" },
      [ok("b"), ok("a")],
      [pass("tools"), fail("order", "expected exactly a → b, but the successful calls were b → a")],
    ],
    [
      "exact: an extra call",
      { tools: ["a", "b"], order: "exact" },
      [ok("a"), ok("b"), ok("b")],
      [pass("tools"), fail("order", "expected exactly a → b, but the successful calls were a → b → b")],
    ],
    [
      "exact: nothing succeeded",
      { tools: ["a"], order: "exact" },
      [failed("a")],
      [fail("tools", "a was called 1 time but never succeeded"), fail("order", "expected exactly a, but the successful calls were none")],
    ],
    // order: in_order
    [
      "in_order: other calls between",
      { tools: ["a", "b"], order: "in_order" },
      [ok("a"), ok("c"), ok("b")],
      [pass("tools"), pass("order")],
    ],
    [
      "in_order: repeats in order",
      { tools: ["a", "b", "a"], order: "in_order" },
      [ok("a"), ok("a"), ok("b"), ok("a")],
      [pass("tools"), pass("order")],
    ],
    [
      "in_order: swapped",
      { tools: ["a", "b"], order: "in_order" },
      [ok("b"), ok("a")],
      [pass("tools"), fail("order", "expected a → b in this order, but no successful b came after a; the successful calls were b → a")],
    ],
    [
      "in_order: a repeat out of place",
      { tools: ["a", "b", "a"], order: "in_order" },
      [ok("a"), ok("a"), ok("b")],
      [
        pass("tools"),
        fail("order", "expected a → b → a in this order, but no successful a came after a → b; the successful calls were a → a → b"),
      ],
    ],
    [
      "in_order: the first tool missing",
      { tools: ["a", "b"], order: "in_order" },
      [ok("b")],
      [
        fail("tools", "a was never called"),
        fail("order", "expected a → b in this order, but no successful a came; the successful calls were b"),
      ],
    ],
    // order: any_order adds nothing beyond tools
    ["any_order: swapped", { tools: ["a", "b"], order: "any_order" }, [ok("b"), ok("a")], [pass("tools")]],
    // forbiddenTools
    ["no forbidden call", { forbiddenTools: ["x"] }, [ok("a")], [pass("forbiddenTools")]],
    [
      "a forbidden call that failed still counts",
      { forbiddenTools: ["x", "y"] },
      [failed("x"), ok("a"), unknown("y"), ok("y")],
      [
        fail(
          "forbiddenTools",
          "x is forbidden but was called 1 time (failed calls count too); y is forbidden but was called 2 times (failed calls count too)",
        ),
      ],
    ],
    // maxToolCalls
    ["at the limit", { maxToolCalls: 2 }, [ok("a"), failed("b")], [pass("maxToolCalls")]],
    [
      "over the limit, failed calls counted",
      { maxToolCalls: 2 },
      [ok("a"), failed("a"), ok("b")],
      [fail("maxToolCalls", "3 tool calls were made, at most 2 are allowed (failed calls count too)")],
    ],
    ["no calls allowed, none made", { maxToolCalls: 0 }, [], [pass("maxToolCalls")]],
    // The verbs agree with their counts: one call "was", a limit of one "is".
    [
      "over a limit of one",
      { maxToolCalls: 1 },
      [ok("a"), ok("b")],
      [fail("maxToolCalls", "2 tool calls were made, at most 1 is allowed (failed calls count too)")],
    ],
    [
      "one call where none is allowed",
      { maxToolCalls: 0 },
      [failed("a")],
      [fail("maxToolCalls", "1 tool call was made, no tool call is allowed (failed calls count too)")],
    ],
    // args
    [
      "one matching call among others",
      { args: { swap: { amount: 2 } } },
      [ok("swap", { amount: 3 }), ok("swap", { amount: 2, mint: "SOL" })],
      [pass("args")],
    ],
    [
      "no call with the arguments",
      { args: { swap: { amount: 2 } } },
      [ok("swap", { amount: 3 }), ok("swap", { mint: "SOL" })],
      [
        fail(
          "args",
          'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 3, expected 2; call 2: input.amount is missing)',
        ),
      ],
    ],
    [
      "the matching call failed",
      { args: { swap: { amount: 2 } } },
      [{ toolName: "swap", input: { amount: 2 }, success: false }],
      [fail("args", 'swap has no successful call to check its arguments {"amount":2}')],
    ],
    [
      "more mismatches than shown",
      { args: { swap: { amount: 2 } } },
      [1, 3, 4, 5].map((amount) => ok("swap", { amount })),
      [
        fail(
          "args",
          'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 1, expected 2; call 2: input.amount is 3, expected 2; call 3: input.amount is 4, expected 2; 1 more)',
        ),
      ],
    ],
    [
      "each tool's arguments judged on its own calls",
      { args: { a: { x: 1 }, b: { x: 1 } } },
      [ok("a", { x: 1 }), ok("c", { x: 1 }), ok("b", { x: 2 })],
      [fail("args", 'no successful b call had the arguments {"x":1} (call 1: input.x is 2, expected 1)')],
    ],
    // an empty block
    ["an empty block checks nothing", {}, [ok("anything")], []],
  ])("%s", (_, block, calls, checks) => {
    const result = judge(block, calls);
    expect(result).toEqual({ passed: checks.every((c) => c.passed), checks });
  });

  it.each<[number | null, ExpectCheck]>([
    [0.8, pass("minScore")],
    [1, pass("minScore")],
    [0.79, fail("minScore", "score 0.79 is below minScore 0.8")],
    [0, fail("minScore", "score 0 is below minScore 0.8")],
    [null, fail("minScore", "no score was recorded, and minScore 0.8 needs one")],
  ])("minScore 0.8 with score %s", (score, check) => {
    expect(judge({ minScore: 0.8 }, [], score)).toEqual({ passed: check.passed, checks: [check] });
  });

  it("reports every field of a block, in the order of the fields, and fails when one check does", () => {
    const block = {
      minScore: 0.5,
      args: { swap: { amount: 2 } },
      maxToolCalls: 3,
      forbiddenTools: ["transfer"],
      order: "exact",
      tools: ["balance", "swap"],
    };
    const calls = [ok("balance"), ok("swap", { amount: 2 }), failed("transfer", "refused")];
    expect(judge(block, calls, 0.9)).toEqual({
      passed: false,
      checks: [
        pass("tools"),
        pass("order"),
        fail("forbiddenTools", "transfer is forbidden but was called 1 time (failed calls count too)"),
        pass("maxToolCalls"),
        pass("args"),
        pass("minScore"),
      ],
    });
    expect(judge(block, calls.slice(0, 2), 0.9).passed).toBe(true);
  });

  it("takes tool calls as the database stores them and as agents report them", () => {
    const stored: ToolCallLog[] = [
      { callIndex: 0, attempt: 1, toolName: "swap", input: { amount: 2 }, output: null, success: null, durationMs: null, error: null },
      { callIndex: 1, attempt: 2, toolName: "swap", input: { amount: 2 }, output: { tx: "t" }, success: true, durationMs: 40, error: null },
    ];
    const reported: ToolCallRecord[] = [
      { toolName: "swap", input: { amount: 3 }, output: null, success: false, durationMs: 5, error: "slippage" },
    ];
    const block = ZExpect.parse({ tools: ["swap"], args: { swap: { amount: 2 } } });
    expect(checkExpectations(block, stored, null)).toEqual({ passed: true, checks: [pass("tools"), pass("args")] });
    expect(checkExpectations(block, reported, null)).toEqual({
      passed: false,
      checks: [
        fail("tools", "swap was called 1 time but never succeeded (last error: slippage)"),
        fail("args", 'swap has no successful call to check its arguments {"amount":2}'),
      ],
    });
  });
});
