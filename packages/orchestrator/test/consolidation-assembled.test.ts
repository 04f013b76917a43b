// Consolidation assembles its document in the database (one INSERT … SELECT): what it stores must be
// byte for byte what the pure buildConsolidation gives for the same stored steps — the golden runs,
// and the cases where SQL and JavaScript write JSON differently if nobody takes care: key order
// (jsonb keeps keys shortest first, JavaScript puts array indexes first and sorts by UTF-16), number
// formatting (1e-7, 1e21, numbers no double holds), escapes, unicode beyond the BMP, huge content,
// steps without tool calls, failed and skipped steps, attempts, a priced run's cost, and a retry under the same id.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Database, type StepInput, toStorableText } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ConsolidatedContent, type ConsolidatedStep, ZConsolidatedContent } from "../src/consolidated-content.js";
import {
  buildConsolidation,
  consolidateAgain,
  consolidateExecution,
  consolidationReport,
  droppedCostWarning,
} from "../src/consolidation.js";
import type { PriceTable } from "../src/evaluation/price-table.js";
import { PingPongExecutor } from "../src/ping-pong-executor.js";
import { uid } from "./fixtures/executor/support.js";

const GOLDEN_DIR = fileURLToPath(new URL("./golden/", import.meta.url));
const golden = readdirSync(GOLDEN_DIR)
  .filter((file) => file.endsWith(".input.json"))
  .sort()
  .map((file) => ({
    name: file.slice(0, -".input.json".length),
    // Made storable first, as the writer's callers do (the "nasty" run has a NUL in an error, which PostgreSQL cannot hold).
    document: ZConsolidatedContent.parse(
      JSON.parse(readFileSync(`${GOLDEN_DIR}${file}`, "utf8"), (_key, value: unknown) =>
        typeof value === "string" ? toStorableText(value) : value,
      ),
    ),
  }));

/** A golden document's step, stored as storeStep takes it: what the document was made from. */
const stepInputOf = (s: ConsolidatedStep): StepInput => ({
  stepIndex: s.step_index,
  stepId: s.step_id,
  ...(s.status === "unknown" ? {} : { status: s.status }),
  score: s.score,
  startedAt: s.started_at,
  finishedAt: s.finished_at,
  durationMs: s.duration_ms,
  error: s.error,
  errorKind: s.error_kind ?? null,
  content: s.content,
  toolCalls: s.tool_calls.map((t) => ({
    toolName: t.tool_name,
    attempt: t.attempt ?? null,
    input: t.input as never,
    output: t.output as never,
    success: t.success,
    durationMs: t.duration_ms,
    error: t.error,
  })),
  ...(s.attempt_log
    ? {
        attempts: s.attempt_log.map((a) => ({
          attempt: a.attempt,
          status: a.status === "unknown" ? "failed" : a.status,
          error: a.error,
          errorKind: a.error_kind,
          startedAt: a.started_at,
          finishedAt: a.finished_at,
          durationMs: a.duration_ms,
          model: a.model,
          inputTokens: a.input_tokens,
          outputTokens: a.output_tokens,
          cachedInputTokens: a.cached_input_tokens,
        })),
      }
    : {}),
});

/** Where two strings first differ, with a little of each around it; null when they are equal. */
function firstDifference(actual: string, expected: string): string | null {
  if (actual === expected) return null;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 60), i + 60));
  return `lengths ${actual.length} / ${expected.length}, first difference at ${i}: stored ${around(actual)}, pure ${around(expected)}`;
}

const CONTROL = '\u0001\u0008\u0009\u000a\u000b\u000c\u000d\u001b\u001f"\\/\u007f\u0080\u2028\u2029';
const UNICODE = "中文 日本語 한국어 🚀 👩🏽‍💻 \ud83d\ude00 é e\u0301 \ufeff \uffff \ue000";

