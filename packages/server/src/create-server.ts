import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import { type Database, livenessOptions, reachableHost } from "@reev/db";
import type { PriceTable } from "@reev/orchestrator";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { ApiError, badRequest, toApiError } from "./api/api-error.js";
import { isMissing, issueSentence, issueWords } from "./api/issue-words.js";
import { methodNotAllowed } from "./api/method-not-allowed.js";
import { registerConsolidatedRoutes } from "./api/routes/consolidated.js";
import { registerEvaluationRoutes } from "./api/routes/evaluations.js";
import { registerEventRoutes } from "./api/routes/events.js";
import { registerExecutionRoutes } from "./api/routes/executions.js";
import { registerFlowRoutes } from "./api/routes/flows.js";
import { registerHealthRoutes } from "./api/routes/health.js";
import { registerWriteRoutes, unsupportedMediaType } from "./api/routes/writes.js";
import { ChangeHub } from "./live/change-hub.js";
import { PostgresListener } from "./live/postgres-listener.js";
import { type RetentionOptions, RetentionSchedule } from "./retention.js";
import type { AppEnv, ServerContext } from "./server-context.js";
import { ServerRuns } from "./server-runs.js";
import { knownErrorAnswer, notFoundAnswer, pageErrorAnswer, registerViewerRoutes, unexpectedErrorAnswer } from "./viewer/viewer-routes.js";

export type ServerOptions = {
  db: Database;
  /** The bearer token write routes (POST) require; without one they answer 401. */
  token?: string | undefined;
  /** An origin allowed to call the API from a browser (CORS); none when left out. */
  corsOrigin?: string | undefined;
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** How often an idle event stream sends a heartbeat (default 15 s). */
  heartbeatMs?: number;
  /** How long the notification connection waits before its first reconnect, in ms (default 250). */
  reconnectMs?: number;
  /** Where failures are logged (default stderr). */
  log?: (line: string) => void;
  /** Purge runs that finished longer ago than this, at start and periodically (`reev serve --retention`); logged. */
  retention?: RetentionOptions | undefined;
  /** Prices the tokens of the runs this server starts and re-consolidates (`reev serve --prices`); none: their cost is null. */
  prices?: PriceTable | null | undefined;
  /**
   * A running run whose heartbeat is older than this, in ms, is stale (on another host: abandoned),
   * in every list, page, JSON view and event stream (default 2 minutes, as `reev list`'s). A value
   * that is not a whole number from 1 to 2³¹−1 is a VALIDATION error naming `staleAfterMs`.
   */
  staleAfterMs?: number | undefined;
};

export type ListenOptions = { host?: string; port?: number };

export type ReevServer = {
  app: OpenAPIHono<AppEnv>;
  /**
   * Starts accepting connections; resolves once it does with a URL a browser on this machine can open
   * (loopback's, when it listens on every interface: http://0.0.0.0:… is no address to open), the
   * port, and the address it listens on.
   */
  listen(options?: ListenOptions): Promise<{ url: string; port: number; address: string }>;
  /** How many runs this server started are still going: what a graceful stop waits for. */
  readonly activeRuns: number;
  /**
   * Graceful stop: no new connections, event streams ended, runs this server started finish their
   * current step and are recorded failed ("server shutting down"). The database stays open: it is
   * the caller's, to close after this resolves.
   */
  close(): Promise<void>;
};

/** Requests whose URL is longer than this get 414, before any route reads it. */
const MAX_URL_LENGTH = 8 * 1024;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** What the API's messages call an input of each zod-openapi target. */
const INPUT_NAMES: Partial<Record<string, string>> = { query: "query parameter", param: "path parameter", json: "body field" };

/**
 * A zod-openapi validation failure of `input` as the API's 400. A name the input does not take comes
 * first, since its guess ("Did you mean flow?") usually explains the field missing beside it; a field
 * left out is said to be required, in place of zod's "expected nonoptional, received undefined".
 */
function validationError(issues: readonly z.core.$ZodIssue[], target: string, input: unknown): ApiError {
  const name = INPUT_NAMES[target] ?? `${target} parameter`;
  const fieldOf = (issue: z.core.$ZodIssue) => issue.path.map(String).join(".") || target;
  const missing = issues.filter((issue) => isMissing(issue, input)).map((issue) => `The ${name} ${fieldOf(issue)} is required.`);
  const stray = issues.find((issue) => issue.code === "unrecognized_keys");
  if (stray?.code === "unrecognized_keys") {
    const field = stray.keys[0] as string;
    // strictFields' words end their own sentence (with a guess, a question).
    return badRequest([`Unknown ${name} ${field}: ${stray.message}`, ...missing].join(" "), field);
  }
  const issue = issues[0];
  if (!issue) return badRequest(`Invalid ${name}.`, target);
  if (isMissing(issue, input)) return badRequest(missing.join(" "), fieldOf(issue));
  return badRequest(`Invalid ${name} ${fieldOf(issue)}: ${issueSentence(issueWords(issue, input))}`, fieldOf(issue));
}

