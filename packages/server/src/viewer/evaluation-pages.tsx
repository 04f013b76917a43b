import { type EvaluationExecutionRecord, type EvaluationRunRecord, markedStatus, type RunMark } from "@reev/db";
import {
  ComparisonBody,
  comparedSideText,
  EvaluationBody,
  type EvaluationReport,
  evaluationFacts,
  missingSummary,
  percent,
  type StoredComparison,
  ZEvaluationConfiguration,
} from "@reev/orchestrator";
import type { Child } from "hono/jsx";
import { ErrorBox, Layout } from "./layout.js";
import { pageHref } from "./page-params.js";
import { UtcTime } from "./utc-time.js";

const evaluationHref = (id: string) => `/evaluations/${encodeURIComponent(id)}`;
const runHref = (id: string) => `/runs/${encodeURIComponent(id)}`;

/**
 * What the page shows of what `reev eval` was asked: parsed, not trusted (stored JSON); each field
 * absent when it does not hold one (an evaluation recorded otherwise, or before the field existed).
 */
const ZShownConfiguration = ZEvaluationConfiguration.pick({ minPassRate: true, baseline: true }).partial();

/** A or B of the compare form, kept when the page is shown again. */
export type CompareQuery = { a?: string | undefined; b?: string | undefined };

/** The compare page for these ids. */
export const compareHref = (query: CompareQuery): string => pageHref("/compare", query);

function CompareForm(props: { query: CompareQuery }) {
  return (
    <form class="filters" method="get" action="/compare">
      <label>
        A (baseline)
        <input class="id-field" name="a" value={props.query.a ?? ""} placeholder="eval_… or exec_…" required />
      </label>
      <label>
        B (candidate)
        <input class="id-field" name="b" value={props.query.b ?? ""} placeholder="eval_… or exec_…" required />
      </label>
      <button type="submit">Compare</button>
    </form>
  );
}

/** A listed evaluation, its stored report, and its mark (judged by the route with the server's stale threshold). */
export type EvaluationListRow = { evaluation: EvaluationRunRecord; report: EvaluationReport | null; mark: RunMark };

/**
 * The two evaluations the list offers to compare at first: the newest that counted a run as B (the
 * candidate) and the one before it as A (the baseline); the newest two when fewer counted any. An
 * evaluation interrupted before a run was counted has a report of nothing, and a comparison with it
 * compares nothing.
 */
export function defaultPair(rows: readonly EvaluationListRow[]): CompareQuery {
  const reported = rows.filter((row) => (row.report?.runs ?? 0) > 0).map((row) => row.evaluation.id);
  const ids = reported.length >= 2 ? reported : rows.map((row) => row.evaluation.id);
  return { b: ids[0], a: ids[1] };
}

/** A row's A and B choices for the compare form, each named for screen readers by the evaluation it picks. */
function PickCell(props: { evaluation: EvaluationRunRecord; picked: CompareQuery }) {
  const { id, name } = props.evaluation;
  const shown = comparedSideText({ id, name });
  return (
    <td class="pick short" data-label="Compare">
      <label>
        <input type="radio" name="a" value={id} checked={props.picked.a === id} aria-label={`A (baseline): ${shown}`} />A
      </label>
      <label>
        <input type="radio" name="b" value={id} checked={props.picked.b === id} aria-label={`B (candidate): ${shown}`} />B
      </label>
    </td>
  );
}

function EvaluationRow(props: EvaluationListRow & { picked: CompareQuery | null }) {
  const { evaluation: e, report, mark } = props;
  return (
    <tr data-evaluation-id={e.id} data-status={e.status}>
      {props.picked ? <PickCell evaluation={e} picked={props.picked} /> : null}
      <td class="id" data-label="Evaluation">
        <a href={evaluationHref(e.id)}>{e.name ?? e.id}</a>
        {e.name ? <div class="gist">{e.id}</div> : null}
      </td>
      {/* As reev evaluations marks it: running, with its process gone, is not going to finish on its own. */}
      <td data-label="Status">{markedStatus(e, mark)}</td>
      <td data-label="Agent">
        {e.agent}
        {e.model ? ` (${e.model})` : ""}
      </td>
      <td data-label="Started">
        <UtcTime date={e.startedAt} />
      </td>
      <td data-label="Flows">{report ? report.flows.length : "—"}</td>
      <td data-label="Passed">
        {report ? `${report.passes}/${report.runs}${report.runs ? ` (${percent(report.passes / report.runs)})` : ""}` : "—"}
      </td>
    </tr>
  );
}

