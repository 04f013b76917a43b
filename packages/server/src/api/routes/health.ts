import { createRoute } from "@hono/zod-openapi";
import { pingDatabase } from "@reev/db";
import type { App, ServerContext } from "../../server-context.js";
import { ZApiErrorBody } from "../api-error.js";
import { ZNoQuery } from "../params.js";
import { ZHealth } from "../schemas.js";

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "The process is up.",
  request: { query: ZNoQuery },
  responses: { 200: { description: "Up.", content: { "application/json": { schema: ZHealth } } } },
});

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  summary: "The database answers.",
  request: { query: ZNoQuery },
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: ZHealth } } },
    503: { description: "The database does not answer.", content: { "application/json": { schema: ZApiErrorBody } } },
  },
});

export function registerHealthRoutes(app: App, ctx: ServerContext): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyRoute, async (c) => {
    await pingDatabase(ctx.db);
    return c.json({ status: "ok" as const }, 200);
  });
}
