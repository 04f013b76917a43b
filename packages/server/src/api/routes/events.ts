import { createRoute, z } from "@hono/zod-openapi";
import { readRunProgress } from "@reev/db";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { decodeEventId, eventsSince, INITIAL_STATE, isFinal, observe } from "../../live/run-events.js";
import { Wakeup } from "../../live/wakeup.js";
import type { App, ServerContext } from "../../server-context.js";
import { executionNotFound, ZApiErrorBody } from "../api-error.js";
import { ZExecutionIdParams, ZNoQuery } from "../params.js";

const eventsRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}/events",
  summary: "The run's events as Server-Sent Events: step, status, consolidation; then end.",
  description:
    "Each event has an id; reconnecting with Last-Event-ID resumes after it, with nothing lost or repeated. " +
    "`heartbeat` events (no id) keep an idle stream alive. After the run's final event the server sends `end` and closes; " +
    "a finished run replays its events, then ends. A run still recorded running whose process is gone (abandoned) gets a " +
    "`status` event with `abandoned: true`; the stream stays open, since only reev recover will move it: its events follow, then `end`.",
  request: {
    params: ZExecutionIdParams,
    query: ZNoQuery,
    headers: z.object({
      "last-event-id": z
        .string()
        .optional()
        .openapi({ description: "The id of the last event received: the stream resumes after it (browsers send it when they reconnect)." }),
    }),
  },
  responses: {
    200: { description: "An event stream.", content: { "text/event-stream": { schema: z.string() } } },
    400: { description: "A Last-Event-ID this stream never sent.", content: { "application/json": { schema: ZApiErrorBody } } },
    404: { description: "No such execution.", content: { "application/json": { schema: ZApiErrorBody } } },
  },
});

const changesRoute = createRoute({
  method: "get",
  path: "/api/v1/events",
  summary: "Changes of any execution as Server-Sent Events: `change` with the execution id, as they are committed.",
  description:
    "`change` ({ execution_id }) says something about that execution was committed (a run started, a step stored, its status or " +
    "consolidation moved); read what from the execution routes. `resync` ({}) says changes may have been missed (the server's " +
    "notification connection was lost and is back): read again whatever you show. No ids: after a reconnect, read again too. " +
    "A `heartbeat` comes at once and then keeps an idle stream alive; the stream ends when the server stops.",
  request: { query: ZNoQuery },
  responses: { 200: { description: "An event stream.", content: { "text/event-stream": { schema: z.string() } } } },
});

/** Wakes `wakeup` when the client goes away or the server stops; returns the undo. */
function wakeOnEnd(stream: SSEStreamingApi, ctx: ServerContext, wakeup: Wakeup): () => void {
  const end = () => wakeup.signal();
  ctx.shutdown.addEventListener("abort", end);
  stream.onAbort(end);
  return () => ctx.shutdown.removeEventListener("abort", end);
}

export function registerEventRoutes(app: App, ctx: ServerContext): void {
  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const lastEventId = c.req.header("Last-Event-ID");
    let state = lastEventId ? decodeEventId(lastEventId, id) : INITIAL_STATE;
    const stored = await readRunProgress(ctx.db, id);
    if (!stored) throw await executionNotFound(ctx.db, id);
    const first = observe(stored, ctx.liveness);
    return streamSSE(c, async (stream) => {
      // Each change (or heartbeat) wakes the loop, which reads the run as stored and sends the difference.
      const wakeup = new Wakeup();
      const unsubscribe = ctx.hub.subscribe(id, () => wakeup.signal());
      const undo = wakeOnEnd(stream, ctx, wakeup);
      try {
        let progress = first;
        while (!stream.aborted && !ctx.shutdown.aborted) {
          const next = eventsSince(state, progress);
          for (const event of next.events) await stream.writeSSE({ event: event.event, id: event.id, data: JSON.stringify(event.data) });
          state = next.state;
          if (isFinal(progress)) {
            await stream.writeSSE({ event: "end", data: JSON.stringify({ execution_id: id }) });
            break;
          }
          const woke = await wakeup.wait(ctx.heartbeatMs);
          if (stream.aborted || ctx.shutdown.aborted) break;
          if (woke === "timeout") await stream.writeSSE({ event: "heartbeat", data: "{}" });
          const read = await readRunProgress(ctx.db, id);
          if (!read) break;
          // Read again on every wake, the heartbeat's included: a process killed (kill -9) announces nothing.
          progress = observe(read, ctx.liveness);
        }
      } finally {
        unsubscribe();
        undo();
      }
    });
  });

  // Every change, as ids: the runs list follows it. Nothing is read here: a client reads what it shows.
  app.openapi(changesRoute, (c) =>
    streamSSE(c, async (stream) => {
      const wakeup = new Wakeup();
      const changed = new Set<string>();
      let resync = false;
      const unsubscribe = ctx.hub.subscribe(undefined, (id) => {
        if (id === undefined) resync = true;
        else changed.add(id);
        wakeup.signal();
      });
      const undo = wakeOnEnd(stream, ctx, wakeup);
      try {
        // At once: the client knows it is connected (and from when it hears every change).
        await stream.writeSSE({ event: "heartbeat", data: "{}" });
        while (!stream.aborted && !ctx.shutdown.aborted) {
          const ids = [...changed];
          changed.clear();
          if (resync) {
            resync = false;
            await stream.writeSSE({ event: "resync", data: "{}" });
          }
          for (const execution_id of ids) await stream.writeSSE({ event: "change", data: JSON.stringify({ execution_id }) });
          const woke = await wakeup.wait(ctx.heartbeatMs);
          if (woke === "timeout" && !stream.aborted && !ctx.shutdown.aborted) await stream.writeSSE({ event: "heartbeat", data: "{}" });
        }
      } finally {
        unsubscribe();
        undo();
      }
    }),
  );
}