/** Keys whose order JavaScript and jsonb disagree on: lengths, array indexes, characters past U+FFFF against U+E000–U+FFFF. */
const KEYS_OBJECT = JSON.parse(
  JSON.stringify({
    zz: 1,
    a: 2,
    "10": 3,
    "9": 4,
    "01": 5,
    "4294967294": 6,
    "4294967295": 7,
    "": 8,
    "🚀": 9,
    "\ue000": 10,
    "\uff71": 11,
    中文: 12,
    [CONTROL]: 13,
    B: 14,
    "-1": 15,
  }).replace('"zz":1', '"__proto__":{"polluted":true},"zz":1'),
) as Record<string, unknown>;

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.30000000000000004,
  1 / 3,
  2 / 3,
  100,
  1e-4,
  9.999999999999999e-5,
  1e-5,
  1e-6,
  1e-7,
  1.5e-10,
  5e-324,
  2.2250738585072014e-308,
  999999999999999.9,
  1e15,
  123456789012345680000,
  1e21,
  1.2345e21,
  1e300,
  1.7976931348623157e308,
  -1e-7,
  -123.456,
  2 ** 53,
  2 ** 53 + 2,
  4294967295,
];

/** Steps that cover what the document writes: every status, attempts or none, tool calls or none, odd text and numbers. */
const EDGE_STEPS: StepInput[] = [
  {
    stepIndex: 0,
    stepId: `unicode ${UNICODE}`,
    status: "success",
    score: 1 / 3,
    startedAt: "2025-03-01T10:00:00.001Z",
    finishedAt: "2025-03-01T10:00:00.999Z",
    durationMs: 998,
    content: `${UNICODE}\n${CONTROL}`,
    toolCalls: [
      {
        toolName: `tool ${UNICODE}`,
        input: KEYS_OBJECT as never,
        output: { numbers: NUMBERS, nested: [[], {}, [{ b: 1, a: [null, true, false] }]] },
        success: true,
        durationMs: 0,
      },
      { toolName: "strings", input: `just a string ${CONTROL}`, output: 42, success: null, durationMs: null, error: null },
      { toolName: "arrays", input: [KEYS_OBJECT, UNICODE, NUMBERS] as never, output: null, success: false, error: CONTROL },
      { toolName: "empty", input: {}, output: [], success: true },
    ],
  },
  { stepIndex: 1, stepId: "no tool calls", status: "success", score: 0, content: "" },
  {
    stepIndex: 2,
    stepId: "failed with attempts",
    status: "failed",
    score: null,
    startedAt: "2025-03-01T10:00:01.000Z",
    finishedAt: "2025-03-01T10:00:09.000Z",
    durationMs: 2_000_000_000,
    error: `rate limited ${CONTROL}`,
    errorKind: "infrastructure",
    content: JSON.stringify({ a: 1 }),
    toolCalls: [
      { toolName: "swap", attempt: 1, input: { amount: 1e-7 }, success: false, error: "HTTP 503" },
      { toolName: "swap", attempt: 2, input: { amount: 1e-7 }, success: false, error: "HTTP 429" },
    ],
    attempts: [
      {
        attempt: 1,
        status: "failed",
        error: "HTTP 503",
        errorKind: "infrastructure",
        // The edges of the dates the writer takes (an attempt's times are not in the run's duration).
        startedAt: "0001-01-01T00:00:00.000Z",
        finishedAt: "9999-12-31T23:59:59.999Z",
        durationMs: 1500,
        model: `model ${UNICODE}`,
        inputTokens: 9_007_199_254_740_991,
        outputTokens: null,
        cachedInputTokens: 0,
      },
      { attempt: 2, status: "failed", error: "HTTP 429", errorKind: "infrastructure", inputTokens: 3, outputTokens: 4 },
    ],
  },
  { stepIndex: 3, stepId: "skipped", status: "skipped", error: "Skipped: critical step failed", content: "skipped", attempts: [] },
  { stepIndex: 4, stepId: null, status: "timed_out", errorKind: "agent", error: "too slow", content: "x" },
  {
    stepIndex: 10,
    stepId: "succeeded on retry",
    status: "success",
    score: 0.1,
    content: "{}",
    toolCalls: [{ toolName: "t", attempt: 2, input: { n: 1 }, output: { ok: true } }],
    attempts: [
      { attempt: 1, status: "failed", error: "wrong", errorKind: "agent", inputTokens: 10, outputTokens: 5 },
      { attempt: 2, status: "success", inputTokens: 11, outputTokens: 6, cachedInputTokens: 7 },
    ],
  },
];

