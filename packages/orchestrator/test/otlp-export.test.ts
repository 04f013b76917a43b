import { randomUUID } from "node:crypto";
import { Agent } from "node:http";
import { createServer } from "node:net";
import type { Database } from "@reev/db";
import { test as dbTest, testBackends } from "@reev/db/testing";
import { snapshotTables } from "@reev/db/testing/fault-injection";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { consolidateExecution } from "../src/consolidation.js";
import { OrchestratorError } from "../src/errors.js";
import {
  ANSWER_GRACE_MS,
  checkOtlpHeaders,
  exportRunToOtlp,
  OtlpRunExporter,
  REFUSED_CONNECTION_TRIES,
  resolveOtlpEndpoint,
  SPANS_PER_REQUEST,
  spanIdOf,
  traceIdOf,
} from "../src/otlp/index.js";
import { deliverOtlp } from "../src/otlp/otlp-request.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp-receiver.js";

const uid = (prefix: string) => `${prefix}-${randomUUID()}`;
const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
const SPAN_KIND_INTERNAL = 1;
const STATUS_ERROR = 2;

/**
 * A finished run written through the writer with known times: step 0 succeeds with two tool calls
 * and a score, step 1 fails (a failed tool call, a timeout), step 2 is skipped. Then consolidated.
 */
async function storeRun(db: Database, executionId: string, flowId = "otlp-flow"): Promise<void> {
  await db.writer.createExecutionSession({ executionId, flowId, agent: "scripted", prompt: "swap", startedAt: "2026-01-02T03:04:05.000Z" });
  await db.writer.storeStep(executionId, {
    stepIndex: 0,
    stepId: "balance",
    status: "success",
    score: 0.75,
    startedAt: "2026-01-02T03:04:05.100Z",
    finishedAt: "2026-01-02T03:04:06.350Z",
    toolCalls: [
      { toolName: "get_balance", input: { wallet: "W1" }, output: { sol: 4 }, success: true, durationMs: 40 },
      { toolName: "get_price", input: {}, output: { usd: 100 }, success: true, durationMs: 60 },
    ],
  });
  await db.writer.storeStep(executionId, {
    stepIndex: 1,
    stepId: "swap",
    status: "timed_out",
    startedAt: "2026-01-02T03:04:06.400Z",
    finishedAt: "2026-01-02T03:04:07.400Z",
    error: "Step 1 (swap) timed out after 1000ms",
    toolCalls: [{ toolName: "swap", input: { sol: 2 }, output: null, success: false, durationMs: 900, error: "slippage too high" }],
  });
  await db.writer.storeStep(executionId, { stepIndex: 2, stepId: "lend", status: "skipped", error: "Skipped: a critical step failed" });
  await db.writer.finishExecutionSession(executionId, {
    status: "failed",
    error: "Step 1 (swap) timed out",
    finishedAt: "2026-01-02T03:04:07.500Z",
  });
  await consolidateExecution(db, executionId);
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = byName(spans, name);
  expect(found, name).toHaveLength(1);
  return found[0] as ReceivedSpan;
};

