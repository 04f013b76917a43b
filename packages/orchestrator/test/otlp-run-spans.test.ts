import { resourceFromAttributes } from "@opentelemetry/resources";
import type { SessionLog } from "@reev/db";
import { describe, expect, it } from "vitest";
import { type AttemptUsage, runSpans, type StoredRun } from "../src/otlp/index.js";

// runSpans is pure: a stored run in, spans out. The usage seam is tested here on records shaped as
// the store returns them once it records attempts (step_attempts); the export tests cover the rest
// against real databases.
const context = { resource: resourceFromAttributes({ "service.name": "reev" }), scope: { name: "@reev/orchestrator" } };

function run(attempts: AttemptUsage[] | undefined): StoredRun {
  const step: SessionLog = {
    sessionId: "e_step_0",
    executionId: "e",
    stepIndex: 0,
    content: "{}",
    timestamp: new Date("2026-01-01T00:00:02Z"),
    status: "success",
    stepId: "s",
    success: true,
    score: null,
    startedAt: new Date("2026-01-01T00:00:00Z"),
    finishedAt: new Date("2026-01-01T00:00:01Z"),
    durationMs: 1000,
    error: null,
    errorKind: null,
    toolCalls: [],
    attempts: [],
  };
  return {
    execution: {
      executionId: "e",
      flowId: "f",
      agent: "openai",
      prompt: "p",
      status: "completed",
      startedAt: new Date("2026-01-01T00:00:00Z"),
      finishedAt: new Date("2026-01-01T00:00:03Z"),
      durationMs: 3000,
      error: null,
      metadata: null,
      openTransaction: null,
      consolidation: { status: "pending", error: null, updatedAt: null },
      owner: null,
      heartbeatAt: null,
      evaluationId: null,
    },
    steps: [{ ...step, attempts: attempts ?? [] }],
    newestConsolidation: null,
  };
}

const usageOf = (stored: StoredRun) =>
  Object.fromEntries(
    Object.entries(runSpans(stored, context)[1]?.attributes ?? {}).filter(
      ([k]) => k.startsWith("gen_ai.usage.") || k === "gen_ai.response.model",
    ),
  );

describe("runSpans: token usage", () => {
  it("sums each count over the step's attempts, with the model of the last attempt that named one", () => {
    const usage = usageOf(
      run([
        { model: "gpt-a", inputTokens: 100, outputTokens: 20, cachedInputTokens: 40 },
        { model: "gpt-b", inputTokens: 150, outputTokens: 30, cachedInputTokens: 0 },
      ]),
    );
    expect(usage).toEqual({
      "gen_ai.usage.input_tokens": 250,
      "gen_ai.usage.output_tokens": 50,
      "gen_ai.usage.cache_read.input_tokens": 40,
      "gen_ai.response.model": "gpt-b",
    });
  });

  it("leaves out a count that an attempt did not report, and everything when no attempt was recorded", () => {
    expect(
      usageOf(
        run([
          { inputTokens: 10, outputTokens: 5 },
          { inputTokens: 7, outputTokens: null },
        ]),
      ),
    ).toEqual({
      "gen_ai.usage.input_tokens": 17,
    });
    expect(usageOf(run([]))).toEqual({});
    expect(usageOf(run(undefined))).toEqual({});
  });

  it("gives the same spans for the same stored run", () => {
    const stored = run([{ inputTokens: 1, outputTokens: 2 }]);
    const strip = (spans: ReturnType<typeof runSpans>) => spans.map(({ spanContext, ...rest }) => ({ ...rest, context: spanContext() }));
    expect(strip(runSpans(stored, context))).toEqual(strip(runSpans(structuredClone(stored), context)));
  });
});
