import { createRoute, z } from "@hono/zod-openapi";
import { readConsolidatedSession } from "@reev/db";
import {
  type Agent,
  consolidateAgain,
  droppedCostWarning,
  type FlowPlan,
  missingOpenAIEnvironment,
  OpenAIChatAgent,
  OrchestratorError,
  parseFlowPlan,
  ScriptedAgent,
  unscriptedProblem,
} from "@reev/orchestrator";
import type { App, ServerContext } from "../../server-context.js";
import { ApiError, badRequest, executionNotFound, ZApiErrorBody } from "../api-error.js";
import { queryOf, strictFields, ZExecutionIdParams, ZNoQuery } from "../params.js";
import { ZAccepted, ZConsolidatedSession } from "../schemas.js";
import { consolidatedJson } from "../views.js";

const AGENTS = ["scripted", "openai"] as const;
type AgentName = (typeof AGENTS)[number];
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];
/** What the flow is called in the messages about it. */
const SOURCE = "the request body";

const error = (description: string) => ({ description, content: { "application/json": { schema: ZApiErrorBody } } });
const writeErrors = {
  400: error("Bad input; `field` names it. Nothing was written."),
  401: error("No valid bearer token (or write routes are disabled: the server has no REEV_API_TOKEN)."),
  413: error("The body is larger than the server accepts."),
} as const;

const ZStartBody = strictFields(
  {
    flow: z.unknown().openapi({ description: "A flow plan, as in a flow file (reev schema prints its JSON Schema)." }),
    agent: z.enum(AGENTS).default("scripted"),
  },
  (names) => `the body takes ${names.join(", ")}`,
);

const startRoute = createRoute({
  method: "post",
  path: "/api/v1/executions",
  summary: "Start a run of a flow in the server process.",
  description: "A JSON body { flow, agent }, or a YAML flow file (application/yaml) with ?agent=. Answers once the execution is recorded.",
  security: [{ bearer: [] }],
  request: {
    query: queryOf({
      agent: z.enum(AGENTS).optional().openapi({
        description: "With a YAML body only: the agent (default scripted). A JSON body names its agent inside; with it, ?agent= is a 400.",
      }),
    }),
    body: {
      // Not `required`: zod-openapi would then check every body as JSON, a YAML one included. A request
      // without a body is refused by the handler (415).
      required: false,
      content: {
        "application/json": {
          schema: ZStartBody,
        },
        ...Object.fromEntries(YAML_TYPES.map((type) => [type, { schema: z.string().openapi({ description: "A flow file." }) }])),
      },
    },
  },
  responses: {
    202: { description: "Started; Location is the execution.", content: { "application/json": { schema: ZAccepted } } },
    ...writeErrors,
    409: error("The agent asked for is not configured on this server (agent openai without OPENAI_BASE_URL and OPENAI_MODEL)."),
    415: error("A body that is neither JSON nor YAML."),
  },
});

/** The consolidate route's answer: the new session, and a warning when it dropped the run's cost. */
const ZConsolidated = ZConsolidatedSession.extend({
  warning: z.string().optional().openapi({
    description:
      "Present when this consolidation dropped a cost the previous one had: the server has no price table (reev serve --prices), so the newest consolidation's cost_usd is null. Says which session still holds the cost and how to keep it.",
  }),
}).openapi("ConsolidatedSessionCreated");

const consolidateRoute = createRoute({
  method: "post",
  path: "/api/v1/executions/{id}/consolidate",
  summary: "Consolidate the execution's committed steps again into a new consolidated session.",
  security: [{ bearer: [] }],
  request: { params: ZExecutionIdParams, query: ZNoQuery },
  responses: {
    201: {
      description: "The new consolidated session; `warning` when it dropped the run's cost.",
      content: { "application/json": { schema: ZConsolidated } },
    },
    ...writeErrors,
    404: error("No such execution."),
    409: error("Nothing to consolidate (no committed steps) or the consolidation failed."),
  },
});

/**
 * The flow a request carries, checked before anything is written; errors name the field
 * (`flow.steps[0].stepId`). With the scripted agent, every step needs a script, as reev run checks:
 * one without would be recorded a `success` that replayed nothing.
 */