describe.each(testBackends())("the document consolidation assembles in the database, on $name", (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await db?.close();
  });

  async function execution(prefix: string, flowId = "flow", prompt = "prompt"): Promise<string> {
    const executionId = `${prefix}-${uid("x")}`;
    await db.writer.createExecutionSession({ executionId, flowId, agent: "scripted", prompt });
    return executionId;
  }

  /** Consolidates; the stored content must be what the pure builder gives for the stored steps, byte for byte. */
  async function consolidatedAsPureBuilder(
    executionId: string,
    consolidatedSessionId: string,
    prices: PriceTable | null = null,
  ): Promise<ConsolidatedContent> {
    const consolidatedAt = new Date("2025-10-14T09:40:00.007Z");
    const done = await consolidateExecution(db, executionId, { consolidatedSessionId, now: () => consolidatedAt, prices });
    const stored = await db.writer.getConsolidatedSession(consolidatedSessionId, executionId);
    const execution = await db.writer.getExecutionSession(executionId);
    const pure = buildConsolidation({
      consolidatedSessionId,
      executionId,
      flowId: execution!.flowId,
      prompt: execution!.prompt,
      consolidatedAt,
      sessions: await db.writer.getSessionsForConsolidation(executionId),
      prices,
    });
    expect(firstDifference(stored!, pure.content)).toBeNull();
    expect(done.metadata).toEqual(pure.metadata);
    return pure.document;
  }

  /**
   * Both ways the database writes a tool call's input and output: from the JSON the writer stored with
   * the call, and — for calls stored without it (before the column existed, or by another program) —
   * from the jsonb itself (reev_js_json). Each must give the pure builder's bytes.
   */
  async function expectAsPureBuilder(executionId: string, consolidatedSessionId: string): Promise<ConsolidatedContent> {
    const document = await consolidatedAsPureBuilder(executionId, consolidatedSessionId);
    await prismaClientOf(db).$executeRaw`UPDATE tool_calls SET input_json = NULL, output_json = NULL WHERE execution_id = ${executionId}`;
    expect(await consolidatedAsPureBuilder(executionId, `${consolidatedSessionId}-from-jsonb`)).toEqual({
      ...document,
      consolidated_session_id: `${consolidatedSessionId}-from-jsonb`,
    });
    return document;
  }

  it.each(golden)("golden run $name: the stored document is the pure builder's, byte for byte", async ({ document: source }) => {
    const executionId = await execution(source.execution_id, source.flow_id ?? "flow", source.prompt ?? "prompt");
    // A golden document may repeat a step index (the "nasty" one does, for the diagram); a run stores each once.
    const steps = source.steps.filter((s, i, all) => all.findIndex((o) => o.step_index === s.step_index) === i);
    for (const step of steps) await db.writer.storeStep(executionId, stepInputOf(step));
    await db.writer.finishExecutionSession(executionId, { status: "completed" });
    const document = await expectAsPureBuilder(executionId, `${source.consolidated_session_id}-${uid("c")}`);
    // What the golden document holds comes back: the steps stored are the steps it was made from.
    expect(document.steps.map((s) => [s.step_index, s.step_id, s.status, s.content, s.tool_calls])).toEqual(
      steps.map((s) => [s.step_index, s.step_id, s.status, s.content, s.tool_calls]),
    );
  });

  it("odd keys, numbers, escapes and unicode; every status; attempts; steps without tool calls", async () => {
    const executionId = await execution(`edge ${UNICODE}`, `flow ${CONTROL}`, `prompt ${UNICODE} ${CONTROL}`);
    for (const step of EDGE_STEPS) await db.writer.storeStep(executionId, step);
    // The seed's text content: no structured fields, status unknown.
    await db.writer.storeStepSession(executionId, 11, "plain text, no fields");
    const document = await expectAsPureBuilder(executionId, uid("c"));
    expect(document.steps.map((s) => s.status)).toEqual(["success", "success", "failed", "skipped", "timed_out", "success", "unknown"]);
    expect(document.steps[2]).toMatchObject({
      attempts: 2,
      error_kind: "infrastructure",
      input_tokens: 9_007_199_254_740_994,
      output_tokens: null,
    });
  });

  describe("a priced run", () => {
    const PRICES: PriceTable = {
      models: {
        "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 },
        "gpt-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 },
      },
    };
    const attempt = (n: number, status: "success" | "failed", model: string, input: number, output: number | null, cached: number) => ({
      attempt: n,
      status,
      ...(status === "failed" ? { error: "wrong answer", errorKind: "agent" as const } : {}),
      model,
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: cached,
    });
    const PRICED_STEPS: StepInput[] = [
      {
        stepIndex: 0,
        stepId: "retried",
        status: "success",
        content: "a",
        attempts: [attempt(1, "failed", "gpt-a", 1000, 200, 0), attempt(2, "success", "gpt-a", 1200, 300, 200)],
      },
      { stepIndex: 1, stepId: "cheap", status: "success", content: "b", attempts: [attempt(1, "success", "gpt-mini", 10_000, 2000, 0)] },
      { stepIndex: 2, stepId: "skipped", status: "skipped", content: "c", attempts: [] },
    ];

    async function pricedRun(prefix: string, steps: StepInput[]): Promise<string> {
      const executionId = await execution(prefix);
      for (const step of steps) await db.writer.storeStep(executionId, step);
      await db.writer.finishExecutionSession(executionId, { status: "completed" });
      return executionId;
    }

    it("sums every attempt's cost, the failed one's too: the stored document is the pure builder's, and the column holds the same number", async () => {
      const executionId = await pricedRun("priced", PRICED_STEPS);
      const consolidatedSessionId = uid("c");
      const document = await consolidatedAsPureBuilder(executionId, consolidatedSessionId, PRICES);
      // Per attempt, (input − cached) × input + cached × cached-input + output × output, per million:
      //   retried #1 (failed) gpt-a:    1000 × 2.5 +   0 × 1.25 + 200 × 10  = 4500 → $0.0045
      //   retried #2          gpt-a:    1000 × 2.5 + 200 × 1.25 + 300 × 10  = 5750 → $0.00575
      //   cheap               gpt-mini: 10000 × 0.15 + 2000 × 0.6           = 2700 → $0.0027
      //   skipped: no attempts, nothing spent.
      // $0.0045 + $0.00575 + $0.0027 = $0.01295, which the doubles give exactly as written.
      expect(document.metadata).toMatchObject({ total_input_tokens: 12_200, total_output_tokens: 2500, cost_usd: 0.01295 });
      const [row] = await db.writer.getConsolidatedSessionsByExecution(executionId);
      expect(row!.costUsd).toBe(0.01295);
      // A retry under the same id is answered from the columns: the cost as stored.
      expect((await consolidateExecution(db, executionId, { consolidatedSessionId, prices: PRICES })).metadata.costUsd).toBe(0.01295);
    });

    it("a cost with a repeating decimal ($1/3 per million tokens): the same bytes from the database and the pure builder", async () => {
      const thirds: PriceTable = { models: { "gpt-a": { inputPerMillion: 1 / 3, outputPerMillion: 0.1 } } };
      const executionId = await pricedRun("thirds", [
        { stepIndex: 0, status: "success", content: "a", attempts: [attempt(1, "success", "gpt-a", 1_000_003, 7, 0)] },
      ]);
      const document = await consolidatedAsPureBuilder(executionId, uid("c"), thirds);
      // (1000003 / 3 + 7 × 0.1) / 1e6 = 0.3333350333333333: every digit a double holds, through the float8 column and back.
      expect(document.metadata.cost_usd).toBe((1_000_003 * (1 / 3) + 7 * 0.1) / 1_000_000);
      expect((await db.writer.getConsolidatedSessionsByExecution(executionId))[0]!.costUsd).toBe(document.metadata.cost_usd);
    });

    it("null, never a guess: without a price table, with a model the table lacks, with a count the price needs missing", async () => {
      const noPrices = await consolidatedAsPureBuilder(await pricedRun("no-prices", PRICED_STEPS), uid("c"));
      expect(noPrices.metadata.cost_usd).toBeNull();
      const [first, ...rest] = PRICED_STEPS;
      const unknownModel = { ...first!, attempts: [attempt(1, "success", "gpt-unknown", 1000, 200, 0)] };
      const unknown = await consolidatedAsPureBuilder(await pricedRun("unknown-model", [unknownModel, ...rest]), uid("c"), PRICES);
      expect(unknown.metadata).toMatchObject({ total_input_tokens: 11_000, cost_usd: null });
      const noOutput = { ...first!, attempts: [attempt(1, "success", "gpt-a", 1000, null, 0)] };
      const missing = await consolidatedAsPureBuilder(await pricedRun("missing-count", [noOutput, ...rest]), uid("c"), PRICES);
      expect(missing.metadata).toMatchObject({ total_output_tokens: null, cost_usd: null });
      for (const id of [noPrices.execution_id, unknown.execution_id, missing.execution_id])
        expect((await db.writer.getConsolidatedSessionsByExecution(id))[0]!.costUsd).toBeNull();
    });

    it("a null cost is stored with why, and the status report reads it back: each reason the price rule has", async () => {
      const [first, ...rest] = PRICED_STEPS;
      const withAttempts = (...attempts: ReturnType<typeof attempt>[]) => [{ ...first!, attempts }, ...rest];
      const uncached = { ...attempt(1, "success", "gpt-a", 1000, 200, 0), cachedInputTokens: null };
      const noModel = (n: number) => ({ ...attempt(n, n === 1 ? "failed" : "success", "gpt-a", 1000, 200, 0), model: null });
      const uncounted = (step: StepInput): StepInput => ({
        ...step,
        attempts: step.attempts?.map((a) => ({ ...a, model: null, inputTokens: null, outputTokens: null, cachedInputTokens: null })),
      });
      const cases: [name: string, steps: StepInput[], prices: PriceTable | null, gaps: unknown][] = [
        ["no-prices", PRICED_STEPS, null, [{ reason: "no_prices" }]],
        ["unpriced", withAttempts(attempt(1, "success", "gpt-x", 1000, 200, 0)), PRICES, [{ reason: "unpriced", models: ["gpt-x"] }]],
        ["uncached", withAttempts(uncached as never), PRICES, [{ reason: "uncached", models: ["gpt-a"] }]],
        ["no-model", withAttempts(noModel(1) as never, noModel(2) as never), PRICES, [{ reason: "no_model", attempts: 2 }]],
        // Uncounted tokens: no price table would help, so that is the one reason given; some were counted.
        ["no-usage", withAttempts(attempt(1, "success", "gpt-a", 1000, null, 0)), null, [{ reason: "no_usage", reported: "some" }]],
        // No attempt counted any (a script without usage): said apart, as an agent that reports none.
        ["no-usage-at-all", PRICED_STEPS.map(uncounted), PRICES, [{ reason: "no_usage", reported: "none" }]],
        ["priced", PRICED_STEPS, PRICES, undefined],
      ];
      for (const [name, steps, prices, gaps] of cases) {
        const executionId = await pricedRun(name, steps);
        const document = await consolidatedAsPureBuilder(executionId, uid("c"), prices);
        expect({ name, stored: document.metadata.cost_unknown }).toEqual({ name, stored: gaps });
        // The document (up to 256 MiB) is read for its gaps only when the cost is unknown.
        const documentReads = vi.spyOn(db.writer, "getConsolidatedSession");
        const report = await consolidationReport(db, (await db.writer.getExecutionSession(executionId))!);
        expect({ name, read: report.costGaps, documentReads: documentReads.mock.calls.length }).toEqual({
          name,
          read: gaps ?? [],
          documentReads: gaps ? 1 : 0,
        });
        documentReads.mockRestore();
        expect({ name, returned: (await consolidateExecution(db, executionId, { prices })).costGaps }).toEqual({
          name,
          returned: gaps ?? [],
        });
      }
    });

    it("consolidated again without a price table, a priced run's dropped cost is named; with one, or unpriced before, nothing is", async () => {
      const executionId = await pricedRun("dropped", PRICED_STEPS);
      const priced = await consolidateExecution(db, executionId, { prices: PRICES });
      const again = await consolidateAgain(db, executionId);
      expect(again.metadata.costUsd).toBeNull();
      expect(again.droppedCost).toEqual({ consolidatedSessionId: priced.consolidatedSessionId, costUsd: 0.01295 });
      expect(droppedCostWarning(again.droppedCost!, "Keep it so.")).toBe(
        `The run's cost of $0.0129 was dropped: it was consolidated again without a price table, so its newest consolidation has no cost (the previous one, ${priced.consolidatedSessionId}, still holds it). Keep it so.`,
      );
      // The newest has no cost now: once more without prices drops nothing more.
      expect((await consolidateAgain(db, executionId)).droppedCost).toBeNull();
      expect((await consolidateAgain(db, executionId, { prices: PRICES })).droppedCost).toBeNull();
      expect((await consolidateAgain(db, executionId, { prices: PRICES })).metadata.costUsd).toBe(0.01295);
    });

    it("a price table that is not one is refused whole, naming the field, before anything is written", async () => {
      const executionId = await pricedRun("bad-prices", PRICED_STEPS);
      const bad = { models: { "gpt-a": { inputPerMillion: 2.5, outputPerMillion: -1 } } } as PriceTable;
      const error = await consolidateExecution(db, executionId, { prices: bad }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "INVALID_ARGUMENT", path: 'models["gpt-a"].outputPerMillion' });
      expect(await db.writer.getConsolidatedSessionsByExecution(executionId)).toEqual([]);
      expect((await db.writer.getExecutionSession(executionId))?.consolidation.status).toBe("pending");
      expect(() => new PingPongExecutor(db, { prices: bad })).toThrow(/outputPerMillion: must be 0 or more/);
    });
  });

  it("numbers stored that no double holds, and exact decimals: written as JavaScript reads them", async () => {
    const executionId = await execution("extreme");
    await db.writer.storeStep(executionId, {
      stepIndex: 0,
      status: "success",
      content: "c",
      toolCalls: [{ toolName: "t", input: { n: 1 } }],
    });
    // As another program could have stored them (an import, SQL): numbers JSON allows, beyond a double's range or precision.
    await prismaClientOf(db).$executeRaw`
      UPDATE tool_calls SET input = '{"huge": 1e400, "tiny": 1e-400, "negative huge": -1e400, "exact": 12345678901234567890,
        "scale": 1.50, "zero": -0.0, "long": 0.1000000000000000055511151231257827, "list": [1.0, 2.50, 1e2]}'::jsonb,
        input_json = NULL
      WHERE execution_id = ${executionId}`;
    const document = await expectAsPureBuilder(executionId, uid("c"));
    // As JavaScript holds them; JSON.stringify writes ±Infinity as null, and so did the database.
    expect(document.steps[0]!.tool_calls[0]!.input).toEqual({
      exact: 12345678901234567000,
      huge: Infinity,
      list: [1, 2.5, 100],
      long: 0.1,
      "negative huge": -Infinity,
      scale: 1.5,
      tiny: 0,
      zero: 0,
    });
  });

  it("huge content: 4 MiB steps, every byte through", async () => {
    const executionId = await execution("huge");
    const big = `${'🚀 ascii 中文 \n\t"'.repeat(200_000)}end`;
    for (const stepIndex of [0, 1]) await db.writer.storeStep(executionId, { stepIndex, status: "success", content: `${stepIndex}${big}` });
    const document = await expectAsPureBuilder(executionId, uid("c"));
    expect(document.steps.map((s) => s.content.length)).toEqual([big.length + 1, big.length + 1]);
  });

  it("a finished run with no committed steps: an empty steps array", async () => {
    const executionId = await execution("empty");
    await db.writer.finishExecutionSession(executionId, { status: "failed", error: "nothing ran" });
    const document = await expectAsPureBuilder(executionId, uid("c"));
    expect(document.steps).toEqual([]);
    // No step, no rate: stored as null in the document and its column, not as 0 %.
    expect(document.metadata.success_rate).toBeNull();
    // (expectAsPureBuilder consolidates it twice: from the stored JSON, then from the jsonb.)
    expect((await db.writer.getConsolidatedSessionsByExecution(executionId)).map((c) => c.successRate)).toEqual([null, null]);
  });

  it("one committed step, and steps pending at both ends: the frame opens and closes around the committed ones only", async () => {
    // The first and the last committed step carry the frame's parts: a pending step below or above them must not.
    const executionId = await execution("edges");
    await db.writer.storeStep(executionId, { stepIndex: 3, status: "success", content: "the only committed step" });
    const transactionId = await db.writer.beginTransaction(executionId);
    for (const stepIndex of [1, 7])
      await db.writer.storeStep(executionId, { stepIndex, status: "success", content: "pending" }, { transactionId });
    expect((await expectAsPureBuilder(executionId, uid("c"))).steps.map((s) => s.step_index)).toEqual([3]);
  });

  it("a retry under the same consolidation id stores nothing new: the first document stays, and is still the pure builder's", async () => {
    const executionId = await execution("retry");
    await db.writer.storeStep(executionId, EDGE_STEPS[0]!);
    const consolidatedSessionId = uid("c");
    await consolidatedAsPureBuilder(executionId, consolidatedSessionId);
    const first = await db.writer.getConsolidatedSession(consolidatedSessionId, executionId);
    const again = await consolidateExecution(db, executionId, { consolidatedSessionId });
    await db.writer.storeStep(executionId, EDGE_STEPS[1]!);
    const afterAStepMore = await consolidateExecution(db, executionId, { consolidatedSessionId });
    expect(afterAStepMore).toEqual(again);
    expect(await db.writer.getConsolidatedSession(consolidatedSessionId, executionId)).toBe(first);
    expect(await prismaClientOf(db).consolidatedSession.count({ where: { executionId } })).toBe(1);
  });

  it("a document over the size cap is refused, naming the field; nothing is stored and the status is failed", async () => {
    const small = await openTestDatabase(backend, { writer: { maxConsolidatedBytes: 1000 } });
    try {
      const executionId = `cap-${uid("x")}`;
      await small.writer.createExecutionSession({ executionId, flowId: "flow", agent: "scripted", prompt: "p" });
      await small.writer.storeStep(executionId, { stepIndex: 0, status: "success", content: "x".repeat(2000) });
      const error = await consolidateExecution(small, executionId).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "INVALID_ARGUMENT", path: "content" });
      expect((error as Error).message).toMatch(/^Invalid input: content is \d+ bytes, over the 1000-byte cap$/);
      expect(await small.writer.getConsolidatedSessionsByExecution(executionId)).toEqual([]);
      expect((await small.writer.getExecutionSession(executionId))?.consolidation.status).toBe("failed");
    } finally {
      await small.close();
    }
  });
});
