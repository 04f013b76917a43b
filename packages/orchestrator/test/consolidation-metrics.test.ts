import type { SessionLog } from "@reev/db";
import { describe, expect, it } from "vitest";
import { ZConsolidatedContent } from "../src/consolidated-content.js";
import { buildConsolidation, computeMetrics, defaultConsolidatedId } from "../src/consolidation.js";

/** A committed step as getSessionsForConsolidation returns it; `calls` successful tool calls by default. */
function session(stepIndex: number, fields: Partial<SessionLog> & { calls?: number } = {}): SessionLog {
  const { calls = 0, ...rest } = fields;
  const status = rest.status ?? "success";
  return {
    sessionId: `exec-1_step_${stepIndex}`,
    executionId: "exec-1",
    stepIndex,
    content: JSON.stringify({ stepIndex, status }),
    timestamp: new Date("2025-03-01T10:00:10.000Z"),
    status,
    stepId: `step_${stepIndex}`,
    success: status === "unknown" ? null : status === "success",
    score: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    error: null,
    errorKind: null,
    attempts: [],
    toolCalls: Array.from({ length: calls }, (_, callIndex) => ({
      callIndex,
      attempt: null,
      toolName: `tool_${callIndex}`,
      input: { n: callIndex },
      output: { ok: true },
      success: true,
      durationMs: 10,
      error: null,
    })),
    ...rest,
  };
}

