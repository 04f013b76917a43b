/**
 * `reev run --otlp-endpoint` and `reev export --format otlp` as a user runs them (child processes),
 * against a local OTLP/HTTP receiver that decodes with the official protobuf definitions; on the
 * embedded database, and on PostgreSQL when REEV_TEST_DATABASE_URL is set.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/testing";
import { snapshotTables, type TableSnapshot } from "@reev/db/testing/fault-injection";
import { REFUSED_CONNECTION_TRIES, traceIdOf } from "@reev/orchestrator/otlp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../../orchestrator/test/support/otlp-receiver.js";
import { assertBuilt, cliEnv, executionIds, fixture, makeTempDir, runCli, show } from "./support/run-cli.js";

const postgresUrl = process.env.REEV_TEST_DATABASE_URL;
type Backend = { name: string; open(dir: string): Promise<{ url: string; drop(): Promise<void> }> };
const BACKENDS: Backend[] = [
  { name: "embedded PGlite", open: async (dir) => ({ url: join(dir, "db"), drop: async () => {} }) },
  ...(postgresUrl ? [{ name: "PostgreSQL", open: () => createPostgresDatabase(postgresUrl, { migrated: true }) }] : []),
];

async function snapshot(url: string): Promise<TableSnapshot> {
  const db = await openDatabase({ url });
  try {
    return await snapshotTables(db);
  } finally {
    await db.close();
  }
}

const spansOf = (receiver: OtlpReceiver, executionId: string, from: number, to?: number): ReceivedSpan[] =>
  receiver.requests
    .slice(from, to)
    .flatMap((r) => r.spans)
    .filter((s) => s.traceId === traceIdOf(executionId));

describe.each(BACKENDS)("reev and OpenTelemetry on $name", (backend) => {
  let temp: ReturnType<typeof makeTempDir>;
  let database: { url: string; drop(): Promise<void> };
  let receiver: OtlpReceiver;
  const reev = (args: string[], env: Record<string, string> = {}) =>
    runCli([...args, "--db", database.url], { cwd: temp.dir, env: cliEnv(env) });
  /** From `reev run` below: one run that completed and one whose critical step failed. */
  let completed: string;
  let failed: string;
  /** The receiver's requests from `reev run`: [runStart, runEnd). */
  let runStart: number;
  let runEnd: number;

  beforeAll(async () => {
    assertBuilt();
    temp = makeTempDir("reev-cli-otlp-");
    database = await backend.open(temp.dir);
    receiver = await startOtlpReceiver();
    runStart = receiver.requests.length;
    const r = await reev(["run", fixture("succeeds.yaml"), fixture("critical-fails.yaml"), "--otlp-endpoint", receiver.url]);
    expect(r.code, show(r)).toBe(1); // critical-fails fails on purpose
    runEnd = receiver.requests.length;
    [completed, failed] = executionIds(r.stdout) as [string, string];
    expect(r.stderr).toContain(`OpenTelemetry: each run is sent to ${receiver.url} when it finishes`);
    expect(r.stdout).toMatch(new RegExp(`^OpenTelemetry: sent 2 runs \\(\\d+ spans\\) to ${receiver.url.replaceAll(".", "\\.")}\\.$`, "m"));
  });

  afterAll(async () => {
    await receiver?.close();
    await database?.drop();
    temp?.remove();
  });

  it("reev run --otlp-endpoint sends each run as it finished: one tree per run, times as stored", async () => {
    const db = await openDatabase({ url: database.url });
    try {
      for (const executionId of [completed, failed]) {
        const spans = spansOf(receiver, executionId, runStart, runEnd);
        const execution = await db.writer.getExecutionSession(executionId);
        const steps = await db.writer.getSessionsForConsolidation(executionId);
        const root = spans.filter((s) => s.parentSpanId === "");
        expect(root, executionId).toHaveLength(1);
        expect(root[0]?.name).toBe(`invoke_workflow ${execution?.flowId}`);
        expect(root[0]?.start).toBe(BigInt(execution?.startedAt.getTime() ?? 0) * 1_000_000n);
        expect(root[0]?.end).toBe(BigInt(execution?.finishedAt?.getTime() ?? 0) * 1_000_000n);
        const stepSpans = spans.filter((s) => s.parentSpanId === root[0]?.spanId);
        expect(stepSpans.map((s) => s.attributes["reev.step.index"])).toEqual(steps.map((s) => s.stepIndex));
        expect(stepSpans.every((s) => s.name === "invoke_agent scripted")).toBe(true);
        const toolSpans = spans.filter((s) => s.name.startsWith("execute_tool "));
        expect(toolSpans.map((s) => s.name)).toEqual(steps.flatMap((s) => s.toolCalls.map((c) => `execute_tool ${c.toolName}`)));
        expect(spans).toHaveLength(1 + steps.length + toolSpans.length);
        expect(spans.every((s) => s.attributes["session.id"] === executionId)).toBe(true);
      }
      const failedRoot = spansOf(receiver, failed, runStart, runEnd).find((s) => s.parentSpanId === "");
      expect([failedRoot?.status.code, failedRoot?.attributes["error.type"]]).toEqual([2, "failed"]);
    } finally {
      await db.close();
    }
  });

  it("reev export --format otlp honours OTEL_EXPORTER_OTLP_ENDPOINT and _HEADERS, sends what reev run sent, and writes nothing", async () => {
    const before = await snapshot(database.url);
    const from = receiver.requests.length;
    const r = await reev(["export", completed, "--format", "otlp"], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl,
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20t0k,x-tenant=reev",
    });
    expect(r.code, show(r)).toBe(0);
    const sent = spansOf(receiver, completed, from);
    expect(r.stdout).toBe(`Sent ${sent.length} spans of execution ${completed} to ${receiver.url} (trace ${traceIdOf(completed)}).\n`);
    const request = receiver.requests[from];
    expect(request?.path).toBe("/v1/traces");
    expect([request?.headers.authorization, request?.headers["x-tenant"]]).toEqual(["Bearer t0k", "reev"]);
    // Exported twice (by reev run, and now): the same spans.
    expect(sent).toEqual(spansOf(receiver, completed, runStart, runEnd));
    expect(await snapshot(database.url)).toEqual(before);
  });

  it("an endpoint answering 500: a plain-words error, one request, exit 1, nothing written", async () => {
    const before = await snapshot(database.url);
    receiver.answer(500);
    const hits = receiver.hits;
    const r = await reev(["export", failed, "--format", "otlp", "--endpoint", receiver.url]);
    receiver.answer(200);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^Sending \\d+ spans of ${failed} to ${receiver.url}…\n`));
    // Answered at once: no word of retrying.
    expect(r.stderr.replace(/^Sending .*\n/, "")).toBe(
      `reev: Could not send execution "${failed}" to the OTLP endpoint ${receiver.url}: it answered HTTP 500 (receiver answers 500).\n` +
        "Check that a collector (OpenTelemetry Collector, Jaeger, Tempo, Phoenix, Langfuse) listens for OTLP over HTTP at that URL, and the headers it needs (OTEL_EXPORTER_OTLP_HEADERS); then export again.\n",
    );
    expect(receiver.hits - hits).toBe(1);
    expect(await snapshot(database.url)).toEqual(before);
  });

  it("an endpoint answering 503 is retried a bounded number of times within OTEL_EXPORTER_OTLP_TIMEOUT, then exit 1", async () => {
    receiver.answer(503);
    const hits = receiver.hits;
    const r = await reev(["export", failed, "--format", "otlp", "--endpoint", receiver.url], { OTEL_EXPORTER_OTLP_TIMEOUT: "2000" });
    receiver.answer(200);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(/busy or unavailable \(HTTP 429, 502, 503 or 504\), retried for up to 2 s\.\n/);
    expect(receiver.hits - hits).toBeGreaterThanOrEqual(2);
    expect(receiver.hits - hits).toBeLessThanOrEqual(6);
  });

  it("a refused connection: tried a few times, not for the whole time limit; a plain-words error and exit 1", async () => {
    const closed = await startOtlpReceiver();
    const url = closed.url;
    await closed.close();
    // A time limit far past the test's own: the exporter's retries of a refusal would use it all up.
    const r = await reev(["export", completed, "--format", "otlp", "--endpoint", url], { OTEL_EXPORTER_OTLP_TIMEOUT: "600000" });
    expect(r.code, show(r)).toBe(1);
    // Said as it happens: what is sent where, each refusal tried again, then why it failed.
    expect(r.stderr).toMatch(
      new RegExp(
        `^Sending \\d+ spans of ${completed} to ${url}…\n` +
          `${url} refused the connection; trying again \\(2 of ${REFUSED_CONNECTION_TRIES}\\)…\n` +
          `${url} refused the connection; trying again \\(3 of ${REFUSED_CONNECTION_TRIES}\\)…\n` +
          "reev: ",
      ),
    );
    expect(r.stderr).toContain(
      `reev: Could not send execution "${completed}" to the OTLP endpoint ${url}: the connection was refused: nothing is listening there (tried ${REFUSED_CONNECTION_TRIES} times).\n`,
    );
  });

  it("with --json, stderr is the error's one JSON line: no progress lines", async () => {
    const closed = await startOtlpReceiver();
    const url = closed.url;
    await closed.close();
    const failed = await reev(["export", completed, "--format", "otlp", "--endpoint", url, "--json"]);
    expect(failed.code, show(failed)).toBe(1);
    expect(failed.stderr.endsWith("\n") && failed.stderr.split("\n")).toHaveLength(2);
    expect(JSON.parse(failed.stderr)).toEqual({
      error: {
        code: "EXPORT_FAILED",
        message: expect.stringContaining(`nothing is listening there (tried ${REFUSED_CONNECTION_TRIES} times).`),
        field: "--endpoint",
      },
    });
    const sent = await reev(["export", completed, "--format", "otlp", "--endpoint", receiver.url, "--json"]);
    expect(sent.code, show(sent)).toBe(0);
    expect(sent.stderr).toBe("");
    expect(sent.stdout).toMatch(/^Sent \d+ spans of execution /);
  });

  it("the default endpoint not answering: the JSON error's field is --endpoint, the option that changes it", async () => {
    // The OpenTelemetry default, http://localhost:4318/v1/traces: nothing may listen there for this test to say anything.
    const listening = await new Promise<boolean>((resolve) => {
      const probe = connect(4318, "localhost")
        .on("connect", () => {
          probe.destroy();
          resolve(true);
        })
        .on("error", () => resolve(false));
    });
    expect(listening, "something listens on localhost:4318; this test needs it free").toBe(false);
    const r = await reev(["export", completed, "--format", "otlp", "--json"], {
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
    });
    expect(r.code, show(r)).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: "EXPORT_FAILED", message: expect.stringContaining("http://localhost:4318/v1/traces"), field: "--endpoint" },
    });
  });

  it("something that is not a collector answering an HTML 404: a short plain excerpt of it, no markup", async () => {
    const page = `<!DOCTYPE html><html><head><title>404 Not Found</title><style>body { color: red }</style></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>${"<p>filler &amp; more</p>".repeat(40)}</body></html>`;
    const web = createServer((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end(page));
    web.listen(0, "127.0.0.1");
    await once(web, "listening");
    try {
      const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}/v1/traces`;
      const r = await reev(["export", completed, "--format", "otlp", "--endpoint", url]);
      expect(r.code, show(r)).toBe(1);
      const excerpt = /it answered HTTP 404 \((.*)\)\.\n/.exec(r.stderr)?.[1];
      expect(excerpt, show(r)).toMatch(/^404 Not Found Not Found The requested URL was not found on this server\. filler & more .*…$/);
      expect([...(excerpt ?? "")].length).toBeLessThanOrEqual(200);
      expect(r.stderr).not.toMatch(/[<>]|color: red/);
    } finally {
      web.closeAllConnections();
      web.close();
    }
  });

  it("reev run with the endpoint failing: the runs are recorded, the first failure stops the sending, the rest are listed, exit 1", async () => {
    receiver.answer(500);
    const hits = receiver.hits;
    const r = await reev(["run", fixture("succeeds.yaml"), "--repeat", "2", "--concurrency", "1", "--otlp-endpoint", receiver.url]);
    receiver.answer(200);
    expect(r.code, show(r)).toBe(1);
    const ids = executionIds(r.stdout);
    expect(ids, show(r)).toHaveLength(2);
    expect(r.stdout).toContain(`OpenTelemetry: sent 0 runs (0 spans) to ${receiver.url}.\n`);
    expect(r.stdout).toContain(`it answered HTTP 500 (receiver answers 500).\n  Not sent: 2 runs.`);
    for (const id of ids) expect(r.stdout).toContain(`\n    ${id}\n`);
    // Both runs completed: the exit code's reason is said.
    expect(r.stdout).toContain(`\n    ${ids[1]}\n  reev exits 1 for the runs not sent, whatever the runs' own outcome.\n`);
    expect(receiver.hits - hits).toBe(1);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("2 runs: 2 completed, 0 failed");
  });

  it("OTEL_EXPORTER_OTLP_HEADERS that cannot be read: refused before anything runs or is sent, naming the variable, exit 2", async () => {
    const before = await snapshot(database.url);
    const hits = receiver.hits;
    const exp = await reev(["export", completed, "--format", "otlp", "--endpoint", receiver.url], {
      OTEL_EXPORTER_OTLP_HEADERS: "garbage",
    });
    expect(exp.code, show(exp)).toBe(2);
    expect(exp.stderr).toMatch(
      /^reev: OTEL_EXPORTER_OTLP_HEADERS could not be read: entry 1 is not key=value\. Write the headers as key=value pairs separated by commas, values URL-encoded: Authorization=Basic%20dXNlcjpwYXNz,X-Scope-OrgID=tenant1\.\n/,
    );
    expect(exp.stdout).toBe("");
    const run = await reev(["run", fixture("succeeds.yaml"), "--otlp-endpoint", receiver.url], {
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "Authorization: Bearer s3cret",
    });
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toMatch(
      /^reev: OTEL_EXPORTER_OTLP_TRACES_HEADERS could not be read: entry 1 is written "Authorization: …", as an HTTP header; write it Authorization=… \(spaces as %20\)\. /,
    );
    expect(run.stderr + run.stdout).not.toContain("s3cret");
    expect(receiver.hits).toBe(hits);
    expect(await snapshot(database.url)).toEqual(before);
  });

  it("a bad --otlp-endpoint or --endpoint is refused before anything runs or is written: exit 2", async () => {
    const before = await snapshot(database.url);
    const run = await reev(["run", fixture("succeeds.yaml"), "--otlp-endpoint", "ftp://collector"]);
    expect(run.code, show(run)).toBe(2);
    expect(run.stderr).toMatch(
      /^reev: --otlp-endpoint must be an http:\/\/ or https:\/\/ URL \(OTLP over HTTP\), got "ftp:\/\/collector"\.\n/,
    );
    const exp = await reev(["export", completed, "--format", "otlp"], { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    expect(exp.code, show(exp)).toBe(2);
    expect(exp.stderr).toMatch(/^reev: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
    expect(await snapshot(database.url)).toEqual(before);
  });
});

describe("reev run --otlp-endpoint on memory://", () => {
  it("runs not sent are said to be lost with the database, not given a reev export that would find nothing", async () => {
    const receiver = await startOtlpReceiver();
    const temp = makeTempDir("reev-cli-otlp-memory-");
    try {
      receiver.answer(500);
      const r = await runCli(["run", fixture("succeeds.yaml"), "--db", "memory://", "--otlp-endpoint", receiver.url], {
        cwd: temp.dir,
      });
      expect(r.code, show(r)).toBe(1);
      expect(r.stdout).toContain(
        "  Not sent: 1 run. They cannot be sent later: the in-memory database (--db memory://) goes with this command. To send them later, record the runs with --db a directory or a PostgreSQL URL.\n",
      );
      expect(r.stdout).not.toContain("reev export");
    } finally {
      await receiver.close();
      temp.remove();
    }
  });
});
