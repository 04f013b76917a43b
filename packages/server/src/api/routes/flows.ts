import { createRoute, z } from "@hono/zod-openapi";
import { shownConsolidation } from "@reev/db";
import { renderHtmlPage } from "@reev/orchestrator";
import { etag } from "hono/etag";
import { loadRunDocument, type RunDocument, runDiagram } from "../../run-document.js";
import type { App, ServerContext } from "../../server-context.js";
import { notFound, ZApiErrorBody } from "../api-error.js";
import { idParam, queryOf } from "../params.js";
import { ZFlowResponse } from "../schemas.js";
import { toApiConsolidationStatus, toolCallJson, usageMetricsJson } from "../views.js";

const FLOW_FORMATS = ["json", "html", "mmd"] as const;

const flowRoute = createRoute({
  method: "get",
  path: "/api/v1/flows/{id}",
  summary: "The run's flow: its Mermaid diagram, metrics and tool calls; or the diagram alone (mmd), or the HTML report.",
  description:
    "By execution id (its newest consolidated session) or consolidated session id. Carries an ETag (If-None-Match → 304); " +
    "Cache-Control allows caching only once the run is finished and consolidated.",
  request: {
    params: z.object({ id: idParam("id", "An execution id or a consolidated session id.") }),
    query: queryOf({ format: z.enum(FLOW_FORMATS).default("json") }),
    headers: z.object({
      "if-none-match": z
        .string()
        .optional()
        .openapi({ description: "An ETag this route gave out (or several, or *): 304 when it still matches." }),
    }),
  },
  responses: {
    200: {
      description: "The flow.",
      content: {
        "application/json": { schema: ZFlowResponse },
        "text/html": { schema: z.string() },
        "text/vnd.mermaid": { schema: z.string() },
      },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)." },
    400: { description: "Bad input.", content: { "application/json": { schema: ZApiErrorBody } } },
    404: { description: "No such execution or consolidated session.", content: { "application/json": { schema: ZApiErrorBody } } },
  },
});

function flowJson(run: RunDocument): z.infer<typeof ZFlowResponse> {
  const { overview, content, consolidated } = run;
  const m = content.metadata;
  return {
    execution_id: overview.execution.executionId,
    consolidated_session_id: consolidated?.consolidatedSessionId ?? null,
    diagram: runDiagram(run, { checks: false }),
    metadata: {
      status: overview.execution.status,
      consolidation_status: toApiConsolidationStatus(
        shownConsolidation(overview.execution.status, overview.execution.consolidation).status,
      ),
      flow_id: content.flow_id,
      prompt: content.prompt,
      total_steps: m.total_steps,
      successful_steps: m.successful_steps,
      failed_steps: m.failed_steps,
      skipped_steps: m.skipped_steps,
      success_rate: m.success_rate,
      avg_score: m.avg_score,
      total_tools: m.total_tools,
      execution_duration_ms: m.execution_duration_ms,
      // Absent from documents consolidated before they were counted: unknown.
      ...usageMetricsJson(
        { totalInputTokens: m.total_input_tokens ?? null, totalOutputTokens: m.total_output_tokens ?? null, costUsd: m.cost_usd ?? null },
        m.cost_unknown ?? [],
      ),
    },
    tool_calls: content.steps.flatMap((step) =>
      step.tool_calls.map((t, callIndex) => ({
        ...toolCallJson({
          callIndex,
          attempt: t.attempt ?? null,
          toolName: t.tool_name,
          input: t.input,
          output: t.output,
          success: t.success,
          durationMs: t.duration_ms,
          error: t.error,
        }),
        step_index: step.step_index,
      })),
    ),
  };
}

/**
 * A finished, consolidated run's flow only changes when it is consolidated again, and then its ETag
 * changes too: caches may keep it a while. Anything still moving is revalidated on every use.
 */
const cacheControl = ({ overview, consolidated }: RunDocument) =>
  overview.execution.status !== "running" && overview.execution.consolidation.status === "completed" && consolidated
    ? "public, max-age=300"
    : "no-cache";

export function registerFlowRoutes(app: App, ctx: ServerContext): void {
  // hono's etag hashes the body and answers a matching If-None-Match with 304.
  app.use("/api/v1/flows/*", etag());
  app.openapi(flowRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { format } = c.req.valid("query");
    const run = await loadRunDocument(ctx.db, id, ctx.liveness);
    if (!run) throw notFound(`No execution or consolidated session "${id}".`);
    c.header("Cache-Control", cacheControl(run));
    if (format === "mmd")
      return c.body(`${runDiagram(run)}\n`, 200, {
        "Content-Type": "text/vnd.mermaid; charset=utf-8",
      });
    if (format === "html")
      return c.html(
        renderHtmlPage(run.content, {
          execution: run.overview.execution,
          checks: run.checks,
          stored: run.consolidated !== null,
          abandoned: run.abandoned,
        }),
        200,
      );
    return c.json(flowJson(run), 200);
  });
}
