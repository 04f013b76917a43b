import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import type { Database } from "@reev/db";
import { consolidateExecution } from "@reev/orchestrator";
import { encodeCursor } from "@reev/server";
import autocannon from "autocannon";
import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";
import type { ChildMessage, ParentMessage } from "./api-server-child.js";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import type { CleanupScope } from "./cleanup.js";
import { whole } from "./format.js";
import { populateExecution, populateExecutions } from "./populate.js";
import { progress } from "./progress.js";
import { pgliteDriver, type RawDriver } from "./raw-driver.js";
import { median, percentile } from "./stats.js";
import { stepInputs } from "./step-fixtures.js";
import { openWithPGlite } from "./writer-pglite.js";

/**
 * §7 (issue 10) The API: `reev serve`'s app against a bare `node:http` handler running the same SQL on
 * the raw driver and writing the same JSON (bare-api.ts), both in one server process
 * (api-server-child.ts), loaded by autocannon over loopback, round after round, the order rotated:
 * - the list's first page and a deep page (the cursor at 90 % of the stored executions), 32 connections;
 * - the flow of a 100-step run (the read + renderFlowDiagram);
 * - on PostgreSQL, from a step's commit (another process's write, as `reev run` makes it) to its SSE
 *   event at a client, with many runs at once;
 * - the server process's RSS, idle and under load.
 */

type LoadStats = { requestsPerSecond: number[]; p50Ms: number[]; p99Ms: number[] };
type LoadCase = {
  id: "list" | "deep" | "flow";
  label: string;
  reev: { requestsPerSecond: number; p50Ms: number; p99Ms: number; rounds: LoadStats };
  bare: { requestsPerSecond: number; p50Ms: number; p99Ms: number; rounds: LoadStats };
  /** reev requests/s ÷ bare requests/s. */
  throughputRatio: number;
};

export type ApiResult = {
  executions: number;
  stepsPerExecution: number;
  deepRow: number;
  flowSteps: number;
  connections: number;
  seconds: number;
  cases: LoadCase[];
  /** reev's deep-page p50 ÷ its first-page p50. */
  deepP50Ratio: number;
  sse: { runs: number; steps: number; events: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
  sseSkipped: string | null;
  rssMiB: { idle: number; underLoad: number };
  where: string;
};

const CHILD = fileURLToPath(new URL("./api-server-child.js", import.meta.url));
const STEPS_PER_EXECUTION = 10;
const CONNECTIONS = 32;
/** Seconds of untimed load per side and case before the timed rounds. */
const WARM_UP_SECONDS = 2;
const FLOW_ID = "api-flow";
const MiB = 2 ** 20;

/** `work`, or an error saying `what` once `ms` have passed without it. */
async function within<T>(ms: number, work: Promise<T>, what: () => string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      work,
      wait(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(what());
      }),
    ]);
  } finally {
    timer.abort();
  }
}

/** The server process, and a way to ask for its RSS. */
type ServerChild = { reevUrl: string; bareUrl: string; rss(): Promise<number>; stop(): Promise<void> };

