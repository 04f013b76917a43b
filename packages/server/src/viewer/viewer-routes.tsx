import { readFileSync } from "node:fs";
import { z } from "@hono/zod-openapi";
import {
  type Database,
  type ExecutionSummary,
  evaluationIdsContaining,
  executionIdsContaining,
  listExecutionsPage,
  runMark,
  ZExecutionsPageInput,
} from "@reev/db";
import {
  CLIENT_BUNDLES,
  closestWord,
  compareStored,
  countedRuns,
  nearWords,
  REPORT_SCRIPT,
  type StoredComparison,
  storedSummary,
} from "@reev/orchestrator";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { ApiError, badRequest, toApiError } from "../api/api-error.js";
import { decodeCursor, decodeEvaluationCursor, encodeCursor, encodeEvaluationCursor } from "../api/cursor.js";
import { issueSentence, issueWords } from "../api/issue-words.js";
import { loadRunDocument } from "../run-document.js";
import type { App, AppEnv, ServerContext } from "../server-context.js";
import { ErrorPage } from "./error-page.js";
import { type CompareQuery, ComparisonPage, compareHref, EvaluationPage, EvaluationsListPage } from "./evaluation-pages.js";
import { BACK_TO_EVALUATIONS, BACK_TO_RUNS, NotFoundPage } from "./not-found-page.js";
import { checkPageParams, errorBoxOf, type PageParams, PageProblem, pageProblem, type WayOut } from "./page-params.js";
import { RunHead, RunPage, RunSteps, StretchRows } from "./run-page.js";
import { filtersHref, RunsListPage, type RunsListQuery, RunsSection } from "./runs-list-page.js";
import { RUNS_LIST_SCRIPT } from "./runs-list-script.js";
import { STEPS_SCRIPT } from "./steps-script.js";
import { VIEWER_CSS } from "./viewer-css.js";
import { VIEWER_SCRIPT } from "./viewer-script.js";

/**
 * The scripts and stylesheet the pages load, all from this server: mermaid and Panzoom from the
 * packages the report inlines (resolved from node_modules, never a CDN), the report's script and the
 * viewer's. Read once, at start-up.
 */
function assets(): Map<string, { body: string; type: string }> {
  const js = "text/javascript; charset=utf-8";
  return new Map([
    ["mermaid.js", { body: readFileSync(CLIENT_BUNDLES.mermaid.path, "utf8"), type: js }],
    ["panzoom.js", { body: readFileSync(CLIENT_BUNDLES.panzoom.path, "utf8"), type: js }],
    ["report.js", { body: REPORT_SCRIPT, type: js }],
    ["viewer.js", { body: VIEWER_SCRIPT, type: js }],
    ["steps.js", { body: STEPS_SCRIPT, type: js }],
    ["runs-list.js", { body: RUNS_LIST_SCRIPT, type: js }],
    ["viewer.css", { body: VIEWER_CSS, type: "text/css; charset=utf-8" }],
  ]);
}

/**
 * Scripts only with the page's nonce; styles from here and inline (mermaid styles its SVG inline);
 * nothing from elsewhere, no frames, no plugins.
 */
const pageSecurity = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: [NONCE],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

/** Marks a page a person asked for, so an error on it is answered with the viewer's error page (knownErrorAnswer). */
const viewerPage = createMiddleware<AppEnv>(async (c, next) => {
  c.set("viewerPage", true);
  await next();
});

const nonceOf = (c: Context<AppEnv>) => c.get("secureHeadersNonce") ?? "";

/** An error a page can show in its own frame (bad filters, say); any other goes to the app's handler. */
function pageError(error: unknown): ApiError {
  const known = toApiError(error);
  if (!known) throw error;
  return known;
}

/** A page link whose cursor this server did not give out, or no longer matches its list: back to the list's first page. */
function readCursor<Key>(cursor: string, decode: (cursor: string) => Key, firstPage: string): Key {
  try {
    return decode(cursor);
  } catch {
    const words = "This page link is broken or out of date:";
    throw new PageProblem(
      `${words} go back to the first page.`,
      "cursor",
      <p>
        {words} <a href={firstPage}>go back to the first page</a>.
      </p>,
    );
  }
}

/** The runs list's filters as its form names them. */
const FILTER_LABELS: Record<string, string> = { status: "Status", flowId: "Flow", q: "Search" };

/** Where a runs list URL that cannot be read leads: the list unfiltered. */
const RUNS_WAY_OUT: WayOut = { unread: "No runs are listed with it:", change: true, link: { href: "/", words: "show all runs" } };

