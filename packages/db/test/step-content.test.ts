// parseStepContent: reev's YAML StepResult, JSON (camelCase and snake_case), tool calls as strings and
// objects; content that is not a step document is stored exactly as given with empty structured fields.
import { describe, expect, it } from "vitest";
import { parseStepContent, prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution } from "./helpers.js";

// serde_yaml::to_string(&StepResult) as reev's PingPongExecutor stored it (reev-domain.md §3).
const REEV_YAML_SUCCESS = `step_id: balance_check
success: true
error_message: null
tool_calls:
- get_account_balance
output:
  duration_ms: 4477
  response: "I checked the wallet: 2.5 SOL and 100 USDC."
execution_time_ms: 4477
`;
const REEV_YAML_TIMEOUT = `step_id: complex_swap
success: false
error_message: 'Step execution failed: Step complex_swap timed out after 30000ms'
tool_calls: []
output:
  error: Step complex_swap timed out after 30000ms
  step_index: 1
execution_time_ms: 0
`;
// The shape of reev's pingpong_database_test.rs.
const REEV_TEST_YAML = `step_id: step_1
success: true
tool_calls: ["get_account_balance"]
output: {"step": 0, "data": "test_data"}
execution_time_ms: 1000
`;

// Already in the stored shape: read back as it is.
const CAMEL = {
  stepId: "complex_lend",
  success: false,
  score: 0.3,
  startedAt: "2025-11-07T10:00:00.000Z",
  finishedAt: "2025-11-07T10:00:02.500Z",
  durationMs: 2500,
  error: "insufficient USDC",
  toolCalls: [
    {
      toolName: "jupiter_lend_earn_deposit",
      input: { amount: 50 },
      output: { error: "insufficient" },
      success: false,
      durationMs: 2400,
      error: "insufficient USDC",
    },
  ],
};
const CAMEL_JSON = JSON.stringify(CAMEL);
const SNAKE_JSON = JSON.stringify({
  step_id: "positions_check",
  success: true,
  started_at: "2025-11-07T10:00:03Z",
  finished_at: "2025-11-07T10:00:04Z",
  duration_ms: 1000,
  error_message: null,
  tool_calls: [
    {
      tool_name: "get_jupiter_lend_earn_position",
      params: { user: "abc" },
      result: { positions: [] },
      success: true,
      execution_time_ms: 900,
      error_message: null,
    },
  ],
});

describe("parseStepContent", () => {
  test("reads reev's YAML StepResult (snake_case, tool calls as bare names, output ignored)", () => {
    expect(parseStepContent(REEV_YAML_SUCCESS)).toEqual({
      stepId: "balance_check",
      success: true,
      error: null,
      durationMs: 4477,
      toolCalls: [{ toolName: "get_account_balance", success: null }],
    });
    expect(parseStepContent(REEV_YAML_TIMEOUT)).toEqual({
      stepId: "complex_swap",
      success: false,
      error: "Step execution failed: Step complex_swap timed out after 30000ms",
      durationMs: 0,
      toolCalls: [],
    });
    expect(parseStepContent(REEV_TEST_YAML)).toEqual({
      stepId: "step_1",
      success: true,
      durationMs: 1000,
      toolCalls: [{ toolName: "get_account_balance", success: null }],
    });
  });

  test("reads JSON with camelCase keys", () => {
    expect(parseStepContent(CAMEL_JSON)).toEqual(CAMEL);
  });

  test("reads JSON with snake_case keys and reev's tool-call field names", () => {
    expect(parseStepContent(SNAKE_JSON)).toEqual({
      stepId: "positions_check",
      success: true,
      startedAt: "2025-11-07T10:00:03Z",
      finishedAt: "2025-11-07T10:00:04Z",
      durationMs: 1000,
      error: null,
      toolCalls: [
        {
          toolName: "get_jupiter_lend_earn_position",
          input: { user: "abc" },
          output: { positions: [] },
          success: true,
          durationMs: 900,
          error: null,
        },
      ],
    });
  });

  test("takes tool calls as strings and as objects in one list, in order", () => {
    const fields = parseStepContent(
      JSON.stringify({ tool_calls: ["get_account_balance", { name: "jupiter_swap", arguments: { pct: 50 } }, { tool: "x", args: [1] }] }),
    );
    expect(fields?.toolCalls).toEqual([
      { toolName: "get_account_balance", success: null },
      { toolName: "jupiter_swap", input: { pct: 50 } },
      { toolName: "x", input: [1] },
    ]);
  });

  test("status: only reev's step outcomes count; `status: completed` is ignored", () => {
    expect(parseStepContent("step_id: s\nstatus: completed\n")).toEqual({ stepId: "s" });
    expect(parseStepContent('{"status": "timed_out", "success": false}')).toEqual({ status: "timed_out", success: false });
    expect(parseStepContent("status: skipped")).toEqual({ status: "skipped" });
  });

  test("keeps an object error as JSON text", () => {
    expect(parseStepContent('{"error": {"code": 404, "message": "not found"}}')).toEqual({ error: '{"code":404,"message":"not found"}' });
  });

  test("reads YAML flow style that is not JSON", () => {
    expect(parseStepContent("{step_id: s, success: true}")).toEqual({ stepId: "s", success: true });
  });

  test("reads YAML only when it starts like a mapping and is at most 1 MiB: prose and huge text are not parsed", () => {
    expect(parseStepContent("# reev step\n---\nstep_id: s\nsuccess: true\n")).toEqual({ stepId: "s", success: true });
    // Megabytes of prose would take seconds of YAML parsing on the event loop, for no step fields.
    const prose = "The agent said: ".concat("it swapped, then it lent, then it checked. ".repeat(60_000));
    expect(prose.length).toBeGreaterThan(1024 * 1024);
    expect(parseStepContent(prose)).toBeUndefined();
    const hugeYaml = `step_id: big\nnote: "${"x".repeat(1024 * 1024)}"\n`;
    expect(parseStepContent(hugeYaml)).toBeUndefined();
    // JSON has no such limit: it is parsed in C, linearly.
    expect(parseStepContent(JSON.stringify({ step_id: "big", note: "x".repeat(2 * 1024 * 1024) }))).toEqual({ stepId: "big" });
  });

  it.each([
    ["free text", "The swap went through. I also checked the balance, all good!\nNext I will"],
    ["free text that breaks YAML", "Result:\n  - a\n b: [unclosed"],
    ["a YAML scalar", "42"],
    ["a quoted YAML string", '"just a string"'],
    ["a JSON array", '[{"step_id": "s", "success": true}]'],
    ["a YAML list", "- get_account_balance\n- jupiter_swap\n"],
    ["null", "null"],
    ["an empty string", ""],
    ["broken JSON", '{"step_id": "s", '],
  ])("%s → undefined", (_, content) => {
    expect(parseStepContent(content)).toBeUndefined();
  });
});

