import type { Agent } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { OTLPExporterError } from "@opentelemetry/otlp-exporter-base";

/** Where and how one batch is posted: the OTLP exporter's configuration, resolved (its env variables included). */
export type OtlpTarget = { url: string; headers: Record<string, string>; agent: Agent; compression: "gzip" | "none" };

/**
 * How one batch's delivery ended. `stopped`: a signal ended it before it was delivered; `cutOff` when
 * a request was still unanswered then (what it carried may have arrived), false when none was.
 */
export type OtlpAnswer =
  | { status: "success" }
  | { status: "retryable"; error: Error; retryInMs: number | undefined }
  | { status: "failure"; error: Error }
  | { status: "stopped"; cutOff: boolean };

/**
 * How long a request under way when the signal comes may still take to be answered: a collector
 * answers in milliseconds, and its answer says whether the spans arrived; one that does not answer
 * would hold the person who pressed Ctrl-C for the rest of the time limit.
 */
export const ANSWER_GRACE_MS = 2_000;

// The OTLP exporter's retry policy (@opentelemetry/otlp-exporter-base's retrying transport, after
// the OTLP specification), here because that one cannot be stopped: its waits and retries went on
// after a signal, and its requests were sent with no way to end them.
const MAX_RETRIES = 5;
const INITIAL_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;
/** What an endpoint's answer is read to, at most: a message quotes the start of it. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** The network errors the OTLP exporter retries. */
const RETRYABLE_NETWORK_ERRORS = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);

/** The statuses the OTLP specification calls retryable: busy or unavailable. */
const retryableStatus = (status: number) => status === 429 || status === 502 || status === 503 || status === 504;

/** Retry-After in ms (seconds, or an HTTP date); undefined when absent or unreadable. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(seconds * 1000, 0);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(date - Date.now(), 0);
}

/**
 * One POST of `body`, answered within `timeoutMs`. Once `signal` aborts, the request is given
 * ANSWER_GRACE_MS more to be answered, then cut off (`stopped`, `cutOff`); an answer that is not
 * a success after the signal is `stopped` too: nothing is retried. Sends nothing once it has aborted.
 */
function post(target: OtlpTarget, body: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<OtlpAnswer> {
  if (signal?.aborted) return Promise.resolve({ status: "stopped", cutOff: false });
  return new Promise((settle) => {
    const gzip = target.compression === "gzip";
    const payload = gzip ? gzipSync(body) : body;
    const send = new URL(target.url).protocol === "https:" ? httpsRequest : httpRequest;
    let grace: NodeJS.Timeout | undefined;
    const cutOff = () => {
      grace = setTimeout(() => {
        req.destroy();
        resolve({ status: "stopped", cutOff: true });
      }, ANSWER_GRACE_MS);
    };
    const resolve = (answer: OtlpAnswer) => {
      clearTimeout(grace);
      signal?.removeEventListener("abort", cutOff);
      settle(signal?.aborted && answer.status !== "success" && answer.status !== "stopped" ? { status: "stopped", cutOff: false } : answer);
    };
    const req = send(target.url, {
      method: "POST",
      agent: target.agent,
      headers: { ...target.headers, ...(gzip ? { "Content-Encoding": "gzip" } : {}), "Content-Length": payload.byteLength },
    });
    signal?.addEventListener("abort", cutOff, { once: true });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ status: "retryable", error: new Error("Request timed out"), retryInMs: undefined });
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on("error", (error) => resolve({ status: "failure", error }));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status <= 299) return resolve({ status: "success" });
        if (retryableStatus(status)) {
          const retryInMs = retryAfterMs(res.headers["retry-after"]);
          return resolve({ status: "retryable", error: new Error("Export failed with retryable status"), retryInMs });
        }
        resolve({ status: "failure", error: new OTLPExporterError(res.statusMessage, status, Buffer.concat(chunks).toString()) });
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      const retryable = typeof error.code === "string" && RETRYABLE_NETWORK_ERRORS.has(error.code);
      resolve(retryable ? { status: "retryable", error, retryInMs: undefined } : { status: "failure", error });
    });
    req.end(payload);
  });
}

/** Waits `ms`; false when `signal` aborted first. */
const waited = (ms: number, signal: AbortSignal | undefined): Promise<boolean> =>
  delay(ms, undefined, signal ? { signal } : {}).then(
    () => true,
    () => false,
  );

/**
 * Delivers one batch as the OTLP exporter would: a retryable answer is tried again with backoff (or
 * after its Retry-After), at most MAX_RETRIES times and never past `timeoutMs` from now. Once
 * `signal` aborts no request is sent: a wait between tries ends at once, the request under way is
 * given ANSWER_GRACE_MS (see `post`).
 */
export async function deliverOtlp(target: OtlpTarget, body: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<OtlpAnswer> {
  const deadline = Date.now() + timeoutMs;
  let backoff = INITIAL_BACKOFF_MS;
  let answer = await post(target, body, timeoutMs, signal);
  for (let retry = 1; answer.status === "retryable" && retry <= MAX_RETRIES; retry++) {
    const wait = answer.retryInMs ?? Math.min(backoff * (1 + (Math.random() * 2 - 1) * JITTER), MAX_BACKOFF_MS);
    backoff *= BACKOFF_MULTIPLIER;
    if (wait > deadline - Date.now()) return answer;
    if (!(await waited(wait, signal))) return { status: "stopped", cutOff: false };
    // A timer may fire late on a busy machine: with no time left, the last answer stands (a request's
    // timeout of 0 would wait for ever, and a negative one throws).
    const left = deadline - Date.now();
    if (left < 1) return answer;
    answer = await post(target, body, left, signal);
  }
  return answer;
}