/** A loopback port with nothing listening on it: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(testBackends())("OTLP export on $name", (backend) => {
  dbTest.override({ backend });
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  dbTest(
    "sends the run as a GenAI span tree with the stored times, ids from the stored ids, and changes nothing stored",
    async ({ db }) => {
      const executionId = uid("exec");
      await storeRun(db, executionId);
      const before = await snapshotTables(db);
      receiver.answer(200);
      const first = receiver.requests.length;

      const report = await exportRunToOtlp(db, executionId, { endpoint: receiver.url });

      expect(await snapshotTables(db)).toEqual(before);
      const spans = receiver.requests.slice(first).flatMap((r) => r.spans);
      expect(report).toEqual({
        executionId,
        traceId: traceIdOf(executionId),
        spans: 7,
        sent: 7,
        unconfirmed: 0,
        requests: 1,
        endpoint: receiver.url,
      });
      expect(receiver.requests.at(-1)?.path).toBe("/v1/traces");
      expect(receiver.requests.at(-1)?.headers["content-type"]).toBe("application/x-protobuf");
      expect(spans).toHaveLength(7);
      expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(executionId)]));
      expect(
        spans.every((s) => s.kind === SPAN_KIND_INTERNAL && s.resource["service.name"] === "reev" && s.scope === "@reev/orchestrator"),
      ).toBe(true);
      expect(spans.every((s) => s.attributes["session.id"] === executionId)).toBe(true);

      const run = one(spans, "invoke_workflow otlp-flow");
      expect(run.parentSpanId).toBe("");
      expect(run.spanId).toBe(spanIdOf(executionId));
      expect([run.start, run.end]).toEqual([ns("2026-01-02T03:04:05.000Z"), ns("2026-01-02T03:04:07.500Z")]);
      expect(run.status).toEqual({ code: STATUS_ERROR, message: "Step 1 (swap) timed out" });
      expect(run.attributes).toMatchObject({
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "otlp-flow",
        "error.type": "failed",
        "reev.execution.id": executionId,
        "reev.status": "failed",
        "reev.consolidation.status": "completed",
        "reev.run.total_tools": 3,
      });
      expect(run.attributes["reev.run.success_rate"]).toBeCloseTo(100 / 3);

      const steps = byName(spans, "invoke_agent scripted").sort(
        (a, b) => Number(a.attributes["reev.step.index"]) - Number(b.attributes["reev.step.index"]),
      );
      expect(steps.map((s) => s.attributes["reev.step.id"])).toEqual(["balance", "swap", "lend"]);
      expect(steps.map((s) => s.parentSpanId)).toEqual([run.spanId, run.spanId, run.spanId]);
      expect(steps.map((s) => s.spanId)).toEqual([0, 1, 2].map((i) => spanIdOf(executionId, i)));
      const [balance, swap, lend] = steps as [ReceivedSpan, ReceivedSpan, ReceivedSpan];
      expect([balance.start, balance.end]).toEqual([ns("2026-01-02T03:04:05.100Z"), ns("2026-01-02T03:04:06.350Z")]);
      expect(balance.status.code).toBe(0);
      expect(balance.attributes).toMatchObject({ "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "scripted" });
      expect(balance.attributes["reev.status"]).toBe("success");
      expect("error.type" in balance.attributes).toBe(false);
      // No usage is stored for these steps: none is exported, not a 0.
      expect(Object.keys(balance.attributes).filter((k) => k.startsWith("gen_ai.usage."))).toEqual([]);
      expect(balance.events).toEqual([
        {
          name: "gen_ai.evaluation.result",
          time: ns("2026-01-02T03:04:06.350Z"),
          attributes: { "gen_ai.evaluation.name": "passed", "gen_ai.evaluation.score.value": 1, "gen_ai.evaluation.score.label": "pass" },
        },
        {
          name: "gen_ai.evaluation.result",
          time: ns("2026-01-02T03:04:06.350Z"),
          attributes: { "gen_ai.evaluation.name": "score", "gen_ai.evaluation.score.value": 0.75 },
        },
      ]);
      expect(swap.status).toEqual({ code: STATUS_ERROR, message: "Step 1 (swap) timed out after 1000ms" });
      expect(swap.attributes["error.type"]).toBe("timed_out");
      expect(swap.events.map((e) => e.attributes)).toEqual([
        {
          "gen_ai.evaluation.name": "passed",
          "gen_ai.evaluation.score.value": 0,
          "gen_ai.evaluation.score.label": "fail",
          "gen_ai.evaluation.explanation": "Step 1 (swap) timed out after 1000ms",
        },
      ]);
      // A skipped step has no times of its own: a zero-length span when it was recorded; never checked.
      const lendCommitted =
        BigInt(before.steps.find((s) => s.executionId === executionId && s.stepIndex === 2)?.committedAt?.getTime() ?? 0) * 1_000_000n;
      expect([lend.start, lend.end]).toEqual([lendCommitted, lendCommitted]);
      expect(lend.status.code).toBe(0);
      expect(lend.events).toEqual([]);

      const tools = spans.filter((s) => s.name.startsWith("execute_tool "));
      expect(tools.map((t) => t.name)).toEqual(["execute_tool get_balance", "execute_tool get_price", "execute_tool swap"]);
      expect(tools.map((t) => t.parentSpanId)).toEqual([balance.spanId, balance.spanId, swap.spanId]);
      expect(tools.map((t) => t.spanId)).toEqual([spanIdOf(executionId, 0, 0), spanIdOf(executionId, 0, 1), spanIdOf(executionId, 1, 0)]);
      expect(tools.map((t) => t.attributes["gen_ai.tool.call.id"])).toEqual([
        `${executionId}_step_0_call_0`,
        `${executionId}_step_0_call_1`,
        `${executionId}_step_1_call_0`,
      ]);
      expect(tools.map((t) => [t.attributes["gen_ai.operation.name"], t.attributes["gen_ai.tool.name"]])).toEqual([
        ["execute_tool", "get_balance"],
        ["execute_tool", "get_price"],
        ["execute_tool", "swap"],
      ]);
      // Stored: each call's duration, not its start; a call starts with its step.
      expect(tools.map((t) => [t.start, t.end - t.start])).toEqual([
        [balance.start, 40_000_000n],
        [balance.start, 60_000_000n],
        [swap.start, 900_000_000n],
      ]);
      const failedCall = tools[2] as ReceivedSpan;
      expect([failedCall.status, failedCall.attributes["error.type"]]).toEqual([
        { code: STATUS_ERROR, message: "slippage too high" },
        "failed",
      ]);
    },
  );

  dbTest("exporting the same run twice sends identical spans", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    receiver.answer(200);
    const start = receiver.requests.length;
    await exportRunToOtlp(db, executionId, { endpoint: receiver.url });
    const middle = receiver.requests.length;
    await exportRunToOtlp(db, executionId, { endpoint: receiver.url });
    const first = receiver.requests.slice(start, middle).flatMap((r) => r.spans);
    const second = receiver.requests.slice(middle).flatMap((r) => r.spans);
    expect(first.length).toBe(7);
    expect(second).toEqual(first);
  });

  dbTest("a run of more spans than one request holds goes in several requests, one tree", async ({ db }) => {
    const executionId = uid("exec");
    await db.writer.createExecutionSession({
      executionId,
      flowId: "big",
      agent: "scripted",
      prompt: "p",
      startedAt: "2026-01-02T00:00:00.000Z",
    });
    const calls = Array.from({ length: 30 }, (_, i) => ({ toolName: `t${i}`, success: true, durationMs: i }));
    await db.writer.storeSteps(
      executionId,
      Array.from({ length: 20 }, (_, i) => ({ stepIndex: i, stepId: `s${i}`, status: "success" as const, toolCalls: calls })),
    );
    await db.writer.finishExecutionSession(executionId, { status: "completed", finishedAt: "2026-01-02T00:01:00.000Z" });
    receiver.answer(200);
    const start = receiver.requests.length;
    const report = await exportRunToOtlp(db, executionId, { endpoint: receiver.url });
    const total = 1 + 20 + 20 * 30;
    expect(report).toMatchObject({ spans: total, requests: Math.ceil(total / SPANS_PER_REQUEST) });
    const spans = receiver.requests.slice(start).flatMap((r) => r.spans);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(total);
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s.parentSpanId === "")).toHaveLength(1);
    expect(spans.every((s) => s.parentSpanId === "" || ids.has(s.parentSpanId))).toBe(true);
  });

  dbTest("an endpoint answering 500 fails at once with its answer, and nothing stored changes", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    const before = await snapshotTables(db);
    receiver.answer(500);
    const hits = receiver.hits;
    const error = await exportRunToOtlp(db, executionId, { endpoint: receiver.url }).catch((e: unknown) => e);
    receiver.answer(200);
    expect(OrchestratorError.is(error, "EXPORT_FAILED")).toBe(true);
    expect((error as Error).message).toBe(
      `Could not send execution "${executionId}" to the OTLP endpoint ${receiver.url}: it answered HTTP 500 (receiver answers 500).`,
    );
    // 500 is not retryable in OTLP: one request.
    expect(receiver.hits - hits).toBe(1);
    expect(await snapshotTables(db)).toEqual(before);
  });

  dbTest("an endpoint answering 503 is retried a bounded number of times within the time limit", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    receiver.answer(503);
    const hits = receiver.hits;
    const started = performance.now();
    const error = await exportRunToOtlp(db, executionId, { endpoint: receiver.url, timeoutMs: 3_000 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    receiver.answer(200);
    expect(OrchestratorError.is(error, "EXPORT_FAILED")).toBe(true);
    expect((error as Error).message).toMatch(/busy or unavailable \(HTTP 429, 502, 503 or 504\), retried for up to 3 s\.$/);
    expect(receiver.hits - hits).toBeGreaterThanOrEqual(2);
    expect(receiver.hits - hits).toBeLessThanOrEqual(6);
    expect(elapsed).toBeLessThan(3_000 + 2_500);
  });

  dbTest("a refused connection fails in plain words after a few tries, not the whole time limit", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    const url = `http://127.0.0.1:${await closedPort()}/v1/traces`;
    // A time limit far longer than the test's: the OTLP exporter's own retries would use it up.
    const error = await exportRunToOtlp(db, executionId, { endpoint: url, timeoutMs: 600_000 }).catch((e: unknown) => e);
    expect(OrchestratorError.is(error, "EXPORT_FAILED")).toBe(true);
    expect((error as Error).message).toBe(
      `Could not send execution "${executionId}" to the OTLP endpoint ${url}: the connection was refused: nothing is listening there (tried ${REFUSED_CONNECTION_TRIES} times).`,
    );
  });

  dbTest("a connection that is refused at first and then taken sends the run", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    // A collector that is restarting: its port refuses the first try, and listens once that is said.
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1/traces`;
    const lines: string[] = [];
    let late: Promise<OtlpReceiver> | undefined;
    await using exporter = new OtlpRunExporter({ url, source: "endpoint" }, { timeoutMs: 600_000 });
    try {
      const report = await exporter.exportRun(db, executionId, (line) => {
        lines.push(line);
        if (line.includes("refused the connection")) late ??= startOtlpReceiver({ port });
      });
      expect(lines[1]).toBe(`${url} refused the connection; trying again (2 of ${REFUSED_CONNECTION_TRIES})…`);
      expect((await late)?.requests.flatMap((r) => r.spans)).toHaveLength(report.spans);
    } finally {
      await (await late)?.close();
    }
  });

  dbTest("refuses a running execution and an unknown one, sending nothing", async ({ db }) => {
    const executionId = uid("exec");
    await db.writer.createExecutionSession({ executionId, flowId: "f", agent: "scripted", prompt: "p" });
    const hits = receiver.hits;
    const running = await exportRunToOtlp(db, executionId, { endpoint: receiver.url }).catch((e: unknown) => e);
    expect(OrchestratorError.is(running, "NOT_FINISHED")).toBe(true);
    const missing = await exportRunToOtlp(db, uid("nope"), { endpoint: receiver.url }).catch((e: unknown) => e);
    expect(OrchestratorError.is(missing, "NOT_FOUND")).toBe(true);
    expect(receiver.hits).toBe(hits);
  });

  dbTest("one exporter shared by concurrent callers sends each run whole", async ({ db }) => {
    const ids = [uid("a"), uid("b"), uid("c")];
    for (const id of ids) await storeRun(db, id);
    receiver.answer(200);
    const start = receiver.requests.length;
    await using exporter = new OtlpRunExporter({ url: receiver.url, source: "test" });
    const reports = await Promise.all(ids.map((id) => exporter.exportRun(db, id)));
    expect(reports.map((r) => r.spans)).toEqual([7, 7, 7]);
    const spans = receiver.requests.slice(start).flatMap((r) => r.spans);
    for (const id of ids) expect(spans.filter((s) => s.traceId === traceIdOf(id))).toHaveLength(7);
  });

  /** Exports the run with a signal aborted once the receiver has seen `requests` requests; when the signal went, the report, when it came. */
  async function interruptedAfter(db: Database, requests: number, timeoutMs: number) {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    const seen = receiver.arrivals.length;
    const controller = new AbortController();
    await using exporter = new OtlpRunExporter({ url: receiver.url, source: "test" }, { timeoutMs });
    const exported = exporter.exportRun(db, executionId, undefined, { signal: controller.signal });
    await receiver.arrived(seen + requests);
    const abortedAt = performance.now();
    controller.abort();
    const report = await exported;
    return { report, abortedAt, endedAt: performance.now(), afterSignal: receiver.arrivals.slice(seen).filter((t) => t > abortedAt) };
  }

  dbTest("a signal during a 503's retries: no further request, the export ends at once, nothing sent", async ({ db }) => {
    receiver.answer(503);
    try {
      // The first request and one retry: the signal comes while the exporter retries, with a minute left.
      const { report, abortedAt, endedAt, afterSignal } = await interruptedAfter(db, 2, 60_000);
      expect(report).toMatchObject({ spans: 7, sent: 0, unconfirmed: 0 });
      expect(afterSignal).toEqual([]);
      expect(endedAt - abortedAt).toBeLessThan(ANSWER_GRACE_MS);
    } finally {
      receiver.answer(200);
    }
  });

  dbTest("a signal while a request goes unanswered: it is given ANSWER_GRACE_MS, then cut off, its spans unconfirmed", async ({ db }) => {
    receiver.answer("never");
    try {
      const { report, abortedAt, endedAt, afterSignal } = await interruptedAfter(db, 1, 60_000);
      expect(report).toMatchObject({ spans: 7, sent: 0, unconfirmed: 7, requests: 1 });
      expect(afterSignal).toEqual([]);
      expect(endedAt - abortedAt).toBeGreaterThanOrEqual(ANSWER_GRACE_MS - 5);
      expect(endedAt - abortedAt).toBeLessThan(ANSWER_GRACE_MS + 2_000);
    } finally {
      receiver.answer(200);
    }
  });

  dbTest("OTEL_EXPORTER_OTLP_HEADERS that cannot be read: the exporter is refused, naming the variable, nothing sent", async ({ db }) => {
    const executionId = uid("exec");
    await storeRun(db, executionId);
    const hits = receiver.hits;
    const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "garbage";
    try {
      const error = await exportRunToOtlp(db, executionId, { endpoint: receiver.url }).catch((e: unknown) => e);
      expect(OrchestratorError.is(error, "INVALID_ARGUMENT")).toBe(true);
      expect(error).toMatchObject({
        path: "OTEL_EXPORTER_OTLP_HEADERS",
        message: expect.stringMatching(/^OTEL_EXPORTER_OTLP_HEADERS could not be read: entry 1 is not key=value\. /),
      });
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved;
    }
    expect(receiver.hits).toBe(hits);
  });
});