/** A filter the list cannot be read with: which, what it must be, and a link to the value a typo most likely meant. */
function filterProblem(issues: readonly z.core.$ZodIssue[], input: unknown, query: RunsListQuery): PageProblem {
  const [issue] = issues;
  const field = String(issue?.path[0] ?? "");
  const label = FILTER_LABELS[field] ?? field;
  const fault = issue ? issueWords(issue, input) : { words: "cannot be used", guess: undefined };
  const guess = fault.guess === undefined ? undefined : { word: fault.guess, href: filtersHref({ ...query, [field]: fault.guess }, null) };
  return pageProblem(RUNS_WAY_OUT, field, `The ${label} filter ${issueSentence(fault)}`, `The ${label} filter ${fault.words}.`, guess);
}

/** What the runs list reads from its URL: its filters, and a page link's cursor. */
const RUNS_PARAMS: PageParams = {
  page: "The runs list",
  noun: "filter",
  labels: FILTER_LABELS,
  carried: ["cursor"],
  href: (values) => filtersHref(values, null),
  wayOut: RUNS_WAY_OUT,
};

/** The evaluations list has no filters: its only parameter is its page links' cursor. */
const EVALUATIONS_PARAMS: PageParams = {
  page: "The evaluations list",
  noun: "parameter",
  labels: {},
  carried: ["cursor"],
  href: () => "/evaluations",
  wayOut: { unread: "No evaluations are listed with it:", change: false, link: { href: "/evaluations", words: "show all evaluations" } },
};

/** /compare reads the ids its form sends. */
const COMPARE_PARAMS: PageParams = {
  page: "The compare page",
  noun: "parameter",
  labels: { a: "A", b: "B" },
  carried: [],
  href: (values) => compareHref(values),
  wayOut: { unread: "Nothing is compared with it:", change: true, link: { href: "/compare", words: "start over" } },
};

/** At most this many flows are offered for a Flow filter that matches none. */
const NEAR_FLOWS = 3;

/**
 * Stored flow ids a Flow filter that matched nothing most likely meant: those that contain it, case
 * aside (a flow id typed short, `jup` for jup-multiply-usdc), else the one a typo of it is closest
 * to among the flows of the newest runs.
 */
async function nearFlowIds(db: Database, flowId: string, newest: readonly ExecutionSummary[]): Promise<string[]> {
  const needle = flowId.toLowerCase();
  const found = (await listExecutionsPage(db, { q: flowId, limit: 50 })).executions.map((e) => e.flowId);
  const containing = [...new Set(found.filter((id) => id.toLowerCase().includes(needle)))];
  if (containing.length) return containing.slice(0, NEAR_FLOWS);
  const closest = closestWord(flowId, [...new Set(newest.map((e) => e.flowId))]);
  return closest === undefined ? [] : [closest];
}

/**
 * What an empty runs list says: with no run stored at all, how to record some; else that none
 * matches its filters, a link that clears them, and the stored flows its Flow filter most likely meant.
 */
async function emptyListWords(db: Database, query: RunsListQuery, cursor: string | undefined): Promise<Child> {
  const filtered = cursor !== undefined || Object.values(query).some(Boolean);
  const newest = filtered ? (await listExecutionsPage(db, { limit: 50 })).executions : [];
  if (newest.length === 0) return "No runs yet. Record some with reev run or pnpm demo.";
  const near = query.flowId ? await nearFlowIds(db, query.flowId, newest) : [];
  return (
    <>
      No run matches these filters: <a href="/">clear them</a>.
      {near.length ? (
        <>
          {" "}
          Did you mean {near.length > 1 ? "one of " : ""}
          {near.map((flowId, i) => (
            <>
              {i === 0 ? "" : i === near.length - 1 ? " or " : ", "}
              <a href={filtersHref({ ...query, flowId }, null)}>{flowId}</a>
            </>
          ))}
          ?
        </>
      ) : null}
    </>
  );
}

/** A not-found page's words for an id that one stored id contains: that id, linked. */
const meantId = (words: string, href: string, id: string): Child => (
  <>
    {words} Did you mean <a href={href}>{id}</a>?
  </>
);

/**
 * An unknown run id, with the runs it was most likely cut from (an id selected short of its end):
 * the one run whose id contains it, linked, or a search of the list for it. A failure to look leaves
 * the plain words, which stand on their own.
 */