describe("computeMetrics on hand-computed tables", () => {
  it("reev's 4-step demo: scores given for every step", () => {
    // step | status  | score | tools | started  | finished
    //   0  | success | 0.9   |   1   | 10:00:00 | 10:00:04.477
    //   1  | failed  | 0.2   |   2   | 10:00:05 | 10:00:27.406
    //   2  | success | 0.7   |   1   | 10:00:28 | 10:00:30
    //   3  | success | 1.0   |   0   | 10:00:31 | 10:00:31.500
    const sessions = [
      session(0, {
        score: 0.9,
        calls: 1,
        startedAt: new Date("2025-03-01T10:00:00.000Z"),
        finishedAt: new Date("2025-03-01T10:00:04.477Z"),
      }),
      session(1, {
        status: "failed",
        score: 0.2,
        calls: 2,
        startedAt: new Date("2025-03-01T10:00:05.000Z"),
        finishedAt: new Date("2025-03-01T10:00:27.406Z"),
        error: "Invalid parameters",
      }),
      session(2, {
        score: 0.7,
        calls: 1,
        startedAt: new Date("2025-03-01T10:00:28.000Z"),
        finishedAt: new Date("2025-03-01T10:00:30.000Z"),
      }),
      session(3, { score: 1, calls: 0, startedAt: new Date("2025-03-01T10:00:31.000Z"), finishedAt: new Date("2025-03-01T10:00:31.500Z") }),
    ];
    const m = computeMetrics(sessions);
    expect(m).toEqual({
      successful_steps: 3,
      failed_steps: 1,
      skipped_steps: 0,
      total_steps: 4,
      infrastructure_errors: 0,
      success_rate: 75, // 3 / 4 × 100
      avg_score: expect.closeTo(0.7, 12), // (0.9 + 0.2 + 0.7 + 1.0) / 4 = 2.8 / 4
      total_tools: 4, // 1 + 2 + 1 + 0
      execution_duration_ms: 31_500, // 10:00:31.500 − 10:00:00
      total_input_tokens: null, // no attempt recorded usage
      total_output_tokens: null,
      cost_usd: null,
      // Why, stored with it: no view could tell later.
      cost_unknown: [{ reason: "no_usage", reported: "no_attempts" }],
    });
  });

  it("no scores: avg_score is null, never the success rate in disguise", () => {
    const sessions = [session(0), session(1), session(2, { status: "failed" }), session(3, { status: "timed_out" }), session(4)];
    const m = computeMetrics(sessions);
    expect(m.avg_score).toBeNull();
    expect(m.success_rate).toBe(60);
    expect(m.successful_steps).toBe(3);
    expect(m.failed_steps).toBe(2); // timed out counts as not successful, and not as skipped
    expect(m.skipped_steps).toBe(0);
    expect(m.execution_duration_ms).toBeNull(); // no timings at all
  });

  it("mixed: the mean of the scores that were given; steps without a score do not count toward it", () => {
    // step | status  | score
    //   0  | success | 0.5
    //   1  | success |  —
    //   2  | failed  | 0.25   (a failed step may still carry a judge's score)
    //   3  | failed  |  —
    //   4  | skipped |  —
    //   5  | skipped |  —
    // avg = (0.5 + 0.25) / 2; success_rate = 2 / 6 × 100
    const sessions = [
      session(0, { score: 0.5, calls: 3 }),
      session(1, { calls: 1 }),
      session(2, { status: "failed", score: 0.25, calls: 2 }),
      session(3, { status: "failed" }),
      session(4, { status: "skipped" }),
      session(5, { status: "skipped" }),
    ];
    const m = computeMetrics(sessions);
    expect(m.avg_score).toBeCloseTo(0.375, 12);
    expect(m.success_rate).toBeCloseTo(100 / 3, 12);
    expect(m.successful_steps).toBe(2);
    expect(m.failed_steps).toBe(2);
    expect(m.skipped_steps).toBe(2);
    expect(m.total_steps).toBe(6);
    expect(m.total_tools).toBe(6);
  });

  it("without any score, whatever the outcomes: avg_score null", () => {
    const m = computeMetrics([session(0), session(1, { status: "failed" }), session(2, { status: "skipped" }), session(3)]);
    expect(m.avg_score).toBeNull();
  });

  it("a score of 0 on a successful step is a score, not a missing one", () => {
    const m = computeMetrics([session(0, { score: 0 }), session(1, { score: 1 }), session(2)]);
    expect(m.avg_score).toBe(0.5); // (0 + 1) / 2: step 2 has no score and does not count
  });

  it("steps of unknown outcome count as not successful and not skipped", () => {
    const m = computeMetrics([session(0, { status: "unknown" }), session(1)]);
    expect(m).toMatchObject({ successful_steps: 1, failed_steps: 1, skipped_steps: 0, success_rate: 50, avg_score: null });
  });

  it("execution_duration_ms is latest finish − earliest start, whatever the order, skipping steps without timings", () => {
    // Step 1 started first (09:59:58) and step 0 finished last (10:00:09): 11 s. Skipped step 2 has no timings.
    const sessions = [
      session(0, { startedAt: new Date("2025-03-01T10:00:00.000Z"), finishedAt: new Date("2025-03-01T10:00:09.000Z") }),
      session(1, { startedAt: new Date("2025-03-01T09:59:58.000Z"), finishedAt: new Date("2025-03-01T10:00:01.000Z") }),
      session(2, { status: "skipped" }),
    ];
    expect(computeMetrics(sessions).execution_duration_ms).toBe(11_000);
    expect(computeMetrics([session(0, { startedAt: new Date("2025-03-01T10:00:00.000Z") })]).execution_duration_ms).toBeNull();
    expect(
      computeMetrics([session(0, { startedAt: new Date("2025-03-01T10:00:00.000Z"), finishedAt: new Date("2025-03-01T10:00:00.000Z") })])
        .execution_duration_ms,
    ).toBe(0);
  });

  it("total_tools counts recorded calls, failed ones included", () => {
    const failedCall = {
      callIndex: 0,
      attempt: null,
      toolName: "swap",
      input: null,
      output: null,
      success: false,
      durationMs: null,
      error: "x",
    };
    const m = computeMetrics([session(0, { calls: 2 }), session(1, { status: "failed", toolCalls: [failedCall] })]);
    expect(m.total_tools).toBe(3);
  });

  it("no steps: zero counts, not NaN; no rate, no score and no usage are null", () => {
    expect(computeMetrics([])).toEqual({
      successful_steps: 0,
      failed_steps: 0,
      skipped_steps: 0,
      total_steps: 0,
      infrastructure_errors: 0,
      success_rate: null,
      avg_score: null,
      total_tools: 0,
      execution_duration_ms: null,
      total_input_tokens: null,
      total_output_tokens: null,
      cost_usd: null,
      // Why, stored with it: no view could tell later.
      cost_unknown: [{ reason: "no_usage", reported: "no_attempts" }],
    });
  });

  it("usage: each count summed over every attempt of the steps that ran; null as soon as one attempt lacks it", () => {
    const attempt = (n: number, inputTokens: number | null, outputTokens: number | null) => ({
      attempt: n,
      status: "failed" as const,
      error: null,
      errorKind: null,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      model: "m",
      inputTokens,
      outputTokens,
      cachedInputTokens: null,
    });
    // step 0: two attempts (100 + 40 in, 10 + 5 out); step 1: one (7 in, no output count); step 2 skipped.
    const sessions = [
      session(0, { attempts: [attempt(1, 100, 10), attempt(2, 40, 5)] }),
      session(1, { attempts: [attempt(1, 7, null)] }),
      session(2, { status: "skipped" }),
    ];
    expect(computeMetrics(sessions)).toMatchObject({ total_input_tokens: 147, total_output_tokens: null });
    // A step that ran without any recorded attempt makes the sum unknown too.
    expect(computeMetrics([...sessions.slice(0, 1), session(3)]).total_input_tokens).toBeNull();
    const document = buildConsolidation({
      consolidatedSessionId: "c",
      executionId: "exec-1",
      flowId: null,
      prompt: null,
      consolidatedAt: new Date(0),
      sessions,
    }).document;
    expect(document.steps.map((s) => [s.attempts, s.input_tokens, s.output_tokens])).toEqual([
      [2, 140, 15],
      [1, 7, null],
      [undefined, undefined, undefined],
    ]);
  });

  it("infrastructure errors are counted apart, and among the failed steps", () => {
    const m = computeMetrics([
      session(0, { status: "failed", error: "POST … answered 503", errorKind: "infrastructure" }),
      session(1, { status: "failed", error: "wrong tool", errorKind: "agent" }),
      session(2),
    ]);
    expect(m).toMatchObject({ failed_steps: 2, infrastructure_errors: 1 });
  });
});

