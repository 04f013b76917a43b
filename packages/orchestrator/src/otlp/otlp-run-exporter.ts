import type { Agent } from "node:http";
import { getNumberFromEnv } from "@opentelemetry/core";
import { convertLegacyHttpOptions } from "@opentelemetry/otlp-exporter-base/node-http";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { DatabaseWriter } from "@reev/db";
import { errorMessage, OrchestratorError } from "../errors.js";
import { truncateText } from "../mermaid/truncate-text.js";
import { DEFAULT_OTLP_TRACES_ENDPOINT, type OtlpEndpoint, resolveOtlpEndpoint } from "./otlp-endpoint.js";
import { checkOtlpHeaders } from "./otlp-headers.js";
import { deliverOtlp, type OtlpAnswer, type OtlpTarget } from "./otlp-request.js";
import { connectionRefused, REFUSED_CONNECTION_TRIES } from "./refused-connection.js";
import { type RunSpansContext, runSpans, type StoredRun } from "./run-spans.js";
import { traceIdOf } from "./trace-ids.js";

/** The exporter's own default time limit for one request, retries included (OTEL_EXPORTER_OTLP_TIMEOUT). */
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
/** Spans per request: a 10,000-step run is sent in several requests, none too large for a collector. */
export const SPANS_PER_REQUEST = 512;

export type OtlpExporterOptions = {
  /**
   * Headers sent with every request, beside OTEL_EXPORTER_OTLP_HEADERS and
   * OTEL_EXPORTER_OTLP_TRACES_HEADERS, which the exporter reads itself (these win on a clash).
   */
  headers?: Record<string, string>;
  /**
   * The time limit of one request, its retries included. Default: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
   * else OTEL_EXPORTER_OTLP_TIMEOUT, else 10 s.
   */
  timeoutMs?: number;
};

/** How long a request may go unanswered before the sender is told the endpoint is being retried. */
const SLOW_ANSWER_MS = 1_000;
/** How much of an endpoint's answer a message quotes. */
const MAX_ANSWER_EXCERPT = 200;

/** Lines for a person waiting on an export: what is being sent, and that an endpoint is being retried. */
export type OtlpProgress = (line: string) => void;

/**
 * What one run's export sent: `spans` the run's, `sent` those delivered (fewer only when a signal
 * stopped the export), `unconfirmed` those of a request the signal cut off unanswered: they may have
 * arrived or not.
 */
export type OtlpExportReport = {
  executionId: string;
  traceId: string;
  spans: number;
  sent: number;
  unconfirmed: number;
  requests: number;
  endpoint: string;
};

/**
 * Reads one run as the export needs it: the execution, its committed steps with their tool calls,
 * its consolidations. Only reads. A running execution is refused: its spans would have no end.
 */
export async function readStoredRun(db: { writer: DatabaseWriter }, executionId: string): Promise<StoredRun> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) throw new OrchestratorError("NOT_FOUND", `No execution "${executionId}".`, { path: "executionId" });
  if (execution.status === "running") {
    throw new OrchestratorError("NOT_FINISHED", `Execution "${executionId}" is still running: its spans have no end yet.`, {
      path: "executionId",
    });
  }
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const newestConsolidation = await db.writer.getNewestConsolidatedSession(executionId, { content: false });
  return { execution, steps, newestConsolidation };
}

const inSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * An endpoint's answer as a short plain excerpt: what is not a collector (a web server's 404 page)
 * answers HTML, whose tags, scripts and styles say nothing to a person reading an error.
 */
export function answerExcerpt(body: string): string {
  const text = body
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!--[\s\S]*?-->|<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
  return text ? truncateText(text, MAX_ANSWER_EXCERPT) : "";
}