async function missingRunWords(db: Database, id: string): Promise<Child> {
  const words = `No run "${id}".`;
  const { ids, more } = await executionIdsContaining(db, id).catch(() => ({ ids: [], more: false }));
  const [only] = ids;
  if (only !== undefined && ids.length === 1) return meantId(words, `/runs/${encodeURIComponent(only)}`, only);
  if (ids.length === 0) return words;
  return (
    <>
      {words} {more ? `At least ${ids.length}` : ids.length} run ids contain it:{" "}
      <a href={filtersHref({ q: id }, null)}>search the runs for it</a>.
    </>
  );
}

/**
 * An unknown evaluation id, with the evaluations it was most likely cut from, as `reev compare`
 * answers: the one whose id contains it, linked, or how many do and the newest of them (the
 * evaluations list has no search). A failure to look leaves the plain words.
 */
async function missingEvaluationWords(db: Database, id: string): Promise<Child> {
  const words = `No evaluation "${id}".`;
  const near = await evaluationIdsContaining(db, id).catch(() => ({ ids: [], more: false }));
  const [only] = near.ids;
  if (only !== undefined && near.ids.length === 1) return meantId(words, `/evaluations/${encodeURIComponent(only)}`, only);
  return `${words}${nearWords(near, "evaluation ids")}`;
}

/** The way back from a viewer page that cannot be shown: the list it belongs to. */
const backFrom = (c: Context<AppEnv>) => {
  const path = new URL(c.req.url).pathname;
  return path === "/evaluations" || path.startsWith("/evaluations/") ? BACK_TO_EVALUATIONS : BACK_TO_RUNS;
};

/**
 * Where a viewer path no route serves is meant to go: without its trailing slash (`/evaluations/` is
 * the evaluations list, `/runs/x/` run x's page), and `/runs` is the runs list's, `/`. Undefined for
 * any other, and for `//host/…`, which a browser would follow to another site.
 */
export function meantPagePath(path: string): string | undefined {
  if (path.startsWith("//")) return undefined;
  const bare = path.replace(/\/+$/, "") || "/";
  if (bare === "/runs") return "/";
  return bare === path ? undefined : bare;
}

/**
 * The app's answer for a path no route serves: JSON for the API (`/api/*`), which programs read; a
 * redirect for a viewer page asked with a trailing slash ("/runs/" was "No page at /runs/."); and the
 * viewer's not-found page for anything else, which a person typed or followed, leading back to its list.
 */
export function notFoundAnswer(c: Context<AppEnv>): Response | Promise<Response> {
  const url = new URL(c.req.url);
  const path = url.pathname;
  if (path.startsWith("/api/")) return c.json(new ApiError(404, "NOT_FOUND", `No route ${c.req.method} ${path}.`).body(), 404);
  const meant = ["GET", "HEAD"].includes(c.req.method) ? meantPagePath(path) : undefined;
  if (meant !== undefined) return c.redirect(`${meant}${url.search}`, 301);
  return c.html(<NotFoundPage message={`No page at ${path}.`} back={backFrom(c)} />, 404);
}

/**
 * The app's answer for an error it knows (a bad id, a busy database): on a viewer page, which a
 * person asked for, the viewer's error page naming what is wrong; elsewhere (the API, /healthz,
 * the assets) the API's JSON, which programs read.
 */
export function knownErrorAnswer(c: Context<AppEnv>, known: ApiError): Response | Promise<Response> {
  return c.get("viewerPage") ? pageErrorAnswer(c, known) : c.json(known.body(), known.status);
}

/** The viewer's error page for a known error, whatever the path: a page's own, or its path with a method it does not take. */
export function pageErrorAnswer(c: Context<AppEnv>, known: ApiError): Response | Promise<Response> {
  const heading = known.status === 404 ? "Not found" : "This page cannot be shown";
  return c.html(<ErrorPage heading={heading} message={known.message} back={backFrom(c)} />, known.status);
}

/**
 * The app's answer for a failure it did not expect (a bug, a driver failure), already logged under
 * `requestId`: the id and plain words, never the error itself (its stack or SQL). On a viewer page,
 * the viewer's error page, since a person asked for a page; elsewhere the API's JSON, with the id in
 * its own field for programs.
 */
export function unexpectedErrorAnswer(c: Context<AppEnv>, requestId: string): Response | Promise<Response> {
  if (!c.get("viewerPage")) {
    const message = `The server failed to answer; it logged the failure as request ${requestId}.`;
    return c.json({ error: { code: "INTERNAL", message, requestId } }, 500);
  }
  const message = `The server failed to show this page; it logged the failure as request ${requestId}. Reload to try again; if it fails again, give that request id to whoever runs this server.`;
  return c.html(<ErrorPage heading="Something went wrong" message={message} back={backFrom(c)} />, 500);
}

