import { EXECUTION_STATUSES, type ExecutionSummary, markedStatus, type RunMark, shownConsolidation } from "@reev/db";
import { formatDuration, markedGlyph } from "@reev/orchestrator";
import type { Child } from "hono/jsx";
import { toApiConsolidationStatus } from "../api/views.js";
import { ErrorBox, Layout } from "./layout.js";
import { pageHref } from "./page-params.js";
import { UtcTime } from "./utc-time.js";

export type RunsListQuery = { status?: string | undefined; flowId?: string | undefined; q?: string | undefined };
/** A listed run and its mark, judged by the route with the server's stale threshold (`runMark`). */
export type MarkedRun = { run: ExecutionSummary; mark: RunMark };

// As reev list marks it: a run whose process is gone is not shown as plainly running.
function RunRow(props: MarkedRun) {
  const { run, mark } = props;
  return (
    <tr data-execution-id={run.executionId} data-status={run.status}>
      <td class="short" data-label="Status">
        {markedGlyph(run.status, mark)} {markedStatus(run, mark)}
      </td>
      <td data-label="Flow">{run.flowId}</td>
      <td class="id" data-label="Execution">
        <a href={`/runs/${encodeURIComponent(run.executionId)}`}>{run.executionId}</a>
      </td>
      <td class="short" data-label="Agent">
        {run.agent}
      </td>
      <td class="short" data-label="Started">
        <UtcTime date={run.startedAt} />
      </td>
      <td class="short" data-label="Duration">
        {formatDuration(run.durationMs)}
      </td>
      <td class="short" data-label="Consolidation">
        {toApiConsolidationStatus(shownConsolidation(run.status, run.consolidation).status)}
      </td>
    </tr>
  );
}

/** `/`: the runs, newest first, with filters, search and keyset pages (the same reads as the API). */
export function RunsListPage(props: {
  nonce: string;
  runs: readonly MarkedRun[];
  /** What the list says when it has no rows (see RunsSection). */
  empty: Child;
  query: RunsListQuery;
  nextHref: string | null;
  /** The page's cursor: undefined on the first page, which new runs join live. */
  cursor?: string | undefined;
  /** The list's own error (bad filters, a broken page link): no list then, not even "No run matches", and no live part. */
  error?: Child | undefined;
}) {
  const { query } = props;
  return (
    <Layout title="reev runs" nonce={props.nonce} scripts={props.error ? [] : ["/assets/runs-list.js"]}>
      <section aria-label="Filters">
        <h1>Runs</h1>
        <search>
          <form class="filters" method="get" action="/">
            <label>
              Status
              <select name="status">
                <option value="">any</option>
                {EXECUTION_STATUSES.map((s) => (
                  <option value={s} selected={query.status === s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Flow
              <input name="flowId" value={query.flowId ?? ""} placeholder="flow id" />
            </label>
            <label>
              Search
              <input type="search" name="q" value={query.q ?? ""} placeholder="id, flow or prompt" />
            </label>
            <button type="submit">Show</button>
          </form>
        </search>
      </section>
      <ErrorBox error={props.error} />
      {props.error ? null : (
        <p
          id="list-live"
          class="live-note"
          aria-live="polite"
          data-live-href={liveHref(query, props.cursor)}
          data-first-page={String(!props.cursor)}
        >
          Live updates start once the page has loaded.
        </p>
      )}
      {props.error ? null : (
        <RunsSection runs={props.runs} empty={props.empty} query={query} nextHref={props.nextHref} firstPage={!props.cursor} />
      )}
    </Layout>
  );
}

/**
 * The rows and the pager: the list's live part. The page's script swaps in a fresh copy from
 * `/live` (same filters, same cursor) when a shown run changes or, on the first page, when any run
 * does, so new runs appear at the top and moved statuses show without a reload.
 */
export function RunsSection(props: {
  runs: readonly MarkedRun[];
  /** Without rows: that none are stored, or that none match the filters and how to find some (the page's to look up). */
  empty: Child;
  query: RunsListQuery;
  nextHref: string | null;
  firstPage: boolean;
}) {
  const { query } = props;
  return (
    <section id="runs" aria-label="Runs" data-live-part="">
      {props.runs.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <div class="table-wrap">
          <table class="runs">
            <thead>
              <tr>
                <th>Status</th>
                <th>Flow</th>
                <th>Execution</th>
                <th>Agent</th>
                <th>Started (UTC)</th>
                <th>Duration</th>
                <th>Consolidation</th>
              </tr>
            </thead>
            <tbody>
              {props.runs.map((row) => (
                <RunRow run={row.run} mark={row.mark} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        {props.firstPage ? null : <a href={filtersHref(query, null)}>Newest</a>}
        {props.nextHref ? (
          <a href={props.nextHref} rel="next">
            Older runs →
          </a>
        ) : null}
      </nav>
    </section>
  );
}

/** The list's URL for these filters, from `cursor` on. */
export const filtersHref = (query: RunsListQuery, cursor: string | null): string => pageHref("/", { ...query, cursor });

/** Where the page's script fetches its live part: the same filters and cursor, under `/live`. */
const liveHref = (query: RunsListQuery, cursor: string | undefined) => `/live${filtersHref(query, cursor ?? null).slice(1)}`;