describe.each(testBackends())("step content stored on $name", (backend) => {
  test.override({ backend });

  test("reev's YAML is stored exactly and its structured fields filled", async ({ db }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStepSession(id, 0, REEV_YAML_SUCCESS);
    await db.writer.storeStepSession(id, 1, REEV_YAML_TIMEOUT);
    await db.writer.storeStepSession(id, 2, SNAKE_JSON);
    await db.writer.storeStepSession(id, 3, CAMEL_JSON);
    const [s0, s1, s2, s3] = await db.writer.getSessionsForConsolidation(id);
    expect(s0).toMatchObject({
      content: REEV_YAML_SUCCESS,
      stepId: "balance_check",
      status: "success",
      success: true,
      error: null,
      durationMs: 4477,
      score: null,
      toolCalls: [{ callIndex: 0, toolName: "get_account_balance", success: null, input: null, output: null }],
    });
    expect(s1).toMatchObject({
      content: REEV_YAML_TIMEOUT,
      status: "failed",
      success: false,
      error: "Step execution failed: Step complex_swap timed out after 30000ms",
      durationMs: 0,
      toolCalls: [],
    });
    expect(s2).toMatchObject({
      content: SNAKE_JSON,
      status: "success",
      startedAt: new Date("2025-11-07T10:00:03.000Z"),
      finishedAt: new Date("2025-11-07T10:00:04.000Z"),
      toolCalls: [
        { toolName: "get_jupiter_lend_earn_position", input: { user: "abc" }, output: { positions: [] }, success: true, durationMs: 900 },
      ],
    });
    expect(s3).toMatchObject({
      content: CAMEL_JSON,
      status: "failed",
      score: 0.3,
      error: "insufficient USDC",
      startedAt: new Date("2025-11-07T10:00:00.000Z"),
    });
  });

  test("content that is not a step document is stored byte-identical with status unknown and empty fields", async ({ db }) => {
    const id = await createExecution(db.writer);
    const contents = [
      "The swap went through.\r\nTrailing spaces   \n\n\ttab\u00a0nbsp ünïcødé 🚀 \\u0000 (escaped, not a NUL)",
      "Result:\n  - a\n b: [unclosed",
      "42",
      '[{"step_id": "s", "success": true}]',
      "- get_account_balance\n",
      "",
      "step_id: s9\nstatus: completed\n",
    ];
    for (const [i, content] of contents.entries()) await db.writer.storeStepSession(id, i, content);
    const sessions = await db.writer.getSessionsForConsolidation(id);
    expect(sessions.map((s) => s.content)).toEqual(contents);
    for (const s of sessions.slice(0, -1)) {
      expect(s).toMatchObject({
        status: "unknown",
        success: null,
        stepId: null,
        score: null,
        durationMs: null,
        error: null,
        startedAt: null,
        toolCalls: [],
      });
    }
    // `status: completed` is not a step outcome: the step id is read, the status stays unknown.
    expect(sessions.at(-1)).toMatchObject({ stepId: "s9", status: "unknown", success: null });
    // Byte-identical in the table as well.
    const rows = await prismaClientOf(db).stepSession.findMany({
      where: { executionId: id },
      orderBy: { stepIndex: "asc" },
      select: { content: true },
    });
    expect(rows.map((r) => Buffer.from(r.content, "utf8").toString("hex"))).toEqual(
      contents.map((c) => Buffer.from(c, "utf8").toString("hex")),
    );
  });
});