/** The runs list's filters from the URL; an empty field is no filter. */
const runsListQuery = (c: Context<AppEnv>): RunsListQuery => ({
  status: c.req.query("status") || undefined,
  flowId: c.req.query("flowId") || undefined,
  q: c.req.query("q") || undefined,
});

/** `?steps=all`: the run page's table with every step instead of its folded stretches. Any other value is refused, naming it. */
function allStepsOf(c: Context<AppEnv>): boolean {
  const steps = c.req.query("steps");
  if (steps === undefined || steps === "") return false;
  if (steps === "all") return true;
  throw badRequest(
    `The steps parameter can only be "all" (every step in the table), not "${steps}". Leave it out for the table with its long stretches folded.`,
    "steps",
  );
}

const STEP_INDEX = "must be a step index, a whole number from 0";
const ZStepIndex = z.coerce.number({ error: STEP_INDEX }).int({ error: STEP_INDEX }).min(0, { error: STEP_INDEX });
const RANGE = "must be two step indexes, like 10-109";
/** A stretch's rows: the stretch `from`–`to` and, within it, the steps `show` ("A-B") to list one by one. */
const ZStretchQuery = z
  .object({ from: ZStepIndex, to: ZStepIndex, show: z.string({ error: RANGE }).regex(/^\d+-\d+$/, { error: RANGE }) })
  .transform((q, ctx) => {
    const [showFrom, showTo] = q.show.split("-").map(Number) as [number, number];
    if (q.from > q.to || showFrom > showTo || showFrom < q.from || showTo > q.to) {
      ctx.addIssue({ code: "custom", path: ["show"], message: `must be a range of steps within ${q.from}-${q.to}` });
      return z.NEVER;
    }
    return { from: q.from, to: q.to, show: { from: showFrom, to: showTo } };
  });

function stretchQuery(c: Context<AppEnv>): z.output<typeof ZStretchQuery> {
  const parsed = ZStretchQuery.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const field = String(issue?.path[0] ?? "show");
  throw badRequest(`The ${field} parameter ${issue?.message ?? "is not valid"}. The run page's Show links give these.`, field);
}

