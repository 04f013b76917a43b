// The evaluations `reev eval` records, and comparisons of two of them (or of two executions), as the
// CLI shows them: the report is the stored summary, the comparison is compareStored's, so the API,
// the viewer and `reev compare` never disagree.
import { createRoute, z } from "@hono/zod-openapi";
import { EVALUATION_STATUSES, type EvaluationRunRecord } from "@reev/db";
import { compareStored, storedComparisonJson, storedSummary } from "@reev/orchestrator";
import type { App, ServerContext } from "../../server-context.js";
import { evaluationNotFound, ZApiErrorBody } from "../api-error.js";
import { decodeEvaluationCursor, encodeEvaluationCursor } from "../cursor.js";
import { idParam, queryOf, ZNoQuery } from "../params.js";
import { ZPageMeta, ZPageQuery, ZTime } from "../schemas.js";

const errors = {
  400: { description: "Bad input; `field` names it.", content: { "application/json": { schema: ZApiErrorBody } } },
  404: { description: "No such evaluation (or execution).", content: { "application/json": { schema: ZApiErrorBody } } },
} as const;

const ZEvaluationSummary = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    agent: z.string(),
    model: z.string().nullable(),
    status: z.enum(EVALUATION_STATUSES),
    started_at: ZTime,
    finished_at: ZTime.nullable(),
    runs: z.int().nullable().openapi({ description: "Runs counted; null while the evaluation is running." }),
    passes: z.int().nullable().openapi({ description: "Runs that passed; null while the evaluation is running." }),
    flows: z.int().nullable().openapi({ description: "Flows evaluated; null while the evaluation is running." }),
  })
  .openapi("EvaluationSummary");

const ZEvaluation = ZEvaluationSummary.extend({
  configuration: z.unknown().openapi({
    description:
      "What reev eval was asked: `files`, `repeat` (the k of pass@k), `concurrency`, `agent`, `model`, `minPassRate`, `baseline`, " +
      "`prices`, and `flows`: per flow its `flowId`, `flow` (true when the flow has an `expect` of its own, whose verdict a run " +
      "must carry to pass) and `steps` (the ids of its steps that have an `expect`).",
  }),
  report: z.unknown().nullable().openapi({
    description:
      "The report, as `reev eval --format json` prints it under `report`: per flow the pass rate with its 95% Wilson interval, pass@k, pass^k, scores, durations, tokens, cost and steps, and `checkFailures`: which `expect` checks failed in how many runs, and why. Null while running.",
  }),
}).openapi("Evaluation");

const ZEvaluationList = z
  .object({
    data: z.array(ZEvaluationSummary),
    meta: ZPageMeta,
  })
  .openapi("EvaluationList");

const ZComparedSide = z
  .object({
    id: z.string(),
    name: z
      .string()
      .nullable()
      .openapi({ description: "The evaluation's name (reev eval --name); null without one, and for an execution." }),
  })
  .openapi("ComparedSide");

const ZComparison = z
  .object({
    a: z.string().openapi({ description: "A's id, as given." }),
    b: z.string().openapi({ description: "B's id, as given." }),
    sides: z
      .object({ a: ZComparedSide, b: ZComparedSide })
      .openapi({ description: "A and B with their names, as the viewer's compare page heads them." }),
    kind: z.enum(["evaluation", "execution"]),
    comparison: z.unknown().openapi({
      description:
        "As `reev compare --format json` prints it: flows and steps aligned by id, deltas B − A, and the verdict of Fisher's exact test on the pass counts.",
    }),
  })
  .openapi("Comparison");

function evaluationSummaryJson(e: EvaluationRunRecord): z.infer<typeof ZEvaluationSummary> {
  const report = storedSummary(e);
  return {
    id: e.id,
    name: e.name,
    agent: e.agent,
    model: e.model,
    status: e.status,
    started_at: e.startedAt.toISOString(),
    finished_at: e.finishedAt?.toISOString() ?? null,
    runs: report?.runs ?? null,
    passes: report?.passes ?? null,
    flows: report?.flows.length ?? null,
  };
}

const listRoute = createRoute({
  method: "get",
  path: "/api/v1/evaluations",
  summary: "Evaluations, newest first, one page at a time (keyset pagination, like executions).",
  request: { query: ZPageQuery },
  responses: {
    200: { description: "A page of evaluations.", content: { "application/json": { schema: ZEvaluationList } } },
    400: errors[400],
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/api/v1/evaluations/{id}",
  summary: "One evaluation: what it was asked, and its report once finished.",
  request: { params: z.object({ id: idParam("id", "The evaluation id (eval_…).") }), query: ZNoQuery },
  responses: { 200: { description: "The evaluation.", content: { "application/json": { schema: ZEvaluation } } }, ...errors },
});

const compareQueryId = (name: "a" | "b", description: string) =>
  idParam(name, description).openapi({ param: { name, in: "query", required: true } });

const compareRoute = createRoute({
  method: "get",
  path: "/api/v1/compare",
  summary: "A (the baseline) against B: two evaluations, or two executions, as `reev compare` shows them.",
  request: {
    query: queryOf({
      a: compareQueryId("a", "The baseline: an evaluation id or an execution id."),
      b: compareQueryId("b", "The candidate: the same kind of id as a."),
    }),
  },
  responses: {
    200: { description: "The comparison.", content: { "application/json": { schema: ZComparison } } },
    ...errors,
  },
});

export function registerEvaluationRoutes(app: App, ctx: ServerContext): void {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = await ctx.db.writer.listEvaluationRuns({ limit, cursor: cursor === undefined ? null : decodeEvaluationCursor(cursor) });
    return c.json(
      {
        data: page.items.map(evaluationSummaryJson),
        meta: { limit, nextCursor: page.nextCursor ? encodeEvaluationCursor(page.nextCursor) : null },
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const evaluation = await ctx.db.writer.getEvaluationRun(id);
    if (!evaluation) throw await evaluationNotFound(ctx.db, id);
    return c.json(
      { ...evaluationSummaryJson(evaluation), configuration: evaluation.configuration, report: storedSummary(evaluation) },
      200,
    );
  });

  app.openapi(compareRoute, async (c) => {
    const { a, b } = c.req.valid("query");
    return c.json(storedComparisonJson(await compareStored(ctx.db, a, b, null, ctx.liveness)), 200);
  });
}
