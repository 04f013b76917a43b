import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { OrchestratorError } from "../src/errors.js";
import { loadFlowPlan, loadFlowPlans, parseFlowPlan, ZFlowPlan } from "../src/flow-plan.js";

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/flows/${name}`, import.meta.url));

/** Parses `plan` (as JSON) and returns the INVALID_FLOW error it must raise. */
function invalid(plan: unknown, sourceName = "flow.json"): OrchestratorError {
  try {
    parseFlowPlan(JSON.stringify(plan), sourceName);
  } catch (error) {
    expect(error).toBeInstanceOf(OrchestratorError);
    expect((error as OrchestratorError).code).toBe("INVALID_FLOW");
    return error as OrchestratorError;
  }
  throw new Error("expected the flow plan to be rejected");
}

const step = (stepId: string, extra: Record<string, unknown> = {}) => ({ stepId, prompt: `do ${stepId}`, ...extra });
const plan = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ flowId: "f", prompt: "p", steps, ...extra });

describe("loadFlowPlan", () => {
  it("loads reev's 4-step jup multiply flow from YAML with defaults applied", async () => {
    const flow = await loadFlowPlan(fixture("jup-multiply-usdc.yaml"));
    expect(flow.flowId).toBe("jup-multiply-usdc");
    expect(flow.prompt).toBe("use my 50% sol to multiply usdc 1.5x on jup");
    expect(flow.atomic).toBe(false);
    expect(flow.context).toEqual({
      wallet: "USER_WALLET_PUBKEY",
      balances: { sol: 4, usdc: 20 },
      targetMultiplier: 1.5,
    });
    expect(flow.steps.map((s) => s.stepId)).toEqual(["balance_check", "swap_sol_to_usdc", "lend_usdc", "positions_check"]);
    expect(flow.steps.map((s) => s.requiredTools)).toEqual([
      ["get_account_balance"],
      ["jupiter_swap"],
      ["jupiter_lend_earn_deposit"],
      ["jupiter_earn"],
    ]);
    expect(flow.steps.map((s) => s.critical)).toEqual([true, true, false, false]);
    expect(flow.steps[1]?.retry).toEqual({ attempts: 3, backoffMs: 500, maxBackoffMs: 4000 });
    expect(flow.steps[1]?.prompt).toBe(
      "Swap 50% of the SOL balance ({{steps.balance_check.toolCalls[0].output.sol}} SOL) to USDC on Jupiter.",
    );
    expect(flow.steps[3]?.timeoutMs).toBeUndefined();
    expect(flow.steps[3]?.script).toBeUndefined();
  });

  it("loads a JSON flow with scripts, filling tool call defaults", async () => {
    const flow = await loadFlowPlan(fixture("scripted-retry.json"));
    expect(flow.atomic).toBe(true);
    expect(flow.context).toEqual({});
    const [flaky, stuck] = flow.steps;
    expect(flaky?.script).toEqual([
      { delayMs: 5, fail: "rpc node unavailable" },
      {
        response: "balance fetched",
        score: 0.9,
        toolCalls: [
          {
            toolName: "get_account_balance",
            input: { wallet: "w" },
            output: { sol: 4 },
            success: true,
            durationMs: 0,
          },
        ],
      },
    ]);
    expect(stuck).toMatchObject({ stepId: "stuck", timeoutMs: 50, requiredTools: [], critical: false });
    expect(stuck?.script).toEqual([{ hang: true }]);
  });

  it("reports every bad field of a file, naming the file", async () => {
    const path = fixture("invalid-many.yaml");
    const error = await loadFlowPlan(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchestratorError);
    const { code, message, path: firstPath } = error as OrchestratorError;
    expect(code).toBe("INVALID_FLOW");
    expect(firstPath).toBe("flowId");
    expect(message).toContain(path);
    for (const line of [
      "flowId: must not be empty",
      "steps[0].retry.attempts: must be at least 1",
      "steps[0].retry.maxBackoffMs: must be >= backoffMs (100)",
      "steps[1].timeoutMs: must be more than 0",
      "steps[1].script[0].toolCalls[0].durationMs: must be an integer number of milliseconds",
      "steps[1].script[0].score: must be at most 1",
      "steps[1].retyr: Unrecognized key: did you mean retry?",
      'steps[1].stepId: Duplicate stepId "a" (already used by steps[0])',
    ]) {
      expect(message).toContain(`  - ${line}`);
    }
  });

  it("reports a YAML syntax error with its cause", async () => {
    const error = (await loadFlowPlan(fixture("bad-syntax.yaml")).catch((e: unknown) => e)) as OrchestratorError;
    expect(error.code).toBe("INVALID_FLOW");
    expect(error.message).toContain("bad-syntax.yaml");
    expect(error.message).toMatch(/line \d+/);
    expect((error.cause as Error).name).toBe("YAMLParseError");
  });

  it("reports an unreadable file with its cause", async () => {
    const error = (await loadFlowPlan(fixture("does-not-exist.yaml")).catch((e: unknown) => e)) as OrchestratorError;
    expect(error.code).toBe("INVALID_FLOW");
    expect(error.message).toContain("does-not-exist.yaml");
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});

describe("loadFlowPlans", () => {
  it("loads every file, in order", async () => {
    const plans = await loadFlowPlans([fixture("jup-multiply-usdc.yaml"), fixture("scripted-retry.json")]);
    expect(plans.map((p) => p.flowId)).toEqual(["jup-multiply-usdc", (await loadFlowPlan(fixture("scripted-retry.json"))).flowId]);
  });

  it("one bad file among good ones throws that file's own error, as loadFlowPlan does", async () => {
    const bad = fixture("invalid-many.yaml");
    const error = (await loadFlowPlans([fixture("jup-multiply-usdc.yaml"), bad]).catch((e: unknown) => e)) as OrchestratorError;
    const alone = (await loadFlowPlan(bad).catch((e: unknown) => e)) as OrchestratorError;
    expect(error).toBeInstanceOf(OrchestratorError);
    expect({ code: error.code, message: error.message, path: error.path }).toEqual({
      code: "INVALID_FLOW",
      message: alone.message,
      path: alone.path,
    });
  });

  it("several bad files are one INVALID_FLOW error with each file's own words, in order, and each error as its cause", async () => {
    const files = [
      fixture("invalid-many.yaml"),
      fixture("jup-multiply-usdc.yaml"),
      fixture("bad-syntax.yaml"),
      fixture("does-not-exist.yaml"),
    ];
    const error = (await loadFlowPlans(files).catch((e: unknown) => e)) as OrchestratorError;
    expect(error).toBeInstanceOf(OrchestratorError);
    expect(error.code).toBe("INVALID_FLOW");
    const each = (await Promise.all(
      [files[0], files[2], files[3]].map((f) => loadFlowPlan(f as string).catch((e: unknown) => e)),
    )) as Error[];
    expect(error.message).toBe(`3 of 4 flow files are invalid:\n${each.map((e) => e.message.trimEnd()).join("\n")}`);
    expect(error.message).not.toContain("jup-multiply-usdc.yaml");
    expect(error.cause).toBeInstanceOf(AggregateError);
    const causes = (error.cause as AggregateError).errors as OrchestratorError[];
    expect(causes.map((e) => [e.code, e.message])).toEqual(each.map((e) => ["INVALID_FLOW", e.message]));
  });
});

describe("parseFlowPlan", () => {
  it("detects JSON and YAML without a source name", () => {
    const json = parseFlowPlan(JSON.stringify(plan([step("a")])));
    const yaml = parseFlowPlan("flowId: f\nprompt: p\nsteps:\n  - stepId: a\n    prompt: do a\n");
    expect(yaml).toEqual(json);
    expect(json).toEqual({
      flowId: "f",
      prompt: "p",
      context: {},
      atomic: false,
      steps: [{ stepId: "a", prompt: "do a", requiredTools: [], critical: false }],
    });
  });

  it("a scripted tool call with an error failed unless it says otherwise, and success: true beside an error is refused, naming it", () => {
    const calls = (toolCalls: unknown[]) =>
      `flowId: f\nprompt: p\nsteps:\n  - stepId: a\n    prompt: x\n    script:\n      - toolCalls: ${JSON.stringify(toolCalls)}\n`;
    const parsed = parseFlowPlan(
      calls([{ toolName: "swap", error: "slippage" }, { toolName: "swap" }, { toolName: "swap", success: false }]),
    );
    expect(parsed.steps[0]?.script?.[0]?.toolCalls).toEqual([
      { toolName: "swap", success: false, durationMs: 0, error: "slippage" },
      { toolName: "swap", success: true, durationMs: 0 },
      { toolName: "swap", success: false, durationMs: 0 },
    ]);
    // What the parse gives parses again to itself (an evaluation stores its flows and rebuilds from them).
    expect(ZFlowPlan.parse(parsed)).toEqual(parsed);
    const error = (() => {
      try {
        parseFlowPlan(calls([{ toolName: "swap", success: true, error: "slippage" }]), "f.yaml");
      } catch (e) {
        return e as OrchestratorError;
      }
    })();
    expect(error?.path).toBe("steps[0].script[0].toolCalls[0].error");
    expect(error?.message).toContain(
      "steps[0].script[0].toolCalls[0].error: is given with success: true; a call that succeeded has no error: drop error, or say success: false",
    );
  });

  it("parses by extension when a source name is given", () => {
    const yamlText = "flowId: f\nprompt: p\nsteps: [{ stepId: a, prompt: x }]\n";
    expect(parseFlowPlan(yamlText, "flow.yml").flowId).toBe("f");
    const error = (() => {
      try {
        return parseFlowPlan(yamlText, "flow.json");
      } catch (e) {
        return e as OrchestratorError;
      }
    })() as OrchestratorError;
    expect(error.code).toBe("INVALID_FLOW");
    expect(error.message).toContain("Cannot parse flow.json as a flow file");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("a JSON syntax error is placed by line and column, not only by JSON.parse's character offset", () => {
    const text = '{\n  "flowId": "f",\n  "steps": []\n  "agent": "x"\n}\n';
    expect(() => parseFlowPlan(text, "flow.json")).toThrow(
      expect.objectContaining({
        code: "INVALID_FLOW",
        message:
          "Cannot parse flow.json as a flow file: Expected ',' or '}' after property value in JSON at position 35 (line 4, column 3)",
      }),
    );
  });

  it.each([
    ["missing flowId", { prompt: "p", steps: [step("a")] }, "flowId"],
    ["too long flowId", plan([step("a")], { flowId: "x".repeat(256) }), "flowId"],
    ["non-string prompt", plan([step("a")], { prompt: 3 }), "prompt"],
    ["non-object context", plan([step("a")], { context: [1] }), "context"],
    ["non-boolean atomic", plan([step("a")], { atomic: "yes" }), "atomic"],
    ["no steps", plan([]), "steps"],
    ["steps not an array", plan([], { steps: {} }), "steps"],
    ["unknown top-level key", plan([step("a")], { atomik: true }), "atomik"],
    ["empty stepId", plan([step("a"), { stepId: "", prompt: "x" }]), "steps[1].stepId"],
    ["missing step prompt", plan([{ stepId: "a" }]), "steps[0].prompt"],
    ["non-string required tool", plan([step("a", { requiredTools: ["ok", 1] })]), "steps[0].requiredTools[1]"],
    ["non-boolean critical", plan([step("a", { critical: 1 })]), "steps[0].critical"],
    ["zero timeout", plan([step("a", { timeoutMs: 0 })]), "steps[0].timeoutMs"],
    ["fractional timeout", plan([step("a", { timeoutMs: 1.5 })]), "steps[0].timeoutMs"],
    ["zero attempts", plan([step("a"), step("b", { retry: { attempts: 0, backoffMs: 0, maxBackoffMs: 0 } })]), "steps[1].retry.attempts"],
    ["negative backoff", plan([step("a", { retry: { attempts: 1, backoffMs: -1, maxBackoffMs: 0 } })]), "steps[0].retry.backoffMs"],
    [
      "max backoff below backoff",
      plan([step("a", { retry: { attempts: 2, backoffMs: 100, maxBackoffMs: 99 } })]),
      "steps[0].retry.maxBackoffMs",
    ],
    ["retry without attempts", plan([step("a", { retry: { backoffMs: 0, maxBackoffMs: 0 } })]), "steps[0].retry.attempts"],
    [
      "unknown retry key",
      plan([step("a", { retry: { attempts: 1, backoffMs: 0, maxBackoffMs: 0, jitter: true } })]),
      "steps[0].retry.jitter",
    ],
    ["unknown step key", plan([step("a", { requiredTool: ["x"] })]), "steps[0].requiredTool"],
    ["negative delay", plan([step("a", { script: [{ delayMs: -1 }] })]), "steps[0].script[0].delayMs"],
    ["score above 1", plan([step("a", { script: [{}, { score: 1.01 }] })]), "steps[0].script[1].score"],
    ["non-string fail", plan([step("a", { script: [{ fail: true }] })]), "steps[0].script[0].fail"],
    ["non-boolean hang", plan([step("a", { script: [{ hang: "yes" }] })]), "steps[0].script[0].hang"],
    ["unknown script key", plan([step("a", { script: [{ respone: "x" }] })]), "steps[0].script[0].respone"],
    ["tool call without name", plan([step("a", { script: [{ toolCalls: [{}] }] })]), "steps[0].script[0].toolCalls[0].toolName"],
    [
      "negative tool duration",
      plan([step("a", { script: [{ toolCalls: [{ toolName: "t", durationMs: -1 }] }] })]),
      "steps[0].script[0].toolCalls[0].durationMs",
    ],
    [
      "unknown tool call key",
      plan([step("a", { script: [{ toolCalls: [{ toolName: "t", ok: true }] }] })]),
      "steps[0].script[0].toolCalls[0].ok",
    ],
  ])("%s → %s", (_name, input, path) => {
    const error = invalid(input);
    expect(error.path).toBe(path);
    expect(error.message).toContain(`  - ${path}: `);
    expect(error.message).toContain("flow.json");
  });

  it("says what is wrong in a person's words, not zod's ('Invalid input: expected number, received string')", () => {
    const error = invalid({
      flowId: "x",
      prompt: 5,
      atomic: "yes",
      steps: [step("a", { timeoutMs: "abc", expect: { tools: ["x"], order: "exakt" } }), step("b", { script: [] })],
    });
    const lines = error.message.split("\n").slice(1);
    for (const line of [
      "  - prompt: must be text, not 5",
      '  - atomic: must be true or false, not the text "yes"',
      '  - steps[0].timeoutMs: must be a number, not the text "abc"',
      '  - steps[0].expect.order: must be one of exact, in_order or any_order, not the text "exakt". Did you mean exact?',
    ])
      expect(lines).toContain(line);
    expect(invalid({ flowId: "x", prompt: "p", steps: [] }).message).toContain("  - steps: must have at least 1 item");
    expect(error.message).not.toMatch(/Invalid input|expected \w+, received|Too (small|big)/);
  });

  it("reports the root when the document is not an object", () => {
    const error = invalid(["not", "a", "flow"]);
    expect(error.path).toBe("");
    expect(error.message).toContain("  - (root): must be a mapping (key: value), not a list");
  });

  it("reports each duplicate stepId at the later occurrence", () => {
    const error = invalid(plan([step("a"), step("b"), step("a"), step("b")]));
    expect(error.path).toBe("steps[2].stepId");
    expect(error.message).toContain('  - steps[2].stepId: Duplicate stepId "a" (already used by steps[0])');
    expect(error.message).toContain('  - steps[3].stepId: Duplicate stepId "b" (already used by steps[1])');
  });

  it("reports duplicates together with other errors, exactly once", () => {
    const error = invalid(plan([step("a", { timeoutMs: 2.5 }), step("a", { critical: "no" })]));
    const lines = error.message.split("\n").slice(1);
    expect(lines).toEqual([
      "  - steps[0].timeoutMs: must be a whole number, not 2.5",
      '  - steps[1].critical: must be true or false, not the text "no"',
      '  - steps[1].stepId: Duplicate stepId "a" (already used by steps[0])',
    ]);
    const withoutAbort = invalid(plan([step("a"), step("a", { critical: "no" })]));
    expect(withoutAbort.message.match(/Duplicate stepId/g)).toHaveLength(1);
  });

  it("names unknown keys individually and quotes keys that are not identifiers", () => {
    const error = invalid(plan([step("a")], { "my key": 1, other: 2 }), "flows/x.json");
    expect(error.message).toContain('  - ["my key"]: Unrecognized key');
    expect(error.message).toContain("  - other: Unrecognized key");
    expect(error.message).toContain("flows/x.json");
  });

  it("names an inline flow when there is no source name", () => {
    expect(() => parseFlowPlan("{}")).toThrow(/Invalid flow plan in <inline flow>:/);
  });

  it("a prompt that refers to a step that does not exist, or comes later, is an error naming the step and the reference", () => {
    const error = invalid(
      plan([
        step("balance"),
        step("swap", { prompt: "swap {{steps.balanse.response}} then {{ steps.lend.toolCalls[0].output }}" }),
        step("lend", { prompt: "lend {{steps.balance.response}} and {{steps.lend.response}}" }),
      ]),
    );
    expect(error.path).toBe("steps[1].prompt");
    expect(error.message.split("\n").slice(1)).toEqual([
      '  - steps[1].prompt: {{steps.balanse.response}} in step "swap" refers to step "balanse", but no step has the id "balanse"; a prompt can only use earlier steps\' results. Did you mean balance?',
      '  - steps[1].prompt: {{steps.lend.toolCalls[0].output}} in step "swap" refers to step "lend", but step "lend" (steps[2]) runs later; a prompt can only use earlier steps\' results',
      '  - steps[2].prompt: {{steps.lend.response}} in step "lend" refers to step "lend", but it is this step\'s own result, which does not exist yet; a prompt can only use earlier steps\' results',
    ]);
    // Earlier steps, and paths that are not about steps, are fine.
    expect(() =>
      parseFlowPlan(JSON.stringify(plan([step("a"), step("b", { prompt: "{{steps.a.response}} {{context.x}}" })], { context: { x: 1 } }))),
    ).not.toThrow();
  });

  it("a placeholder that can never resolve is an error with what it most likely meant: a name, a result's field, a context key", () => {
    const error = invalid(
      plan(
        [
          step("balance", { prompt: "{{prompt}} for {{context.walet}}" }),
          step("swap", { prompt: "{{previus.response}} {{previous.respone}} {{steps.balance.toolCall[0]}} {{ context.wallet.address }}" }),
        ],
        { context: { wallet: { address: "w1" }, position: 2 } },
      ),
    );
    expect(error.message.split("\n").slice(1)).toEqual([
      '  - steps[1].prompt: {{previus.response}} in step "swap": a placeholder begins with prompt, context, previous or steps, not "previus". Did you mean previous?',
      '  - steps[1].prompt: {{previous.respone}} in step "swap": a step\'s result has no "respone" (its fields: stepIndex, stepId, status, response, toolCalls, error). Did you mean response?',
      '  - steps[1].prompt: {{steps.balance.toolCall[0]}} in step "swap": a step\'s result has no "toolCall" (its fields: stepIndex, stepId, status, response, toolCalls, error). Did you mean toolCalls?',
      '  - steps[0].prompt: {{context.walet}} in step "balance": the flow\'s context has no key "walet" (its keys: wallet, position). Did you mean wallet?',
    ]);
    // The first step has no previous step.
    expect(invalid(plan([step("a", { prompt: "after {{previous.response}}" })])).message).toContain(
      '{{previous.response}} in step "a": the first step has no previous step, so it would always be missing.',
    );
    // No context at all: said as such.
    expect(invalid(plan([step("a", { prompt: "{{context.wallet}}" })])).message).toContain(
      '{{context.wallet}} in step "a": the flow\'s context is empty: it has no key "wallet".',
    );
    // A key misspelt in several steps is one problem naming them all, at the first one's path.
    const everywhere = invalid(
      plan(
        [
          step("a", { prompt: "{{context.walet}}" }),
          step("b", { prompt: "{{context.position}}" }),
          step("c", { prompt: "{{ context.walet }} and {{context.walet.address}}" }),
          step("d", { prompt: "{{context.postion}}" }),
        ],
        { context: { wallet: "w1", position: 2 } },
      ),
    );
    expect(everywhere.message.split("\n").slice(1)).toEqual([
      '  - steps[0].prompt: {{context.walet}} in 2 steps (a, c): the flow\'s context has no key "walet" (its keys: wallet, position). Did you mean wallet?',
      '  - steps[3].prompt: {{context.postion}} in step "d": the flow\'s context has no key "postion" (its keys: wallet, position). Did you mean position?',
    ]);
  });

  it("rejects duplicates through the schema alone as well", () => {
    const result = ZFlowPlan.safeParse(plan([step("a"), step("a")]));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["steps", 1, "stepId"]);
  });
});