describe("resolveOtlpEndpoint", () => {
  const env = (vars: Record<string, string>) => vars;
  it("takes the given endpoint first, then the traces variable as is, then the base variable plus v1/traces", () => {
    const all = env({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:1/custom", OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318" });
    expect(resolveOtlpEndpoint({ endpoint: "http://given:9/x", endpointSource: "--endpoint", env: all })).toEqual({
      url: "http://given:9/x",
      source: "--endpoint",
    });
    expect(resolveOtlpEndpoint({ env: all })).toEqual({ url: "http://traces:1/custom", source: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" });
    expect(resolveOtlpEndpoint({ env: env({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318" }) })?.url).toBe("http://base:4318/v1/traces");
    expect(resolveOtlpEndpoint({ env: env({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://cloud.example/api/public/otel/" }) })?.url).toBe(
      "https://cloud.example/api/public/otel/v1/traces",
    );
    expect(resolveOtlpEndpoint({ env: {} })).toBeUndefined();
    // The default's source is the option that changes it: an error about it names a field a user can set.
    expect(resolveOtlpEndpoint({ env: {}, fallback: "http://localhost:4318/v1/traces", endpointSource: "--endpoint" })).toEqual({
      url: "http://localhost:4318/v1/traces",
      source: "--endpoint",
    });
    expect(resolveOtlpEndpoint({ env: {}, fallback: "http://localhost:4318/v1/traces" })?.source).toBe("endpoint");
  });

  it("refuses what is not an http(s) URL, naming where it came from", () => {
    expect(() => resolveOtlpEndpoint({ env: env({ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }) })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => resolveOtlpEndpoint({ endpoint: "not a url", endpointSource: "--endpoint" })).toThrow(
      /--endpoint is not a URL: "not a url"/,
    );
  });
});

describe("checkOtlpHeaders", () => {
  const problem = (env: Record<string, string>) => {
    try {
      checkOtlpHeaders(env);
      return undefined;
    } catch (error) {
      expect(OrchestratorError.is(error, "INVALID_ARGUMENT")).toBe(true);
      return [(error as OrchestratorError).path, (error as Error).message.replace(/\. Write the headers as .*$/, "")];
    }
  };

  it("takes key=value pairs separated by commas, values URL-encoded, as the OpenTelemetry specification writes them", () => {
    expect(problem({ OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20dXNlcjpwYXNz==, x-tenant = reev ," })).toBeUndefined();
    expect(problem({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: "a=b", OTEL_EXPORTER_OTLP_HEADERS: "" })).toBeUndefined();
    expect(problem({})).toBeUndefined();
  });

  it("names the variable and the entry that cannot be read, never quoting a value", () => {
    expect(problem({ OTEL_EXPORTER_OTLP_HEADERS: "garbage" })).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS",
      "OTEL_EXPORTER_OTLP_HEADERS could not be read: entry 1 is not key=value",
    ]);
    expect(problem({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=reev,Authorization: Bearer s3cret" })).toEqual([
      "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS could not be read: entry 2 is written "Authorization: …", as an HTTP header; write it Authorization=… (spaces as %20)',
    ]);
    expect(problem({ OTEL_EXPORTER_OTLP_HEADERS: "=v,bad key=v,empty=,semi=a;b,pct=100%,nl=a%0Ab" })?.[1]).toBe(
      "OTEL_EXPORTER_OTLP_HEADERS could not be read: " +
        'entry 1 has no key before its "="; ' +
        'entry 2\'s key "bad key" is not an HTTP header name; ' +
        "entry 3 (empty) has no value; " +
        'entry 4 (semi) has a ";" in its value, which would be cut off there: write it %3B; ' +
        'entry 5 (pct) has a "%" that is not URL encoding: write a "%" as %25; ' +
        "entry 6 (nl) has a line break or another control character in its value",
    );
    expect(problem({ OTEL_EXPORTER_OTLP_HEADERS: "Authorization: Bearer s3cret" })?.[1]).not.toContain("s3cret");
  });
});

describe("deliverOtlp", () => {
  it("a backoff whose timer fires after the time limit returns the last answer, sending nothing more (a request's timeout can never be 0 or negative)", async () => {
    const receiver = await startOtlpReceiver();
    receiver.answer(503);
    const agent = new Agent();
    const realNow = Date.now.bind(Date);
    let calls = 0;
    // The time limit is read twice before the backoff (the deadline, then whether the wait fits):
    // from the third reading on, the clock has passed it, as a timer fired late on a busy machine.
    const clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() + (++calls > 2 ? 120_000 : 0));
    try {
      const answer = await deliverOtlp({ url: receiver.url, headers: {}, agent, compression: "none" }, new Uint8Array([1]), 60_000);
      expect(answer.status).toBe("retryable");
      expect(receiver.arrivals).toHaveLength(1);
    } finally {
      clock.mockRestore();
      agent.destroy();
      await receiver.close();
    }
  });
});