export function registerViewerRoutes(app: App, ctx: ServerContext): void {
  const files = assets();
  app.get("/assets/:name", (c) => {
    const file = files.get(c.req.param("name"));
    if (!file) throw new ApiError(404, "NOT_FOUND", "No such asset.");
    return c.body(file.body, 200, { "Content-Type": file.type, "Cache-Control": "public, max-age=3600" });
  });

  app.use("/", pageSecurity, viewerPage);
  app.use("/live", pageSecurity, viewerPage);
  app.use("/runs/*", pageSecurity, viewerPage);
  app.use("/evaluations", pageSecurity, viewerPage);
  app.use("/evaluations/*", pageSecurity, viewerPage);
  app.use("/compare", pageSecurity, viewerPage);

  /** The list's query from the URL, and its page: the same read as the API's list. */
  const listPage = async (c: Context<AppEnv>) => {
    const query = runsListQuery(c);
    checkPageParams(new URL(c.req.url), RUNS_PARAMS, query);
    const cursor = c.req.query("cursor") || undefined;
    const given = { ...query, limit: 50 };
    const input = ZExecutionsPageInput.safeParse(given);
    if (!input.success) throw filterProblem(input.error.issues, given, query);
    const after = cursor ? readCursor(cursor, decodeCursor, filtersHref(query, null)) : undefined;
    const page = await listExecutionsPage(ctx.db, { ...input.data, ...(after ? { after } : {}) });
    const empty = page.executions.length === 0 ? await emptyListWords(ctx.db, query, cursor) : null;
    const runs = page.executions.map((run) => ({ run, mark: runMark(run, ctx.liveness) }));
    return { query, cursor, runs, empty, nextHref: page.next ? filtersHref(query, encodeCursor(page.next)) : null };
  };

  app.get("/", async (c) => {
    try {
      const { query, cursor, runs, empty, nextHref } = await listPage(c);
      return c.html(<RunsListPage nonce={nonceOf(c)} runs={runs} empty={empty} query={query} nextHref={nextHref} cursor={cursor} />);
    } catch (error) {
      const known = pageError(error);
      return c.html(
        <RunsListPage nonce={nonceOf(c)} runs={[]} empty={null} query={runsListQuery(c)} nextHref={null} error={errorBoxOf(known)} />,
        known.status,
      );
    }
  });

  // The list's live part (rows and pager) for the same filters and cursor, for the page's script to swap in.
  app.get("/live", async (c) => {
    const { query, cursor, runs, empty, nextHref } = await listPage(c);
    return c.html(<RunsSection runs={runs} empty={empty} query={query} nextHref={nextHref} firstPage={!cursor} />);
  });

  app.get("/runs/:id", async (c) => {
    const id = c.req.param("id");
    const allSteps = allStepsOf(c);
    const run = await loadRunDocument(ctx.db, id, ctx.liveness);
    if (!run) return c.html(<NotFoundPage message={await missingRunWords(ctx.db, id)} back={BACK_TO_RUNS} />, 404);
    return c.html(<RunPage nonce={nonceOf(c)} run={run} allSteps={allSteps} />);
  });

  // The rows of a folded stretch of a long run's step table, for the page's script to put in its place.
  app.get("/runs/:id/steps", async (c) => {
    const { from, to, show } = stretchQuery(c);
    const run = await loadRunDocument(ctx.db, c.req.param("id"), ctx.liveness);
    if (!run) throw new ApiError(404, "NOT_FOUND", "No such run.");
    return c.html(<StretchRows run={run} from={from} to={to} show={show} />);
  });

  // The live parts of a run page, re-rendered on the server for the page's script to swap in.
  app.get("/runs/:id/live", async (c) => {
    const run = await loadRunDocument(ctx.db, c.req.param("id"), ctx.liveness);
    if (!run) throw new ApiError(404, "NOT_FOUND", "No such run.");
    return c.html(
      <>
        <RunHead run={run} />
        <RunSteps run={run} all={allStepsOf(c)} />
      </>,
    );
  });

  app.get("/evaluations", async (c) => {
    const cursor = c.req.query("cursor");
    try {
      checkPageParams(new URL(c.req.url), EVALUATIONS_PARAMS, {});
      const after = cursor ? readCursor(cursor, decodeEvaluationCursor, "/evaluations") : null;
      const page = await ctx.db.writer.listEvaluationRuns({ limit: 50, cursor: after });
      const nextHref = page.nextCursor ? `/evaluations?${new URLSearchParams({ cursor: encodeEvaluationCursor(page.nextCursor) })}` : null;
      const evaluations = page.items.map((evaluation) => ({
        evaluation,
        report: storedSummary(evaluation),
        mark: runMark(evaluation, ctx.liveness),
      }));
      return c.html(<EvaluationsListPage nonce={nonceOf(c)} evaluations={evaluations} nextHref={nextHref} firstPage={!cursor} />);
    } catch (error) {
      const known = pageError(error);
      return c.html(
        <EvaluationsListPage nonce={nonceOf(c)} evaluations={[]} nextHref={null} firstPage={false} error={errorBoxOf(known)} />,
        known.status,
      );
    }
  });

  app.get("/evaluations/:id", async (c) => {
    const id = c.req.param("id");
    const evaluation = await ctx.db.writer.getEvaluationRun(id);
    if (!evaluation) return c.html(<NotFoundPage message={await missingEvaluationWords(ctx.db, id)} back={BACK_TO_EVALUATIONS} />, 404);
    const report = storedSummary(evaluation);
    // Runs purged since it finished have no page to link to, and runs it did not count (cancelled
    // by Ctrl-C, or all while it has no report) would have none that links them: one read finds both.
    const runs = await countedRuns(ctx.db, evaluation.id, report);
    return c.html(
      <EvaluationPage
        nonce={nonceOf(c)}
        evaluation={evaluation}
        report={report}
        purged={new Set(runs.purged)}
        uncounted={runs.uncounted.map((run) => ({ run, mark: runMark(run, ctx.liveness) }))}
        mark={runMark(evaluation, ctx.liveness)}
      />,
    );
  });

  app.get("/compare", async (c) => {
    const query: CompareQuery = { a: c.req.query("a") || undefined, b: c.req.query("b") || undefined };
    const page = (props: { compared?: StoredComparison; error?: Child }) => (
      <ComparisonPage nonce={nonceOf(c)} query={query} compared={props.compared} error={props.error} />
    );
    try {
      checkPageParams(new URL(c.req.url), COMPARE_PARAMS, query);
      // No ids: the form alone. One of two: say what is missing.
      if (!query.a && !query.b) return c.html(page({}));
      if (!query.a || !query.b) return c.html(page({ error: "Give both A and B: two evaluation ids, or two execution ids." }), 400);
      return c.html(page({ compared: await compareStored(ctx.db, query.a, query.b, null, ctx.liveness) }));
    } catch (error) {
      const known = pageError(error);
      return c.html(page({ error: errorBoxOf(known) }), known.status);
    }
  });
}