async function startServer(scope: CleanupScope, url: string): Promise<ServerChild> {
  const child: ChildProcess = fork(CHILD, [url], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  scope.defer(`stop the API server process ${child.pid}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const next = <T extends ChildMessage["type"]>(type: T) =>
    new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== type) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(message as Extract<ChildMessage, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the API server process exited (${code})`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const ready = await next("ready");
  const post = (message: ParentMessage) => child.send(message);
  return {
    reevUrl: ready.reevUrl,
    bareUrl: ready.bareUrl,
    rss: async () => {
      const answer = next("rss");
      post({ type: "rss" });
      return (await answer).rss;
    },
    stop: async () => {
      const exited = once(child, "exit");
      post({ type: "stop" });
      const [code] = (await within(30_000, exited, () => "the API server process did not stop within 30 s")) as [number | null];
      if (code !== 0) throw new Error(`the API server process exited with ${code}`);
    },
  };
}

/** The stored executions, the 100-step run and the deep cursor, on a database the server process can open. */
async function prepare(
  scope: CleanupScope,
  backend: Backend,
  config: BenchConfig,
): Promise<{ url: string; executions: number; deepCursor: string; flowId: string; where: string }> {
  const executions = backend.childUrl ? config.apiExecutions : config.apiPgliteExecutions;
  const fill = async (db: Database, raw: RawDriver) => {
    progress(`[${backend.key}] 7 api: storing ${whole(executions)} executions × ${STEPS_PER_EXECUTION} steps`);
    await populateExecutions(raw, "api", executions, STEPS_PER_EXECUTION, (done) =>
      progress(`[${backend.key}] 7 api: ${whole(done)} of ${whole(executions)} executions stored`),
    );
    const flowId = `${FLOW_ID}-${config.apiFlowSteps}`;
    await populateExecution(raw, flowId, config.apiFlowSteps);
    await db.writer.finishExecutionSession(flowId, { status: "completed" });
    await consolidateExecution(db, flowId);
    const deepRow = Math.floor(executions * 0.9);
    const [key] = await raw.query<{ started_at: Date | string; execution_id: string }>(
      "SELECT started_at, execution_id FROM execution_sessions ORDER BY started_at DESC, execution_id DESC OFFSET $1 LIMIT 1",
      [deepRow - 1],
    );
    if (!key) throw new Error(`[${backend.key}] 7 api: no execution at row ${deepRow}`);
    return { flowId, deepCursor: encodeCursor({ startedAt: new Date(key.started_at), executionId: key.execution_id }) };
  };
  if (backend.childUrl) {
    const filled = await fill(backend.db, backend.raw);
    return { url: backend.childUrl, executions, ...filled, where: `a server process on ${backend.description}` };
  }
  // PGlite lives in the process that opens it: a directory database, filled here, then opened by the server process.
  const dir = mkdtempSync(join(tmpdir(), "reev-bench-api-"));
  scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const url = join(dir, "db");
  const { db, pglite } = await openWithPGlite(url);
  try {
    const filled = await fill(db, pgliteDriver(pglite));
    return { url, executions, ...filled, where: `a server process on an embedded PGlite directory (${url})` };
  } finally {
    await db.close();
  }
}

/** Both sides must answer 200 with the same JSON before either is timed. */
async function checkSameAnswers(what: string, reevUrl: string, bareUrl: string): Promise<void> {
  const [reev, bare] = await Promise.all([fetch(reevUrl), fetch(bareUrl)]);
  if (reev.status !== 200 || bare.status !== 200) throw new Error(`${what}: reev answered ${reev.status}, bare ${bare.status}`);
  const [a, b] = await Promise.all([reev.json(), bare.json()]);
  if (!isDeepStrictEqual(a, b)) throw new Error(`${what}: reev and the bare handler answered differently`);
}

/**
 * Requests/s and latency percentiles of `seconds` of load. The percentiles come from each response's
 * own time, not from autocannon's histogram, which keeps whole milliseconds: at a p50 near 10 ms that
 * alone moved the deep page's ratio to page 1 by a tenth.
 */
async function load(url: string, seconds: number): Promise<{ rps: number; p50: number; p99: number }> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections: CONNECTIONS, duration: seconds }, (error, done) =>
      error ? reject(error) : resolve(done),
    );
    instance.on("response", (_client, _status, _bytes, ms) => times.push(ms));
  });
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(`${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers under load`);
  }
  return { rps: result.requests.total / (result.duration || seconds), p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Samples the server process's RSS every 200 ms while `work` runs; resolves with the work's result and the peak. */
async function peakRss<T>(server: ServerChild, work: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = await server.rss();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await server.rss());
      await wait(200);
    }
  })();
  try {
    return { value: await work(), peak };
  } finally {
    sampling = false;
    await sampler;
  }
}

async function loadCases(
  backend: Backend,
  config: BenchConfig,
  server: ServerChild,
  paths: { id: LoadCase["id"]; label: string; path: string }[],
): Promise<LoadCase[]> {
  const samples = new Map<string, { rps: number; p50: number; p99: number }[]>();
  const sides = ["reev", "bare"] as const;
  const urlOf = (side: (typeof sides)[number], path: string) => `${side === "reev" ? server.reevUrl : server.bareUrl}${path}`;
  // Untimed load first, as the other scenarios write warm-up steps: the first seconds of each side
  // run before its code is compiled (reev's ORM, router and validation more than the bare handler's).
  for (const c of paths)
    for (const side of sides) {
      progress(`[${backend.key}] 7 api: ${c.label}, warming up, ${side}`);
      await load(urlOf(side, c.path), Math.min(WARM_UP_SECONDS, config.apiSeconds));
    }
  for (let round = 0; round < config.apiRounds; round++) {
    for (const c of paths) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        progress(`[${backend.key}] 7 api: ${c.label}, round ${round + 1}/${config.apiRounds}, ${side}`);
        const key = `${c.id}/${side}`;
        samples.set(key, [...(samples.get(key) ?? []), await load(urlOf(side, c.path), config.apiSeconds)]);
      }
    }
  }
  return paths.map((c) => {
    const side = (name: (typeof sides)[number]) => {
      const runs = samples.get(`${c.id}/${name}`)!;
      const rounds = { requestsPerSecond: runs.map((r) => r.rps), p50Ms: runs.map((r) => r.p50), p99Ms: runs.map((r) => r.p99) };
      return { requestsPerSecond: median(rounds.requestsPerSecond), p50Ms: median(rounds.p50Ms), p99Ms: median(rounds.p99Ms), rounds };
    };
    const reev = side("reev");
    const bare = side("bare");
    return { id: c.id, label: c.label, reev, bare, throughputRatio: reev.requestsPerSecond / bare.requestsPerSecond };
  });
}