describe("buildConsolidation", () => {
  const sessions = [
    session(0, {
      score: 0.8,
      startedAt: new Date("2025-03-01T10:00:00.000Z"),
      finishedAt: new Date("2025-03-01T10:00:04.477Z"),
      durationMs: 4477,
      toolCalls: [
        {
          callIndex: 0,
          attempt: null,
          toolName: "get_account_balance",
          input: { z: 1, a: { y: 2, b: 3 } },
          output: { sol: 4 },
          success: true,
          durationMs: 12,
          error: null,
        },
      ],
    }),
    session(1, {
      status: "failed",
      error: "Invalid parameters",
      startedAt: new Date("2025-03-01T10:00:05.000Z"),
      finishedAt: new Date("2025-03-01T10:00:27.406Z"),
      durationMs: 22406,
      toolCalls: [
        {
          callIndex: 0,
          attempt: null,
          toolName: "jupiter_swap",
          input: { amount: 2 },
          output: null,
          success: false,
          durationMs: 30,
          error: "Invalid parameters",
        },
        {
          callIndex: 1,
          attempt: null,
          toolName: "jupiter_swap",
          input: { amount: 1 },
          output: null,
          success: false,
          durationMs: 31,
          error: "Invalid parameters",
        },
      ],
    }),
    session(2, { status: "skipped", error: "Skipped: critical step failed" }),
  ];
  const input = {
    consolidatedSessionId: "exec-1_consolidated_1740823231000",
    executionId: "exec-1",
    flowId: "jup-multiply",
    prompt: "use my 50% sol to multiply usdc 1.5x on jup",
    consolidatedAt: new Date("2025-03-01T10:00:31.000Z"),
    sessions,
  };

  it("has reev's shape, with each step's structured tool calls", () => {
    const built = buildConsolidation(input);
    const document = ZConsolidatedContent.parse(JSON.parse(built.content));
    expect(Object.keys(JSON.parse(built.content))).toEqual(
      expect.arrayContaining(["consolidated_session_id", "execution_id", "total_sessions", "consolidated_at", "steps", "metadata"]),
    );
    expect(document).toMatchObject({
      consolidated_session_id: "exec-1_consolidated_1740823231000",
      execution_id: "exec-1",
      flow_id: "jup-multiply",
      prompt: "use my 50% sol to multiply usdc 1.5x on jup",
      total_sessions: 3,
      consolidated_at: "2025-03-01T10:00:31.000Z",
    });
    expect(document.steps.map((s) => [s.step_index, s.session_id, s.step_id, s.status, s.success, s.tool_count, s.score, s.error])).toEqual(
      [
        [0, "exec-1_step_0", "step_0", "success", true, 1, 0.8, null],
        [1, "exec-1_step_1", "step_1", "failed", false, 2, null, "Invalid parameters"],
        [2, "exec-1_step_2", "step_2", "skipped", false, 0, null, "Skipped: critical step failed"],
      ],
    );
    expect(document.steps[0]).toMatchObject({
      timestamp: "2025-03-01T10:00:10.000Z",
      started_at: "2025-03-01T10:00:00.000Z",
      finished_at: "2025-03-01T10:00:04.477Z",
      duration_ms: 4477,
      content: sessions[0]!.content,
    });
    expect(document.steps[1]!.tool_calls).toEqual([
      { tool_name: "jupiter_swap", input: { amount: 2 }, output: null, success: false, duration_ms: 30, error: "Invalid parameters" },
      { tool_name: "jupiter_swap", input: { amount: 1 }, output: null, success: false, duration_ms: 31, error: "Invalid parameters" },
    ]);
    // Metrics: success 1/3 → 33.3…%; the only recorded score is 0.8 → 0.8; tools 1 + 2 + 0 = 3;
    // duration 10:00:27.406 − 10:00:00 = 27 406 ms.
    expect(document.metadata).toEqual({
      successful_steps: 1,
      failed_steps: 1,
      skipped_steps: 1,
      total_steps: 3,
      infrastructure_errors: 0,
      success_rate: expect.closeTo(100 / 3, 10),
      avg_score: 0.8,
      total_tools: 3,
      execution_duration_ms: 27_406,
      total_input_tokens: null,
      total_output_tokens: null,
      cost_usd: null,
      // Why, stored with it: no view could tell later.
      cost_unknown: [{ reason: "no_usage", reported: "no_attempts" }],
    });
    expect(built.metadata).toEqual({
      avgScore: document.metadata.avg_score,
      totalTools: 3,
      successRate: document.metadata.success_rate,
      executionDurationMs: 27_406,
      totalInputTokens: null,
      totalOutputTokens: null,
      costUsd: null,
    });
    expect(built.document).toEqual(document);
  });

  it("sorts the keys of tool inputs and outputs, so jsonb's key order cannot change the bytes", () => {
    const built = buildConsolidation(input);
    expect(built.content).toContain('"input":{"a":{"b":3,"y":2},"z":1}');
  });

  it("is deterministic: shuffled sessions give byte-identical content", () => {
    const reference = buildConsolidation(input).content;
    const orders = [
      [2, 0, 1],
      [1, 2, 0],
      [2, 1, 0],
    ];
    for (const order of orders) {
      const shuffled = order.map((i) => sessions[i]!);
      expect(buildConsolidation({ ...input, sessions: shuffled }).content).toBe(reference);
    }
    // …and does not sort the caller's array in place.
    const mine = [sessions[2]!, sessions[0]!];
    buildConsolidation({ ...input, sessions: mine });
    expect(mine.map((s) => s.stepIndex)).toEqual([2, 0]);
  });

  it("orders steps numerically (step 10 after step 9)", () => {
    const many = [10, 2, 9, 0, 1].map((i) => session(i));
    expect(buildConsolidation({ ...input, sessions: many }).document.steps.map((s) => s.step_index)).toEqual([0, 1, 2, 9, 10]);
  });
});

describe("defaultConsolidatedId", () => {
  it("is reev's {executionId}_consolidated_{ms} when it fits", () => {
    expect(defaultConsolidatedId("exec_a_1", new Date(1762573511127))).toBe("exec_a_1_consolidated_1762573511127");
  });

  it("stays within 255 characters and distinct for long execution ids that share a prefix", () => {
    const at = new Date(1762573511127);
    const a = defaultConsolidatedId(`${"x".repeat(250)}a`, at);
    const b = defaultConsolidatedId(`${"x".repeat(250)}b`, at);
    expect(a.length).toBeLessThanOrEqual(255);
    expect(b.length).toBeLessThanOrEqual(255);
    expect(a).not.toBe(b);
    expect(a.endsWith("_consolidated_1762573511127")).toBe(true);
  });
});