function EvaluationsTable(props: { evaluations: readonly EvaluationListRow[]; picked: CompareQuery | null }) {
  return (
    <div class="table-wrap">
      <table class="runs">
        <thead>
          <tr>
            {props.picked ? <th>Compare</th> : null}
            <th>Evaluation</th>
            <th>Status</th>
            <th>Agent</th>
            <th>Started (UTC)</th>
            <th>Flows</th>
            <th>Runs passed</th>
          </tr>
        </thead>
        <tbody>
          {props.evaluations.map((row) => (
            <EvaluationRow evaluation={row.evaluation} report={row.report} mark={row.mark} picked={props.picked} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * `/evaluations`: what `reev eval` recorded, newest first, in keyset pages. With two or more, the
 * list is a form: an A and a B per row and a button to the comparison of the two picked (a plain GET
 * to /compare, so it needs no script); the form by id, for runs or evaluations on other pages, follows.
 */
export function EvaluationsListPage(props: {
  nonce: string;
  evaluations: readonly EvaluationListRow[];
  nextHref: string | null;
  firstPage: boolean;
  /** The list's own error (a broken page link): no list then, not even "No evaluations yet". */
  error?: Child | undefined;
}) {
  const picking = props.evaluations.length >= 2;
  return (
    <Layout title="reev evaluations" nonce={props.nonce}>
      <h1>Evaluations</h1>
      <ErrorBox error={props.error} />
      {props.error ? null : (
        <section aria-label="Evaluations">
          {props.evaluations.length === 0 ? (
            <p class="muted">No evaluations yet. Record one with reev eval flows/ --repeat 5.</p>
          ) : picking ? (
            <form class="pick-form" method="get" action="/compare">
              <p class="pick-bar">
                <span>Pick A (the baseline) and B (the candidate) in the list, then</span>
                <button type="submit">Compare A → B</button>
              </p>
              <EvaluationsTable evaluations={props.evaluations} picked={defaultPair(props.evaluations)} />
            </form>
          ) : (
            <EvaluationsTable evaluations={props.evaluations} picked={null} />
          )}
          <nav class="pager" aria-label="Pages">
            {props.firstPage ? null : <a href="/evaluations">Newest</a>}
            {props.nextHref ? (
              <a href={props.nextHref} rel="next">
                Older evaluations →
              </a>
            ) : null}
          </nav>
        </section>
      )}
      <section aria-label="Compare by id">
        <h2>Compare by id</h2>
        <p class="muted">Two evaluation ids (from any page of the list), or two run ids.</p>
        <CompareForm query={{}} />
      </section>
    </Layout>
  );
}

/**
 * `/evaluations/{id}`: the report `reev eval --format html` writes, each run linked to its page here;
 * a run purged since (one of `purged`) has no page, and is shown unlinked and marked.
 */
export function EvaluationPage(props: {
  nonce: string;
  evaluation: EvaluationRunRecord;
  report: EvaluationReport | null;
  purged: ReadonlySet<string>;
  /** Its stored runs the report does not count, each with its mark (judged by the route, as the runs list judges it). */
  uncounted: readonly UncountedRun[];
  /** Its `runMark`, judged by the route with the server's stale threshold. */
  mark: RunMark;
}) {
  const { evaluation: e, report, mark } = props;
  const title = `Evaluation ${e.name ?? e.id}`;
  const facts = evaluationFacts(e, mark);
  const parsed = ZShownConfiguration.safeParse(e.configuration);
  const { minPassRate = null, baseline = null } = parsed.success ? parsed.data : {};
  return (
    <Layout title={`reev · ${title}`} nonce={props.nonce}>
      {report ? (
        <EvaluationBody
          report={report}
          options={{
            title,
            facts,
            minPassRate,
            runLink: runHref,
            purged: props.purged,
          }}
        />
      ) : (
        <>
          <header>
            <h1>{title}</h1>
            <p class="ids">{facts.join(" · ")}</p>
          </header>
          <section>
            <p>
              {missingSummary(e, mark)}
              {e.status === "running" && mark !== "abandoned" ? " Reload to see it." : ""}
            </p>
          </section>
        </>
      )}
      <UncountedRuns runs={props.uncounted} counted={report !== null} />
      {baseline !== null ? (
        <p>
          <a href={compareHref({ a: baseline, b: e.id })}>Compare with its baseline {baseline}</a>
        </p>
      ) : null}
    </Layout>
  );
}

/** A stored run an evaluation's report does not count, and its `runMark`. */
export type UncountedRun = { run: EvaluationExecutionRecord; mark: RunMark };

/**
 * An evaluation's runs outside its report, linked: without them a cancelled run of an interrupted
 * evaluation had no way in. A run whose process is gone reads "running (abandoned)", as in the runs list.
 */
function UncountedRuns(props: { runs: readonly UncountedRun[]; counted: boolean }) {
  if (!props.runs.length) return null;
  return (
    <section aria-label="Runs not counted">
      <h2>{props.counted ? `Runs not counted (${props.runs.length})` : `Its runs so far (${props.runs.length})`}</h2>
      <p>
        {props.counted
          ? "Stored runs of this evaluation that its report does not count: it was interrupted before they finished."
          : "The runs it recorded; none is counted without a report."}
      </p>
      <table class="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Flow</th>
            <th>Status</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map(({ run: r, mark }) => (
            <tr data-execution-id={r.executionId}>
              <td class="id" data-label="Run">
                <a href={runHref(r.executionId)}>{r.executionId}</a>
              </td>
              <td data-label="Flow">{r.flowId}</td>
              <td data-label="Status">{markedStatus(r, mark)}</td>
              <td data-label="Started">
                <UtcTime date={r.startedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** `/compare?a=&b=`: the comparison `reev compare` shows, with the form to compare others. */
export function ComparisonPage(props: {
  nonce: string;
  query: CompareQuery;
  compared?: StoredComparison | undefined;
  error?: Child | undefined;
}) {
  const { query, compared } = props;
  return (
    <Layout title={query.a && query.b ? `reev · compare ${query.a} → ${query.b}` : "reev · compare"} nonce={props.nonce}>
      {compared ? null : (
        <header>
          <h1>Compare</h1>
          <p>
            Compares two evaluations flow by flow (pass rates, scores, durations, tokens, cost), or two runs, A the baseline and B the
            candidate; evaluation ids are on <a href="/evaluations">Evaluations</a> or from <code>reev evaluations</code>.
          </p>
        </header>
      )}
      <section aria-label="Compare">
        <CompareForm query={query} />
      </section>
      <ErrorBox error={props.error} />
      {compared ? (
        <ComparisonBody
          comparison={compared.comparison}
          options={{
            title: `Compare ${comparedSideText(compared.a)} → ${comparedSideText(compared.b)}`,
            kind: compared.kind,
            a: compared.a,
            b: compared.b,
            sideLink: compared.kind === "evaluation" ? evaluationHref : runHref,
          }}
        />
      ) : null}
    </Layout>
  );
}