/** The exporter's failure in plain words: what happened at the endpoint, not the transport's jargon. */
function whyExportFailed(error: unknown, timeoutMs: number): string {
  const seconds = inSeconds(timeoutMs);
  const status = (error as { code?: unknown } | undefined)?.code;
  if (typeof status === "number") {
    const body = answerExcerpt(String((error as { data?: unknown }).data ?? ""));
    return `it answered HTTP ${status}${body ? ` (${body})` : ""}`;
  }
  switch (status) {
    case "ECONNREFUSED":
      return `the connection was refused: nothing is listening there (retried for up to ${seconds})`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `its host name could not be resolved (retried for up to ${seconds})`;
    case "ECONNRESET":
    case "EPIPE":
      return `the connection was dropped (retried for up to ${seconds})`;
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `the host could not be reached (retried for up to ${seconds})`;
  }
  const message = errorMessage(error);
  if (message === "Request timed out") return `it did not answer within ${seconds}`;
  if (message === "Export failed with retryable status") {
    return `it kept answering that it is busy or unavailable (HTTP 429, 502, 503 or 504), retried for up to ${seconds}`;
  }
  return message;
}

/**
 * Whether `signal` is aborted once pending events have been handled: a process signal (Ctrl-C) that
 * aborts it is handled only in the event loop's I/O poll, which the first setImmediate may precede
 * and the second follows.
 */
async function abortHeard(signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return false;
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  return signal.aborted;
}

/**
 * Sends stored runs to an OTLP/HTTP endpoint (protobuf), as spans built from the stored data by
 * `runSpans`. One exporter for many runs (one connection pool); runs are sent one after the other,
 * so any number of callers may share it. The configuration is the OTLP exporter's (its variables:
 * headers, compression, time limit), and so is the retry policy (see deliverOtlp): bounded in number
 * and by the time limit, and only for what the OTLP specification calls retryable (HTTP 429, 502,
 * 503, 504 and network errors); any other answer fails at once. A refused connection is the
 * exception: it is tried REFUSED_CONNECTION_TRIES times in under a second before anything is sent.
 */
