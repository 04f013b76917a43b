import { createRoute, z } from "@hono/zod-openapi";
import { readConsolidatedSession, readExecutionOverview, shownConsolidation } from "@reev/db";
import { documentCostGaps } from "@reev/orchestrator";
import type { App, ServerContext } from "../../server-context.js";
import { executionNotFound, notFound, ZApiErrorBody } from "../api-error.js";
import { booleanQuery, idParam, queryOf, ZExecutionIdParams, ZNoQuery } from "../params.js";
import { ZConsolidatedSession, ZConsolidationStatusResponse } from "../schemas.js";
import { consolidatedJson, toApiConsolidationStatus, usageMetricsJson } from "../views.js";

const errors = {
  400: { description: "Bad input; `field` names it.", content: { "application/json": { schema: ZApiErrorBody } } },
  404: { description: "Not found.", content: { "application/json": { schema: ZApiErrorBody } } },
} as const;

const byExecutionRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}/consolidated",
  summary: "The execution's newest consolidated session.",
  request: { params: ZExecutionIdParams, query: ZNoQuery },
  responses: {
    200: { description: "The consolidated session.", content: { "application/json": { schema: ZConsolidatedSession } } },
    ...errors,
  },
});

const byIdRoute = createRoute({
  method: "get",
  path: "/api/v1/sessions/consolidated/{consolidatedId}",
  summary: "A consolidated session by its id.",
  request: { params: z.object({ consolidatedId: idParam("consolidatedId", "The consolidated session id.") }), query: ZNoQuery },
  responses: {
    200: { description: "The consolidated session.", content: { "application/json": { schema: ZConsolidatedSession } } },
    ...errors,
  },
});

const statusRoute = createRoute({
  method: "get",
  path: "/api/v1/consolidation/{executionId}/status",
  summary: "Where the execution's consolidation stands (reev's shape).",
  request: {
    params: z.object({ executionId: idParam("executionId", "The execution id.") }),
    query: queryOf({ include_metadata: booleanQuery("Add the newest consolidated session's metrics.") }),
  },
  responses: { 200: { description: "The status.", content: { "application/json": { schema: ZConsolidationStatusResponse } } }, ...errors },
});

const MESSAGES = {
  pending: () => "Consolidation has not started.",
  in_progress: () => "Consolidation is running.",
  completed: () => "Consolidation completed.",
  failed: (error: string | null) => `Consolidation failed: ${error ?? "no reason was recorded"}.`,
  timeout: (error: string | null) => `Consolidation timed out: ${error ?? "no reason was recorded"}.`,
  skipped: (error: string | null) => `Not consolidated: ${error ?? "no reason was recorded"}.`,
} as const;

export function registerConsolidatedRoutes(app: App, ctx: ServerContext): void {
  app.openapi(byExecutionRoute, async (c) => {
    const { id } = c.req.valid("param");
    const overview = await readExecutionOverview(ctx.db, id);
    if (!overview) throw await executionNotFound(ctx.db, id);
    const latest =
      overview.latestConsolidation && (await readConsolidatedSession(ctx.db, overview.latestConsolidation.consolidatedSessionId));
    if (!latest) throw notFound(`Execution "${id}" has no consolidated session yet.`);
    return c.json(consolidatedJson(latest), 200);
  });

  app.openapi(byIdRoute, async (c) => {
    const { consolidatedId } = c.req.valid("param");
    const session = await readConsolidatedSession(ctx.db, consolidatedId);
    if (!session) throw notFound(`No consolidated session "${consolidatedId}".`);
    return c.json(consolidatedJson(session), 200);
  });

  app.openapi(statusRoute, async (c) => {
    const { executionId } = c.req.valid("param");
    const { include_metadata } = c.req.valid("query");
    const overview = await readExecutionOverview(ctx.db, executionId);
    if (!overview) throw await executionNotFound(ctx.db, executionId);
    const { consolidation } = overview.execution;
    const shown = shownConsolidation(overview.execution.status, consolidation);
    const status = toApiConsolidationStatus(shown.status);
    const latestId = overview.latestConsolidation?.consolidatedSessionId ?? null;
    const latest = include_metadata && latestId ? await readConsolidatedSession(ctx.db, latestId) : null;
    return c.json(
      {
        execution_id: executionId,
        complete: status === "completed",
        consolidated_session_id: latestId,
        status,
        message: MESSAGES[status](shown.error),
        updated_at: consolidation.updatedAt?.toISOString() ?? null,
        metadata: latest
          ? {
              avg_score: latest.avgScore,
              total_tools: latest.totalTools,
              success_rate: latest.successRate,
              execution_duration_ms: latest.executionDurationMs,
              // Its document says why a null cost is null (read as reev status reads it).
              ...usageMetricsJson(latest, documentCostGaps(latest.consolidatedContent)),
            }
          : null,
      },
      200,
    );
  });
}
