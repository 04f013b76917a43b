import { createRoute, z } from "@hono/zod-openapi";
import { EXECUTION_STATUSES, listExecutionsPage, readExecutionOverview } from "@reev/db";
import { EXPORT_FORMATS, exportExecution } from "@reev/orchestrator";
import type { TypedResponse } from "hono";
import type { App, ServerContext } from "../../server-context.js";
import { executionNotFound, ZApiErrorBody } from "../api-error.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { idParam, queryOf, ZExecutionIdParams, ZNoQuery } from "../params.js";
import { ZExecution, ZExecutionList, ZPageQuery, ZStepList } from "../schemas.js";
import { executionJson, executionSummaryJson, stepJson } from "../views.js";

const errors = {
  400: { description: "Bad input; `field` names it.", content: { "application/json": { schema: ZApiErrorBody } } },
  404: { description: "No such execution.", content: { "application/json": { schema: ZApiErrorBody } } },
} as const;

const ZDateTimeQuery = (description: string) =>
  z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 date-time with a time zone, e.g. 2026-12-03T06:50:00Z" })
    .optional()
    .openapi({ description });

const ZListQuery = queryOf({
  status: z.enum(EXECUTION_STATUSES).optional(),
  flowId: idParam("flowId", "Only this flow's runs.")
    .optional()
    .openapi({ param: { name: "flowId", in: "query" } }),
  agent: z.string().min(1).max(255).optional().openapi({ description: "Only runs by this agent." }),
  from: ZDateTimeQuery("Runs started at or after this time."),
  to: ZDateTimeQuery("Runs started before this time."),
  q: z
    .string()
    .max(500, "must be at most 500 characters")
    .optional()
    .openapi({ description: "Matches the execution id, the flow id or the prompt (case-insensitive substring)." }),
  ...ZPageQuery.shape,
});

const listExecutionsRoute = createRoute({
  method: "get",
  path: "/api/v1/executions",
  summary: "Executions, newest first, one page at a time (keyset pagination).",
  request: { query: ZListQuery },
  responses: {
    200: { description: "A page of executions.", content: { "application/json": { schema: ZExecutionList } } },
    400: errors[400],
  },
});

const getExecutionRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}",
  summary: "One execution: truthful status, step counts, consolidation status, newest consolidated session.",
  request: { params: ZExecutionIdParams, query: ZNoQuery },
  responses: { 200: { description: "The execution.", content: { "application/json": { schema: ZExecution } } }, ...errors },
});

const stepsRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}/steps",
  summary: "The execution's committed steps in index order, with their tool calls.",
  request: {
    params: ZExecutionIdParams,
    query: queryOf({ include: z.enum(["content"]).optional().openapi({ description: "`content` adds each step's stored content." }) }),
  },
  responses: { 200: { description: "The steps.", content: { "application/json": { schema: ZStepList } } }, ...errors },
});

const ZExportDocument = z
  .object({ execution: z.record(z.string(), z.unknown()), steps: z.array(z.unknown()), consolidated: z.array(z.unknown()) })
  .openapi({
    description: "What reev import reads: the execution, its committed steps in order and its consolidated sessions, newest first.",
  });

const exportRoute = createRoute({
  method: "get",
  path: "/api/v1/executions/{id}/export",
  summary: "Everything stored about the execution: the same bytes as `reev export`.",
  request: { params: ZExecutionIdParams, query: queryOf({ format: z.enum(EXPORT_FORMATS).default("json") }) },
  responses: {
    200: {
      description:
        "format=json: application/json, one document { execution, steps, consolidated }; format=jsonl: application/x-ndjson, one record a line, each with its `type`.",
      content: {
        "application/json": {
          schema: ZExportDocument,
        },
        "application/x-ndjson": { schema: z.string().openapi({ description: "The same records, one JSON object a line." }) },
      },
    },
    ...errors,
  },
});

export function registerExecutionRoutes(app: App, ctx: ServerContext): void {
  app.openapi(listExecutionsRoute, async (c) => {
    const { cursor, ...query } = c.req.valid("query");
    const page = await listExecutionsPage(ctx.db, { ...query, ...(cursor === undefined ? {} : { after: decodeCursor(cursor) }) });
    return c.json(
      {
        data: page.executions.map((e) => executionSummaryJson(e, ctx.liveness)),
        meta: { limit: query.limit, nextCursor: page.next ? encodeCursor(page.next) : null },
      },
      200,
    );
  });

  app.openapi(getExecutionRoute, async (c) => {
    const { id } = c.req.valid("param");
    const overview = await readExecutionOverview(ctx.db, id);
    if (!overview) throw await executionNotFound(ctx.db, id);
    return c.json(executionJson(overview, ctx.liveness), 200);
  });

  app.openapi(stepsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { include } = c.req.valid("query");
    if (!(await ctx.db.writer.getExecutionSession(id))) throw await executionNotFound(ctx.db, id);
    const steps = await ctx.db.writer.getSessionsForConsolidation(id);
    const checks = await ctx.db.writer.getChecks(id);
    return c.json({ data: steps.map((s) => stepJson(s, include === "content", checks.steps.get(s.stepIndex) ?? null)) }, 200);
  });

  app.openapi(exportRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { format } = c.req.valid("query");
    const text = await exportExecution(ctx.db, id, format);
    if (text === null) throw await executionNotFound(ctx.db, id);
    const type = format === "json" ? "application/json; charset=utf-8" : "application/x-ndjson; charset=utf-8";
    // Raw bytes, not c.json: the export is already JSON text, the very bytes `reev export` writes. The
    // route's typed answer models only c.json for its application/json content, hence the cast.
    const raw = c.body(text, 200, {
      "Content-Type": type,
      "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(id)}.${format}`,
    });
    return raw as unknown as TypedResponse<string, 200, "json">;
  });
}
