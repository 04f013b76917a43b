import type { Context, MiddlewareHandler } from "hono";
import { METHOD_NAME_ALL } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import type { App, AppEnv } from "../server-context.js";
import { ApiError } from "./api-error.js";

/** The API's routes, path pattern to the methods that path takes. */
type MethodTable = TrieRouter<string>;

type Answer = (c: Context<AppEnv>) => Response | Promise<Response>;

/**
 * The app's answer for a path it has with a method it does not take (405 with `Allow`), and for an API
 * path it does not have (404), given before the write routes' token check. Without it, DELETE on a read
 * route answered 401 WRITES_DISABLED without a token and 404 "No route" with one, and DELETE on a
 * viewer page "No page at …": a client learned nothing true either way. The API answers in JSON; a
 * page (any other path) with `page`, the viewer's error page.
 *
 * The table is read from the app's own routes once they are all registered (at the first request):
 * a route added later needs no list kept by hand. Middleware (`app.use`, `app.on(..., "/api/*")`) is
 * left out: it is registered for every method or on a wildcard path, which no route is.
 */
export function methodNotAllowed(
  app: App,
  answers: { notFound: Answer; page: (c: Context<AppEnv>, error: ApiError) => Response | Promise<Response> },
): MiddlewareHandler<AppEnv> {
  let table: MethodTable | undefined;
  let documented: Set<string> | undefined;
  return async (c, next) => {
    table ??= methodTable(app);
    documented ??= documentedPaths(app);
    const path = c.req.path;
    // Hono answers HEAD with the GET route, without the body.
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    const allowed = allowedMethods(table, path);
    // A path no route has: the API's 404 here, before the token check; a page's from the app's notFound.
    if (allowed.length === 0) return path.startsWith("/api/") ? answers.notFound(c) : next();
    if (allowed.includes(method)) return next();
    const allow = (allowed.includes("GET") ? [...allowed, "HEAD"] : allowed).sort();
    const error = new ApiError(405, "METHOD_NOT_ALLOWED", `${path} does not take ${c.req.method}; it takes ${allow.join(", ")}.`);
    c.header("Allow", allow.join(", "));
    // A path of the API: under /api/, or one the OpenAPI document lists (/healthz). Pages are the viewer's.
    return path.startsWith("/api/") || documented.has(path) ? c.json(error.body(), 405) : answers.page(c, error);
  };
}

/** The paths the OpenAPI document lists that have no parameters (the others are all under /api/). */
function documentedPaths(app: App): Set<string> {
  const paths = new Set<string>();
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type === "route" && !definition.route.path.includes("{")) paths.add(definition.route.path);
  }
  return paths;
}

function methodTable(app: App): MethodTable {
  const router = new TrieRouter<string>();
  const seen = new Set<string>();
  for (const route of app.routes) {
    if (route.method === METHOD_NAME_ALL || route.path.includes("*")) continue;
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue; // a route's validators are entries of their own
    seen.add(key);
    // Registered for every method, so one match returns each method the path takes.
    router.add(METHOD_NAME_ALL, route.path, route.method);
  }
  return router;
}

function allowedMethods(table: MethodTable, path: string): string[] {
  const [matches] = table.match("GET", path);
  return [...new Set(matches.map((match) => match[0]))];
}