/** The events of one run's stream, handed to `onEvent` as they come, until `stop` says so. */
async function follow(url: string, onEvent: (event: EventSourceMessage) => boolean): Promise<void> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`${url}: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${url}: the stream ended before the run's steps came`);
      if (onEvent(value)) return;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * Commit → event: `runs` executions at once, each storing `steps` steps through the writer in this
 * process (another process than the server's, as `reev run` would), with a think time between steps;
 * each followed by an SSE client. A latency is from the writer's acknowledgement of the step to the
 * client's parse of its `step` event (an event before the acknowledgement counts as 0).
 */
async function sseLatency(backend: Backend, config: BenchConfig, reevUrl: string): Promise<NonNullable<ApiResult["sse"]>> {
  const runs = config.apiSseRuns;
  const steps = stepInputs(config.apiSseSteps);
  const committed = new Map<string, number>();
  const received = new Map<string, number>();
  const ids = Array.from({ length: runs }, (_, i) => `api-sse-${Date.now()}-${i}`);
  for (const id of ids)
    await backend.db.writer.createExecutionSession({ executionId: id, flowId: "api-sse", agent: "bench", prompt: "sse" });
  // Each client is subscribed once its first event (the run's status) has come.
  const subscribed: Promise<void>[] = [];
  const followed = ids.map((id) => {
    let ready: () => void = () => {};
    subscribed.push(new Promise((resolve) => (ready = resolve)));
    let seen = 0;
    return follow(`${reevUrl}/api/v1/executions/${id}/events`, (event) => {
      ready();
      if (event.event !== "step") return false;
      received.set(`${id}#${(JSON.parse(event.data) as { step_index: number }).step_index}`, performance.now());
      return ++seen === steps.length;
    });
  });
  await Promise.all(subscribed);
  progress(`[${backend.key}] 7 api: SSE, ${runs} runs × ${steps.length} steps at once`);
  await Promise.all(
    ids.map(async (id) => {
      for (const step of steps) {
        await wait(20 + Math.random() * 80);
        await backend.db.writer.storeStep(id, step);
        committed.set(`${id}#${step.stepIndex}`, performance.now());
      }
    }),
  );
  await within(60_000, Promise.all(followed), () => `SSE: ${received.size} of ${committed.size} step events came within 60 s`);
  for (const id of ids) await backend.db.writer.finishExecutionSession(id, { status: "completed" });
  const latencies = [...committed].map(([key, at]) => Math.max(0, (received.get(key) ?? Number.NaN) - at));
  if (latencies.some(Number.isNaN)) throw new Error("SSE: a committed step's event never came");
  return {
    runs,
    steps: steps.length,
    events: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}

export async function api(scope: CleanupScope, backend: Backend, config: BenchConfig): Promise<ApiResult> {
  const prepared = await prepare(scope, backend, config);
  const server = await startServer(scope, prepared.url);
  const list = "/api/v1/executions?limit=50";
  const paths = [
    { id: "list" as const, label: "GET /api/v1/executions?limit=50", path: list },
    {
      id: "deep" as const,
      label: `… a deep page (cursor at row ${whole(Math.floor(prepared.executions * 0.9))})`,
      path: `${list}&cursor=${prepared.deepCursor}`,
    },
    { id: "flow" as const, label: `GET /api/v1/flows/{id} (${config.apiFlowSteps} steps)`, path: `/api/v1/flows/${prepared.flowId}` },
  ];
  for (const p of paths) await checkSameAnswers(`[${backend.key}] ${p.label}`, `${server.reevUrl}${p.path}`, `${server.bareUrl}${p.path}`);
  const idle = await server.rss();
  const { value: cases, peak } = await peakRss(server, () => loadCases(backend, config, server, paths));
  const sseSkipped = backend.childUrl ? null : "PGlite: one process holds the database, so no other process's commit can be streamed";
  const sse = backend.childUrl ? await peakRss(server, () => sseLatency(backend, config, server.reevUrl)) : undefined;
  await server.stop();
  const byId = (id: LoadCase["id"]) => cases.find((c) => c.id === id)!;
  return {
    executions: prepared.executions,
    stepsPerExecution: STEPS_PER_EXECUTION,
    deepRow: Math.floor(prepared.executions * 0.9),
    flowSteps: config.apiFlowSteps,
    connections: CONNECTIONS,
    seconds: config.apiSeconds,
    cases,
    deepP50Ratio: byId("deep").reev.p50Ms / byId("list").reev.p50Ms,
    sse: sse?.value ?? null,
    sseSkipped,
    rssMiB: { idle: idle / MiB, underLoad: Math.max(peak, sse?.peak ?? 0) / MiB },
    where: prepared.where,
  };
}
