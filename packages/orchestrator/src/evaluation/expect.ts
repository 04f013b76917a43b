import { MAX_ID_LENGTH, ZJsonValue, ZScore } from "@reev/db";
import { z } from "zod";

// As a flow plan's tool names: what a step can record must fit the tool_calls column.
const ZToolName = z.string().min(1, "must not be empty").max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`);

export const TOOL_ORDERS = ["exact", "in_order", "any_order"] as const;
export const ZToolOrder = z.enum(TOOL_ORDERS);
export type ToolOrder = z.infer<typeof ZToolOrder>;

/**
 * A trajectory expectation, on one step or on a whole flow: what the agent must and must not do,
 * judged from the stored tool calls, never from its text. Strict, so a typo (`forbidenTools:`) fails
 * with its path instead of silently checking nothing; contradictions that no run could satisfy are
 * refused too. See checkExpectations for how each field is judged.
 */
export const ZExpect = z
  .strictObject({
    /** Tools that must each have a successful call; a tool listed twice needs two. */
    tools: z
      .array(ZToolName)
      .min(1, "must list at least one tool (leave it out to require none)")
      .optional()
      .describe("Tools that must each have a successful call; a tool listed twice needs two."),
    /**
     * How `tools` is ordered among the successful calls: `exact` (those calls and no others, in this
     * order), `in_order` (in this order, other calls allowed between), `any_order` (the default).
     */
    order: ZToolOrder.optional().describe(
      "How tools is ordered among the successful calls: exact (those calls and no others, in this order), in_order (in this order, other calls allowed between), any_order (the default).",
    ),
    /** Tools that must not be called at all, not even in a call that failed. */
    forbiddenTools: z
      .array(ZToolName)
      .min(1, "must list at least one tool (leave it out to forbid none)")
      .optional()
      .describe("Tools that must not be called at all, not even in a call that failed."),
    /** At most this many tool calls, failed ones included. */
    maxToolCalls: z
      .int("must be a whole number")
      .min(0, "must be 0 or more")
      .optional()
      .describe("At most this many tool calls, failed ones included."),
    /** Per tool, a JSON subset that the input of at least one of its successful calls must contain (see findSubsetMismatch). */
    args: z
      .record(ZToolName, ZJsonValue)
      .refine((args) => Object.keys(args).length > 0, "must name at least one tool (leave it out to check no arguments)")
      .optional()
      .describe("Per tool, a JSON subset that the input of at least one of its successful calls must contain: { swap: { amount: 1 } }."),
    /** The score must be recorded and at least this. */
    minScore: ZScore.optional().describe("The score must be recorded and at least this (0 to 1)."),
  })
  .superRefine(refuseContradictions);
export type Expect = z.infer<typeof ZExpect>;

function refuseContradictions(expect: Expect, ctx: z.RefinementCtx): void {
  const required = expect.tools ?? [];
  if (expect.order !== undefined && required.length === 0) {
    ctx.addIssue({ code: "custom", path: ["order"], message: "applies to tools: list the tools whose order it checks" });
  }
  expect.forbiddenTools?.forEach((tool, index) => {
    if (required.includes(tool)) {
      ctx.addIssue({ code: "custom", path: ["forbiddenTools", index], message: `"${tool}" is also required in tools` });
    }
  });
  for (const tool of Object.keys(expect.args ?? {})) {
    if (expect.forbiddenTools?.includes(tool)) {
      ctx.addIssue({
        code: "custom",
        path: ["args", tool],
        message: `"${tool}" is forbidden in forbiddenTools, so no call can carry these arguments`,
      });
    }
  }
  // Each listed tool needs its own call, and so does each tool in args that tools does not list.
  const needed = required.length + Object.keys(expect.args ?? {}).filter((tool) => !required.includes(tool)).length;
  // zod runs this refinement after non-aborting failures too: a negative maxToolCalls is reported once, by its own rule.
  if (expect.maxToolCalls !== undefined && expect.maxToolCalls >= 0 && expect.maxToolCalls < needed) {
    ctx.addIssue({
      code: "custom",
      path: ["maxToolCalls"],
      message: `is less than the ${needed} successful calls that tools and args require`,
    });
  }
}
