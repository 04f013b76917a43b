// A flow file's expect blocks and scriptByRun: a bad one is refused with the path of the field, and
// the scripted agent replays the script of its own repetition.
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { OrchestratorError } from "../src/errors.js";
import { parseFlowPlan } from "../src/flow-plan.js";

const flow = (step: string, top = "") => `flowId: f\nprompt: p\n${top}steps:\n  - stepId: s\n    prompt: p\n${step}`;

function problem(text: string): string {
  try {
    parseFlowPlan(text);
  } catch (error) {
    expect(OrchestratorError.is(error, "INVALID_FLOW")).toBe(true);
    return (error as OrchestratorError).message;
  }
  throw new Error("the flow was accepted");
}

describe("expect and scriptByRun in flow files", () => {
  it.each([
    ["    expect: { forbidenTools: [rm] }\n", "", "steps[0].expect.forbidenTools: Unrecognized key: did you mean forbiddenTools?"],
    // Keys are matched case aside, at every depth: a step's, a script attempt's.
    ["    stepID: t\n", "", "steps[0].stepID: Unrecognized key: did you mean stepId?"],
    ["    script: [{ respone: hi }]\n", "", "steps[0].script[0].respone: Unrecognized key: did you mean response?"],
    ["    expect: { order: exact }\n", "", "steps[0].expect.order: applies to tools"],
    ["    expect: { tools: [a], forbiddenTools: [a] }\n", "", 'steps[0].expect.forbiddenTools[0]: "a" is also required in tools'],
    ["    expect: { minScore: 2 }\n", "", "steps[0].expect.minScore: must be between 0 and 1"],
    ["", "expect: { maxToolCalls: -1 }\n", "expect.maxToolCalls: must be 0 or more"],
    // A bad key is named, with what a key must be, instead of zod's "Invalid key in record".
    [
      '    scriptByRun: { "0": [] }\n',
      "",
      'steps[0].scriptByRun["0"]: the key "0" is not a run number: the keys of scriptByRun are run numbers (1, 2, …), one per run of reev eval --repeat',
    ],
    ["    scriptByRun: { two: [] }\n", "", 'steps[0].scriptByRun.two: the key "two" is not a run number'],
    ['    expect: { args: { "": {} } }\n', "", 'steps[0].expect.args[""]: the key "" must not be empty'],
  ])("refuses %j %j naming the field", (step, top, message) => {
    expect(problem(flow(step, top))).toContain(message);
  });

  it("says a missing field is required, in words, beside the key a typo put in its place", () => {
    const text = problem("flowId: f\nprompt: p\nsteps:\n  - stepID: s\n    prompt: p\n");
    expect(text).toContain("  - steps[0].stepId: is required\n");
    expect(text).toContain("  - steps[0].stepID: Unrecognized key: did you mean stepId?");
    expect(text).not.toContain("received undefined");
  });

  it("keeps a valid expect block as written", () => {
    const plan = parseFlowPlan(
      flow("    expect: { tools: [a, b], order: in_order, args: { a: { x: 1 } } }\n", "expect: { maxToolCalls: 3 }\n"),
    );
    expect(plan.steps[0]?.expect).toEqual({ tools: ["a", "b"], order: "in_order", args: { a: { x: 1 } } });
    expect(plan.expect).toEqual({ maxToolCalls: 3 });
  });

  it("the scripted agent of run n replays scriptByRun[n], else script", async () => {
    const plan = parseFlowPlan(flow('    script: [{ response: usual }]\n    scriptByRun: { "2": [{ response: second }] }\n'));
    const step = plan.steps[0]!;
    const context = { attempt: 1 } as Parameters<ScriptedAgent["run"]>[1];
    const signal = new AbortController().signal;
    const responses = await Promise.all([1, 2, 3].map((run) => new ScriptedAgent({ run }).run(step, context, signal)));
    expect(responses.map((r) => r.response)).toEqual(["usual", "second", "usual"]);
  });
});