export function createServer(options: ServerOptions): ReevServer {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const shutdown = new AbortController();
  // Every open event stream listens for the shutdown: more than ten viewers is normal, not a leak
  // (Node warned "MaxListenersExceededWarning" on the server's stderr).
  setMaxListeners(0, shutdown.signal);
  const hub = new ChangeHub();
  const ctx: ServerContext = {
    db: options.db,
    hub,
    runs: new ServerRuns(options.db, hub, log, options.prices ?? null),
    prices: options.prices ?? null,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    liveness: livenessOptions(options.staleAfterMs),
    shutdown: shutdown.signal,
  };
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      // @hono/zod-validator hands the hook the value it parsed as `data` on a failure too, though its type says so only for a success.
      if (!result.success) throw validationError(result.error.issues, result.target, "data" in result ? result.data : undefined);
    },
  });

  app.use(requestId());
  app.use(async (c, next) => {
    if (c.req.url.length > MAX_URL_LENGTH) throw new ApiError(414, "URI_TOO_LONG", `The URL is longer than ${MAX_URL_LENGTH} characters.`);
    await next();
  });
  // The methods the API takes (hono's default lists every method), and the headers a cross-origin
  // script needs to follow a POST (Location) and revalidate a flow (ETag).
  if (options.corsOrigin) {
    app.use("/api/*", cors({ origin: options.corsOrigin, allowMethods: ["GET", "HEAD", "POST"], exposeHeaders: ["Location", "ETag"] }));
  }
  // Before the token check: a method no route takes is 405 whether or not the request carries a token.
  app.use(methodNotAllowed(app, { notFound: notFoundAnswer, page: pageErrorAnswer }));
  // Only where a route reads a body: bodyLimit looks at the request's body, and on a GET that alone
  // made @hono/node-server build a full web Request per request (a tenth of the list route's CPU).
  app.on(
    WRITE_METHODS,
    "/api/*",
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(
          413,
          "PAYLOAD_TOO_LARGE",
          `The request body is larger than ${options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );

  // Writes: a bearer token compared in constant time (hono's bearerAuth hashes both sides), or none at all.
  const refused = (message: string) => ({ message: new ApiError(401, "UNAUTHORIZED", message).body() });
  app.on(
    WRITE_METHODS,
    "/api/*",
    options.token
      ? bearerAuth({
          token: options.token,
          realm: "reev",
          noAuthenticationHeader: refused("This route needs Authorization: Bearer <REEV_API_TOKEN>."),
          invalidAuthenticationHeader: refused("The Authorization header must be Bearer <REEV_API_TOKEN>."),
          invalidToken: refused("The bearer token is not this server's REEV_API_TOKEN."),
        })
      : () => {
          throw new ApiError(401, "WRITES_DISABLED", "Write routes are disabled: start reev serve with REEV_API_TOKEN set to enable them.");
        },
  );

  registerHealthRoutes(app, ctx);
  registerWriteRoutes(app, ctx);
  registerExecutionRoutes(app, ctx);
  registerConsolidatedRoutes(app, ctx);
  registerFlowRoutes(app, ctx);
  registerEvaluationRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerViewerRoutes(app, ctx);

  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "reev API",
      version: "1.0.0",
      description: "Recorded agent runs: executions, steps, consolidated sessions, flows, live events, evaluations and comparisons.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.get("/openapi.json", (c) => c.redirect("/api/v1/openapi.json", 308));

  app.notFound(notFoundAnswer);
  app.onError((error, c) => {
    // bearerAuth's refusal is a whole response: our JSON body, and the WWW-Authenticate header a
    // client needs to learn the scheme.
    if (error instanceof HTTPException && error.res) return error.getResponse();
    const known =
      toApiError(error) ??
      (error instanceof HTTPException && error.status === 415 ? unsupportedMediaType() : undefined) ??
      (error instanceof HTTPException && error.status === 400
        ? new ApiError(400, "INVALID_ARGUMENT", `${error.message || "The request is malformed"}.`, "body")
        : undefined) ??
      (error instanceof HTTPException && error.status < 500
        ? new ApiError(error.status as 400, "HTTP_ERROR", error.message || "The request was refused.")
        : undefined);
    if (known) return knownErrorAnswer(c, known);
    const id = c.get("requestId");
    log(
      `request ${id} ${c.req.method} ${new URL(c.req.url).pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return unexpectedErrorAnswer(c, id);
  });

  // On PostgreSQL, changes made by any process are announced (NOTIFY, from triggers): one LISTEN
  // connection turns them into hub signals. An embedded database has one process: its own runs signal.
  const target = options.db.target;
  const listener =
    target.kind === "postgres"
      ? new PostgresListener({ url: target.url, hub, log, ...(options.reconnectMs === undefined ? {} : { retryMs: options.reconnectMs }) })
      : undefined;

  const retention = options.retention ? new RetentionSchedule(options.db, options.retention, log) : undefined;

  let server: ReturnType<typeof serve> | undefined;
  let closing: Promise<void> | undefined;
  return {
    app,
    get activeRuns() {
      return ctx.runs.count;
    },
    listen: async ({ host = "127.0.0.1", port = 7878 } = {}) => {
      await listener?.start();
      return new Promise((resolve, reject) => {
        const started = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
          const reachable = reachableHost(info.address);
          const shown = reachable.includes(":") ? `[${reachable}]` : reachable;
          retention?.start();
          resolve({ url: `http://${shown}:${info.port}`, port: info.port, address: info.address });
        });
        started.once("error", reject);
        server = started;
      });
    },
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        shutdown.abort();
        if (server && "closeIdleConnections" in server) server.closeIdleConnections();
        await Promise.all([ctx.runs.shutdown(), retention?.stop()]);
        await listener?.stop();
        await stopped;
      })()),
  };
}
