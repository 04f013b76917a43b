import { connect } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/**
 * How many times a refused connection is tried before an export gives up, and the waits between
 * the tries: a collector that is restarting gets a moment, one that is not there at all is said at
 * once. The OTLP exporter retries a refusal like any network error, with backoff for its whole time
 * limit (10 s by default), and its retries cannot be configured.
 */
export const REFUSED_CONNECTION_TRIES = 3;
const WAITS_MS = [250, 500];
/** How long one try waits for the connection: past it, the exporter's own time limit takes over. */
const CONNECT_TIMEOUT_MS = 1_000;

type Outcome = "refused" | "other";

/** One TCP connection to the endpoint, closed at once: refused, or anything else (open, another error, no answer in time). */
function tryConnect(host: string, port: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    const done = (outcome: Outcome) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once("connect", () => done("other"));
    socket.once("timeout", () => done("other"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" ? "refused" : "other"));
  });
}

/**
 * Whether nothing listens at the endpoint's host and port: true once every one of
 * REFUSED_CONNECTION_TRIES connections was refused; false as soon as one was not (the export then
 * goes ahead, and the exporter reports whatever else is wrong). `onRefused` hears each refusal that
 * is tried again, with the number of the next try.
 */
export async function connectionRefused(url: string, timeoutMs: number, onRefused?: (nextTry: number) => void): Promise<boolean> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(target.port) || (target.protocol === "https:" ? 443 : 80);
  for (let attempt = 1; attempt <= REFUSED_CONNECTION_TRIES; attempt += 1) {
    if ((await tryConnect(host, port, Math.min(timeoutMs, CONNECT_TIMEOUT_MS))) === "other") return false;
    if (attempt === REFUSED_CONNECTION_TRIES) break;
    onRefused?.(attempt + 1);
    await delay(WAITS_MS[attempt - 1] ?? 0);
  }
  return true;
}
