import { createRoute, z } from "@hono/zod-openapi";
import { readRunProgress } from "@reev/db";
import { streamSSE } from "hono/streaming";
import { decodeEventId, eventsSince, INITIAL_STATE, isFinal } from "../../live/run-events.js";
import type { App, ServerContext } from "../../server-context.js";
import { notFound, ZApiErrorBody } from "../api-error.js";
import { ZExecutionIdParams } from "../params.js";

const eventsRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}/events",
  summary: "The run's events as Server-Sent Events: step, status, consolidation; then end.",
  description:
    "Each event has an id; reconnecting with Last-Event-ID resumes after it, with nothing lost or repeated. " +
    "`heartbeat` events (no id) keep an idle stream alive. After the run's final event the server sends `end` and closes; " +
    "a finished run replays its events, then ends.",
  request: { params: ZExecutionIdParams },
  responses: {
    200: { description: "An event stream.", content: { "text/event-stream": { schema: z.string() } } },
    400: { description: "A Last-Event-ID this stream never sent.", content: { "application/json": { schema: ZApiErrorBody } } },
    404: { description: "No such execution.", content: { "application/json": { schema: ZApiErrorBody } } },
  },
});

export function registerEventRoutes(app: App, ctx: ServerContext): void {
  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const lastEventId = c.req.header("Last-Event-ID");
    let state = lastEventId ? decodeEventId(lastEventId) : INITIAL_STATE;
    const first = await readRunProgress(ctx.db, id);
    if (!first) throw notFound(`No execution "${id}".`);
    return streamSSE(c, async (stream) => {
      // Each change (or heartbeat) wakes the loop, which reads the run as stored and sends the difference.
      let changed = false;
      let wake = () => {};
      const signal = () => {
        changed = true;
        wake();
      };
      const unsubscribe = ctx.hub.subscribe(id, signal);
      const closing = () => wake();
      ctx.shutdown.addEventListener("abort", closing);
      stream.onAbort(closing);
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
          if (!changed) {
            const timedOut = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(true), ctx.heartbeatMs);
              wake = () => {
                clearTimeout(timer);
                resolve(false);
              };
            });
            wake = () => {};
            if (stream.aborted || ctx.shutdown.aborted) break;
            if (timedOut) await stream.writeSSE({ event: "heartbeat", data: "{}" });
          }
          changed = false;
          const read = await readRunProgress(ctx.db, id);
          if (!read) break;
          progress = read;
        }
      } finally {
        unsubscribe();
        ctx.shutdown.removeEventListener("abort", closing);
      }
    });
  });
}