function flowOf(text: string, field: string, agent: AgentName): FlowPlan {
  let plan: FlowPlan;
  try {
    plan = parseFlowPlan(text, SOURCE);
  } catch (thrown) {
    if (OrchestratorError.is(thrown, "INVALID_FLOW")) throw badRequest(thrown.message, thrown.path ? `${field}.${thrown.path}` : field);
    throw thrown;
  }
  const problem = agent === "scripted" ? unscriptedProblem(plan, { source: SOURCE, agent: "the scripted agent" }) : undefined;
  if (problem) throw badRequest(problem.message, `${field}.${problem.path}`);
  return plan;
}

/** Also the answer zod-openapi's validator gives (as an HTTPException) to a content type the route does not declare. */
export const unsupportedMediaType = () =>
  new ApiError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "Send the flow as application/json ({ flow, agent }) or as a YAML file (application/yaml).",
    "Content-Type",
  );

/**
 * The openai agent reads its endpoint from the server's environment, which no request can set: without
 * it the request is sound but this server cannot serve it. 409, not 400 (resending the same body to a
 * configured server works) nor 503 (no retry helps until the server is restarted with the variables).
 */
function agentOf(name: AgentName): Agent {
  if (name === "scripted") return new ScriptedAgent();
  const missing = missingOpenAIEnvironment();
  if (missing.length) {
    throw new ApiError(
      409,
      "AGENT_NOT_CONFIGURED",
      `This server has no OpenAI endpoint configured (${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set): start reev serve with OPENAI_BASE_URL and OPENAI_MODEL set, or use agent scripted.`,
      "agent",
    );
  }
  return new OpenAIChatAgent({});
}

export function registerWriteRoutes(app: App, ctx: ServerContext): void {
  app.openapi(startRoute, async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    let plan: FlowPlan;
    let agent: AgentName;
    if (type === "application/json") {
      // The JSON validator ran (a YAML body is text, validated by parseFlowPlan below), so this is the JSON shape.
      const body = c.req.valid("json") as z.infer<typeof ZStartBody>;
      if (body.flow === undefined || body.flow === null || typeof body.flow !== "object")
        throw badRequest('The body has no flow object: send { "flow": {…}, "agent": "scripted" }.', "flow");
      // Two places to say the agent, which may disagree: ignoring one would run an agent nobody asked for.
      if (c.req.valid("query").agent !== undefined)
        throw badRequest(
          '?agent= goes with a YAML flow file; a JSON body names its agent inside: { "flow": {…}, "agent": "openai" }.',
          "agent",
        );
      agent = body.agent;
      plan = flowOf(JSON.stringify(body.flow), "flow", agent);
    } else if (YAML_TYPES.includes(type)) {
      agent = c.req.valid("query").agent ?? "scripted";
      plan = flowOf(await c.req.text(), "body", agent);
    } else {
      throw unsupportedMediaType();
    }
    const executionId = await ctx.runs.start(plan, agentOf(agent));
    const location = `/api/v1/executions/${encodeURIComponent(executionId)}`;
    c.header("Location", location);
    return c.json({ execution_id: executionId, status: "running" as const, location }, 202);
  });

  app.openapi(consolidateRoute, async (c) => {
    const { id } = c.req.valid("param");
    try {
      const done = await consolidateAgain(ctx.db, id, { prices: ctx.prices });
      ctx.hub.changed(id);
      const stored = await readConsolidatedSession(ctx.db, done.consolidatedSessionId);
      if (!stored) throw new Error(`consolidated session ${done.consolidatedSessionId} was stored but cannot be read back`);
      const warning = done.droppedCost
        ? droppedCostWarning(done.droppedCost, "To keep it, restart reev serve with --prices FILE and consolidate again.")
        : undefined;
      return c.json({ ...consolidatedJson(stored), ...(warning ? { warning } : {}) }, 201);
    } catch (thrown) {
      ctx.hub.changed(id);
      if (OrchestratorError.is(thrown, "NOT_FOUND")) throw await executionNotFound(ctx.db, id);
      // INVALID_ARGUMENT naming executionId: a rolled-back run, with nothing to consolidate (the
      // request was well formed, the run's state refuses it). Any other bad input stays a 400.
      if (
        OrchestratorError.is(thrown, "CONSOLIDATION_FAILED") ||
        OrchestratorError.is(thrown, "CONSOLIDATION_TIMEOUT") ||
        (OrchestratorError.is(thrown, "INVALID_ARGUMENT") && thrown.path === "executionId")
      ) {
        throw new ApiError(409, thrown.code, thrown.message);
      }
      throw thrown;
    }
  });
}