export class OtlpRunExporter {
  readonly endpoint: OtlpEndpoint;
  readonly timeoutMs: number;
  readonly #config: ReturnType<typeof convertLegacyHttpOptions>;
  readonly #context: RunSpansContext;
  #target: Promise<OtlpTarget> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** Throws INVALID_ARGUMENT, naming the variable, when OTEL_EXPORTER_OTLP_(TRACES_)HEADERS cannot be read. */
  constructor(endpoint: OtlpEndpoint, options: OtlpExporterOptions = {}) {
    checkOtlpHeaders();
    this.endpoint = endpoint;
    this.timeoutMs =
      options.timeoutMs ??
      getNumberFromEnv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ??
      getNumberFromEnv("OTEL_EXPORTER_OTLP_TIMEOUT") ??
      DEFAULT_OTLP_TIMEOUT_MS;
    this.#config = convertLegacyHttpOptions(
      { url: endpoint.url, timeoutMillis: this.timeoutMs, ...(options.headers ? { headers: options.headers } : {}) },
      "TRACES",
      "v1/traces",
      { "Content-Type": "application/x-protobuf" },
    );
    // service.name "reev" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
    const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: "reev" }).merge(detectResources({ detectors: [envDetector] }));
    this.#context = { resource, scope: { name: "@reev/orchestrator" } };
  }

  /**
   * Reads the run from the store and sends its spans; rejects with EXPORT_FAILED when they could not be
   * delivered. `progress` hears what is sent, and, once, when the endpoint is slow to answer (it is
   * then retried for up to the time limit), so a person is not left waiting in silence. Once
   * `signal` aborts, no further request is sent: not the next batch, nor a retry of this one; the
   * request under way is given ANSWER_GRACE_MS to be answered, then cut off. The report's `sent` says
   * how many spans were delivered, `unconfirmed` how many went in a request cut off.
   */
  exportRun(
    db: { writer: DatabaseWriter },
    executionId: string,
    progress?: OtlpProgress,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<OtlpExportReport> {
    const next = this.#queue.then(() => this.#exportRun(db, executionId, progress, signal));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #exportRun(
    db: { writer: DatabaseWriter },
    executionId: string,
    progress: OtlpProgress | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OtlpExportReport> {
    const spans = runSpans(await readStoredRun(db, executionId), this.#context);
    const report = (sent: number, requests: number, unconfirmed = 0): OtlpExportReport => ({
      executionId,
      traceId: traceIdOf(executionId),
      spans: spans.length,
      sent,
      unconfirmed,
      requests,
      endpoint: this.endpoint.url,
    });
    progress?.(`Sending ${spans.length} spans of ${executionId} to ${this.endpoint.url}…`);
    if (await abortHeard(signal)) return report(0, 0);
    // Asked first, with a few quick tries: the exporter would retry a refusal for its whole time limit.
    const refused = await connectionRefused(this.endpoint.url, this.timeoutMs, (nextTry) =>
      progress?.(`${this.endpoint.url} refused the connection; trying again (${nextTry} of ${REFUSED_CONNECTION_TRIES})…`),
    );
    // A signal while the connection was tried: nothing was sent, and the refusal is not what stopped it.
    if (await abortHeard(signal)) return report(0, 0);
    if (refused) {
      throw new OrchestratorError(
        "EXPORT_FAILED",
        `Could not send execution "${executionId}" to the OTLP endpoint ${this.endpoint.url}: the connection was refused: nothing is listening there (tried ${REFUSED_CONNECTION_TRIES} times).`,
        { path: this.endpoint.source },
      );
    }
    let told = false;
    const tell = () => {
      // Once a signal came, the notice says what happens: no retrying is announced.
      if (signal?.aborted) return;
      told = true;
      progress?.(`${this.endpoint.url} has not answered yet; trying for up to ${inSeconds(this.timeoutMs)}…`);
    };
    let requests = 0;
    for (let i = 0; i < spans.length; i += SPANS_PER_REQUEST) {
      if (await abortHeard(signal)) return report(i, requests);
      const batch = spans.slice(i, i + SPANS_PER_REQUEST);
      const slow = progress && !told ? setTimeout(tell, SLOW_ANSWER_MS) : undefined;
      const answer = await this.#send(batch, signal).finally(() => clearTimeout(slow));
      requests += 1;
      if (answer.status === "stopped") return report(i, requests, answer.cutOff ? batch.length : 0);
      if (answer.status !== "success") {
        const sent = i ? ` (${i} of its ${spans.length} spans had been sent)` : "";
        throw new OrchestratorError(
          "EXPORT_FAILED",
          `Could not send execution "${executionId}" to the OTLP endpoint ${this.endpoint.url}: ${whyExportFailed(answer.error, this.timeoutMs)}${sent}.`,
          { path: this.endpoint.source, cause: answer.error },
        );
      }
    }
    return report(spans.length, requests);
  }

  async #send(spans: ReadableSpan[], signal: AbortSignal | undefined): Promise<OtlpAnswer> {
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (!body) return { status: "failure", error: new Error("The spans could not be encoded") };
    return deliverOtlp(await this.#targetOnce(), body, this.timeoutMs, signal);
  }

  /** The headers and the connection pool, resolved at the first request (the exporter's agent factory may load a module). */
  #targetOnce(): Promise<OtlpTarget> {
    this.#target ??= (async () => ({
      url: this.#config.url,
      headers: { ...(await this.#config.headers()), "User-Agent": "reev" },
      agent: (await this.#config.agentFactory(new URL(this.#config.url).protocol)) as Agent,
      compression: this.#config.compression,
    }))();
    return this.#target;
  }

  /** Waits for the runs being sent, then closes the connections. */
  async shutdown(): Promise<void> {
    await this.#queue;
    (await this.#target)?.agent.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/**
 * Sends one stored run: to `endpoint` when given, else where the OTEL_EXPORTER_OTLP_* variables
 * say, else to the specification's default, http://localhost:4318/v1/traces.
 */
export async function exportRunToOtlp(
  db: { writer: DatabaseWriter },
  executionId: string,
  options: OtlpExporterOptions & { endpoint?: string | undefined; endpointSource?: string } = {},
): Promise<OtlpExportReport> {
  const endpoint = resolveOtlpEndpoint({
    endpoint: options.endpoint,
    ...(options.endpointSource ? { endpointSource: options.endpointSource } : {}),
    fallback: DEFAULT_OTLP_TRACES_ENDPOINT,
  }) as OtlpEndpoint;
  await using exporter = new OtlpRunExporter(endpoint, options);
  return await exporter.exportRun(db, executionId);
}
