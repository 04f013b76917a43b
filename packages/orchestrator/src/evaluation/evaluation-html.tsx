import { formatDuration } from "../format-duration.js";
import { REPORT_CSS } from "../mermaid/report-css.js";
import { type CheckFailure, checkFailureText, checkLabel, otherReasons, runOutcomeText } from "./check-failures.js";
import { type PassComparison, pValueText } from "./compare-pass-counts.js";
import type { ReportComparison } from "./compare-reports.js";
import { COMPARISON_COLUMNS, failureRateChange, passRateChange, percent } from "./comparison-columns.js";
import type { EvaluationReport } from "./evaluation-report.js";
import { formatPerRunTokens, formatSigned, formatTokens, formatTokenTriple, formatUsd, scoredRuns } from "./format-usage.js";
import type { ComparedSide, StoredReportKind } from "./stored-comparison.js";

/** The evaluation and comparison tables' own rules, on top of REPORT_CSS (the viewer adds them to its stylesheet). */
export const EVALUATION_CSS = `
table.flows { width: 100%; border-collapse: collapse; font-size: 13px; }
table.flows th, table.flows td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
table.flows td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
/* A numeric column's header sits over its right-aligned values, not over the next column's. */
table.flows th.num { text-align: right; }
.bar { position: relative; width: 160px; height: 14px; background: var(--bg); border-radius: 7px; overflow: hidden; }
.bar .fill { position: absolute; top: 0; bottom: 0; left: 0; background: #28a745; }
.bar .fill.low { background: #dc3545; }
/* The interval is an outlined range, not a fill: at a 0% rate the bar stays empty and cannot read as a partial pass. */
.bar .ci { position: absolute; top: 2px; bottom: 2px; min-width: 2px; box-sizing: border-box; border: 1.5px solid rgba(0,0,0,.6); border-radius: 3px; background: transparent; }
.verdict-regression { color: var(--bad); font-weight: 600; } .verdict-improvement { color: var(--good); font-weight: 600; }
/* A verdict reads as one phrase: at 1280 px "no credible difference" broke over two lines beside one-line numbers.
   Its room comes from the "A → B" cell, the widest: its rates go under its counts, in every row alike. */
table.flows td[data-label="verdict"] { white-space: nowrap; }
table.flows td.change .rates { display: block; }
/* Errors take the room left, up to a reading width: one of several KB squeezed the step column to a character or two. */
table.flows td.errors { max-width: 480px; }
table.flows td.errors .error-text { text-align: left; }
table.flows td.errors .error-text + .error-text { margin-top: 4px; }
.flaky { color: var(--warn); font-weight: 600; }
/* The second column's bullets sit in the gap between the columns: a gap wider than a bullet keeps them off
   the first column's wrapped text, and a run's line stays in one column. */
ul.runs { columns: 26em 2; column-gap: 3em; margin: 6px 0 0; font-size: 12px; }
/* A run id holds its flow id (up to 255 characters, no spaces): it wraps rather than widen the page. */
ul.runs li { overflow-wrap: anywhere; break-inside: avoid; }
.note { color: var(--muted); font-size: 12px; }
/* A reason quotes the arguments a call had: long JSON with no space must wrap, not widen the page. */
.checks li { overflow-wrap: anywhere; }
/* What to read before a comparison's numbers: body text, not a footnote. */
section.notes .note { color: inherit; font-size: 14px; margin: 4px 0; }
/* A figure and its qualifier ("1.00 k=5", a min–max range) are one unit: never split apart or broken at the dash. */
.figure, .unit { white-space: nowrap; }
/* A phone cannot show nine columns: each row becomes a card of label: value lines. */
@media (max-width: 640px) {
  table.flows thead { display: none; }
  table.flows tr { display: block; border-bottom: 1px solid var(--line); padding: 8px 0; }
  table.flows td, table.flows td.num { display: flex; justify-content: space-between; align-items: center; gap: 12px; border: 0; padding: 2px 0; text-align: right; white-space: normal; }
  /* The label is plain whatever its value's weight: a regression's bold made its "verdict" label bold too. */
  table.flows td::before { content: attr(data-label); color: var(--muted); font-size: 12px; font-weight: 400; text-align: left; flex: none; }
  /* The card's value side is one flex item: a long score may wrap between its units, right-aligned, never inside one. */
  table.flows td .figure { white-space: normal; text-align: right; }
  table.flows td:empty, table.flows td.note:empty { display: none; }
  /* Errors are sentences, not a figure: under their label, each on its own full-width line. Side by side,
     each squeezed to its longest word, and breaking anywhere, "1× slippage" read "slip / pag / e". */
  table.flows td.errors { flex-direction: column; align-items: stretch; gap: 4px; max-width: none; }
  table.flows td.errors .error-text + .error-text { margin-top: 0; }
  .rate { display: flex; flex-direction: column; align-items: flex-end; gap: 2px; }
  .bar { width: 140px; }
  ul.runs { columns: 1; padding-left: 18px; }
}
`;

const trusted = (text: string) => ({ __html: text });
const number = (v: number | null | undefined, digits = 2) => (v == null ? "—" : v.toFixed(digits));
/** A cell of several figures none of which is known is one "—", not one per figure ("— · —", "— / — / —"). */
const figures = (values: readonly (number | null | undefined)[], text: () => string) => (values.every((v) => v == null) ? "—" : text());
/** HTML's signed difference: the minus sign U+2212, as wide as the plus. */
const signed = (v: number | null, format: (n: number) => string) => formatSigned(v, format, "−");

/** The pass rate as a bar, its 95% Wilson interval as an outlined range over it. */
function RateBar(props: { rate: number | null; low: number | null; high: number | null; threshold: number | null }) {
  const { rate, low, high, threshold } = props;
  if (rate === null) return <span>—</span>;
  const below = threshold !== null && rate < threshold;
  return (
    <div class="bar" role="img" aria-label={`pass rate ${percent(rate)}, 95% interval ${percent(low)}–${percent(high)}`}>
      <div class={`fill${below ? " low" : ""}`} style={`width:${(rate * 100).toFixed(1)}%`} />
      {low === null || high === null ? null : (
        <div class="ci" style={`left:${(low * 100).toFixed(1)}%;width:${((high - low) * 100).toFixed(1)}%`} />
      )}
    </div>
  );
}

/** An "A → B" cell: its counts, and its rates under them (one span: a phone's card keeps them together, right of the label). */
function ChangeCell(props: { text: string }) {
  const at = props.text.indexOf(" (");
  return (
    <td class="num change" data-label="A → B">
      {at < 0 ? (
        props.text
      ) : (
        <span>
          <span class="figure">{props.text.slice(0, at)}</span> <span class="figure rates">{props.text.slice(at + 1)}</span>
        </span>
      )}
    </td>
  );
}

/** A verdict's cell: its words, and on hover the counts and the test behind them. */
function VerdictCell(props: { passes: PassComparison | null | undefined }) {
  const { passes } = props;
  return (
    <td class={`verdict-${passes?.verdict.replaceAll(" ", "-") ?? "none"}`} data-label="verdict" title={passes?.reason}>
      {passes?.verdict ?? "—"}
    </td>
  );
}

function Page(props: { title: string; children: unknown }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>{props.title}</title>
        <style dangerouslySetInnerHTML={trusted(REPORT_CSS + EVALUATION_CSS)} />
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export type EvaluationPageOptions = {
  title: string;
  /** Id, agent, status and such, shown under the title. */
  facts: readonly string[];
  minPassRate: number | null;
  /** The link of one run's diagram page, or null when none was written. */
  runLink: (executionId: string) => string | null;
  /**
   * Runs the summary counted that are no longer stored (`reev purge` deleted them): shown unlinked and
   * marked, with a note that the figures are the summary's. None when absent.
   */
  purged?: ReadonlySet<string> | undefined;
  /** `reev eval --baseline`: what changed since that evaluation, shown after the flows table. */
  baseline?: { side: ComparedSide; comparison: ReportComparison } | undefined;
};

/** Why a report still shows figures of runs that are gone: they were computed when the runs were stored. */
function purgedRunsNote(count: number): string {
  const runs = count === 1 ? "1 run of this evaluation was" : `${count} runs of this evaluation were`;
  return `${runs} purged (reev purge); its figures are from its stored summary, computed from the runs when it finished.`;
}

/** Which checks failed in how many of a flow's runs, and why: what its pass rate does not say. */
function CheckFailures(props: { failures: readonly CheckFailure[]; runs: number }) {
  if (!props.failures.length) return null;
  return (
    <div class="checks">
      <h3>Checks that failed</h3>
      <ul>
        {props.failures.map((failure) => {
          const { headline, reasons } = checkFailureText(failure, props.runs);
          const more = otherReasons(failure);
          return (
            <li data-check={checkLabel(failure)}>
              {headline}
              {reasons.length ? (
                <ul>
                  {reasons.map((r) => (
                    <li>
                      {r.count}× {r.reason}
                    </li>
                  ))}
                  {more ? <li class="note">{more}</li> : null}
                </ul>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/**
 * What renderEvaluationHtml shows inside its page: the header, the flows × metrics table, then each
 * flow. The viewer shows the same in its own frame, so the two never drift apart.
 */
export function EvaluationBody(props: { report: EvaluationReport; options: EvaluationPageOptions }) {
  const { report, options } = props;
  const purged = options.purged ?? new Set<string>();
  return (
    <>
      <header>
        <h1>{options.title}</h1>
        <p class="ids">{options.facts.join(" · ")}</p>
      </header>
      <section aria-label="Flows">
        <h2>
          Flows · {report.passes}/{report.runs} runs passed
        </h2>
        <div class="table-wrap">
          <table class="flows">
            <thead>
              <tr>
                <th>flow</th>
                <th>pass rate (95% CI)</th>
                <th class="num">passes</th>
                <th class="num">pass@k</th>
                <th class="num">pass^k</th>
                <th class="num">score mean · median · min–max</th>
                <th class="num">p50 · p95</th>
                <th class="num">tokens in / out / cached</th>
                <th class="num">cost</th>
              </tr>
            </thead>
            <tbody>
              {report.flows.map((f) => (
                <tr data-flow-id={f.flowId}>
                  <td data-label="flow">
                    <a href={`#flow-${encodeURIComponent(f.flowId)}`}>{f.flowId}</a>
                  </td>
                  <td data-label="pass rate (95% CI)">
                    {/* No run counted, no rate: one "—", not the bar's and the figures' ("—— (—–—)"). */}
                    {f.passRate?.rate == null ? (
                      "—"
                    ) : (
                      <div class="rate">
                        <RateBar
                          rate={f.passRate.rate}
                          low={f.passRate.low ?? null}
                          high={f.passRate.high ?? null}
                          threshold={options.minPassRate}
                        />
                        <span class="note">
                          {percent(f.passRate.rate)} ({percent(f.passRate.low)}–{percent(f.passRate.high)})
                        </span>
                      </div>
                    )}
                  </td>
                  <td class="num" data-label="passes">
                    {f.passes}/{f.runs}
                  </td>
                  <td class="num" data-label="pass@k">
                    <span class="figure">
                      {number(f.passAtK)} <span class="note">k={f.k}</span>
                    </span>
                  </td>
                  <td class="num" data-label="pass^k">
                    {number(f.passHatK)}
                  </td>
                  <td class="num" data-label="score mean · median · min–max">
                    {/* No run scored: one "—", not one per figure, and how many runs were not; no run at all: the "—" alone. */}
                    {f.runs === 0 ? (
                      "—"
                    ) : f.score.mean == null ? (
                      <span class="figure">
                        <span class="unit">—</span> <span class="note unit">{scoredRuns(f.score)}</span>
                      </span>
                    ) : (
                      <span class="figure">
                        <span class="unit">{number(f.score.mean)} ·</span> <span class="unit">{number(f.score.median)} ·</span>{" "}
                        <span class="unit">
                          {number(f.score.min)}–{number(f.score.max)}
                        </span>{" "}
                        <span class="note unit">{scoredRuns(f.score)}</span>
                      </span>
                    )}
                  </td>
                  <td class="num" data-label="p50 · p95">
                    {figures(
                      [f.durationMs.p50, f.durationMs.p95],
                      () => `${formatDuration(f.durationMs.p50)} · ${formatDuration(f.durationMs.p95)}`,
                    )}
                  </td>
                  <td class="num" data-label="tokens in / out / cached">
                    {figures([f.inputTokens.total, f.outputTokens.total, f.cachedInputTokens?.total], () => formatTokenTriple(f))}
                  </td>
                  <td class="num" data-label="cost">
                    {formatUsd(f.costUsd.total)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {report.notes.map((note) => (
          <p class="note">{note}</p>
        ))}
        {purged.size ? <p class="note">{purgedRunsNote(purged.size)}</p> : null}
      </section>
      {options.baseline ? (
        <ComparisonSections
          comparison={options.baseline.comparison}
          heading={`Against baseline ${comparedSideText(options.baseline.side)} · A is the baseline, B this evaluation`}
        />
      ) : null}
      {report.flows.map((f) => (
        <section id={`flow-${encodeURIComponent(f.flowId)}`} aria-label={`Flow ${f.flowId}`}>
          <h2>{f.flowId}</h2>
          <CheckFailures failures={f.checkFailures ?? []} runs={f.runs} />
          {/* An evaluation interrupted before any run of the flow ended: a step table would have headers and no rows. */}
          {f.runs === 0 ? (
            <p class="no-runs">No run of this flow was counted: the evaluation was interrupted before any finished.</p>
          ) : (
            <div class="table-wrap">
              <table class="flows">
                <thead>
                  <tr>
                    <th>step</th>
                    <th class="num">failure rate</th>
                    <th class="num">passed · failed · skipped</th>
                    <th>most common errors</th>
                  </tr>
                </thead>
                <tbody>
                  {f.steps.map((s) => (
                    <tr data-step-id={s.stepId}>
                      <td class="step" data-label="step">
                        {/* One element: a phone's card spreads its value's parts apart, the id left and "flaky" right. */}
                        <span>
                          {s.stepId} {s.flaky ? <span class="flaky">flaky</span> : null}
                        </span>
                      </td>
                      <td class="num" data-label="failure rate">
                        {percent(s.failureRate)}
                      </td>
                      <td class="num" data-label="passed · failed · skipped">
                        {s.passed} · {s.failed}
                        {s.timedOut ? ` (${s.timedOut} timed out)` : ""} · {s.skipped}
                      </td>
                      <td class="errors" data-label="most common errors">
                        {s.topErrors.map((e) => (
                          <div class="error-text">
                            {e.count}× {e.error}
                          </div>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {f.runIds.length === 0 ? null : (
            <ul class="runs">
              {f.runIds.map((id, i) => {
                const gone = purged.has(id);
                const link = gone ? null : options.runLink(id);
                // runTotals is built in runIds' order (absent from summaries stored before it existed).
                const totals = f.runTotals?.[i];
                return (
                  <li data-run-id={id} data-purged={gone ? "true" : undefined}>
                    {link ? <a href={link}>{id}</a> : <code>{id}</code>}
                    {gone ? <span class="note"> purged</span> : null}
                    {totals ? (
                      <span class="note">
                        {" "}
                        {runOutcomeText(totals)} · {formatTokens(totals.inputTokens)} in / {formatTokens(totals.outputTokens)} out ·{" "}
                        {formatUsd(totals.costUsd)}
                      </span>
                    ) : null}
                    {/* Why it stopped: a rolled-back run's steps are gone, so nothing else on the page says it. */}
                    {totals?.error ? <div class="error-text">{totals.error}</div> : null}
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      ))}
    </>
  );
}

/**
 * A self-contained HTML report of an evaluation: flows × metrics with pass-rate bars (and their 95%
 * Wilson interval), then per flow its steps (failure rate, flaky, most common errors) and links to
 * each run's diagram. Every value is escaped by hono/jsx; no script, nothing fetched.
 */
export function renderEvaluationHtml(report: EvaluationReport, options: EvaluationPageOptions): string {
  const page = (
    <Page title={options.title}>
      <EvaluationBody report={report} options={options} />
    </Page>
  );
  return `<!doctype html>\n${page.toString()}\n`;
}

export type ComparisonPageOptions = {
  title: string;
  kind: StoredReportKind;
  a: ComparedSide;
  b: ComparedSide;
  /** Where a side's id links to (the viewer's page of it); no links without (a file has no server to link to). */
  sideLink?: ((id: string) => string) | undefined;
};

/** A side of a comparison in running text: its name with its id, or its id alone. */
export const comparedSideText = (side: ComparedSide): string => (side.name === null ? side.id : `${side.name} (${side.id})`);

/** A side under the title: its name, then its id as code, since names need not be unique. */
function SideFact(props: { label: string; side: ComparedSide; link: ComparisonPageOptions["sideLink"] }) {
  const { label, side, link } = props;
  const id = <code>{side.id}</code>;
  return (
    <span data-side={label}>
      {label}{" "}
      {side.name === null ? null : (
        <>
          <strong>{side.name}</strong>{" "}
        </>
      )}
      {link ? <a href={link(side.id)}>{id}</a> : id}
    </span>
  );
}

/** The comparison's notes and its table: the compare page's body, and a report's "against baseline" part. */
function ComparisonSections(props: { comparison: ReportComparison; heading?: string }) {
  const { comparison, heading = "Flows (B − A)" } = props;
  return (
    <>
      {/* Above the table, not under it: an interrupted side (the first note, when there is one) changes how every row reads. */}
      {comparison.notes.length ? (
        <section class="notes" aria-label="Read first">
          {comparison.notes.map((note) => (
            <p class="note">{note}</p>
          ))}
        </section>
      ) : null}
      <section aria-label="Comparison">
        <h2>{heading}</h2>
        <div class="table-wrap">
          <table class="flows">
            <thead>
              <tr>
                {/* The CLI table's columns; "A → B" holds a flow's pass rates and a step's failure rates, each cell saying which. */}
                {COMPARISON_COLUMNS.map((column, i) => (
                  <th class={i < 2 ? undefined : "num"}>{column}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {comparison.flows.flatMap((f) => [
                <tr data-flow-id={f.flowId}>
                  <td data-label="flow / step">
                    {/* One element, as the evaluation's step cell: a phone's card would spread the id and its note apart. */}
                    <span>
                      <strong>{f.flowId}</strong>
                      {f.only ? <span class="note"> only in {f.only.toUpperCase()}</span> : null}
                    </span>
                  </td>
                  <VerdictCell passes={f.passes} />
                  <ChangeCell text={passRateChange(f)} />
                  <td class="num" data-label="p">
                    {pValueText(f.passes)}
                  </td>
                  <td class="num" data-label="Δ pass^k">
                    {signed(f.passHatKDelta, (n) => n.toFixed(2))}
                  </td>
                  <td class="num" data-label="Δ mean score">
                    {signed(f.meanScoreDelta, (n) => n.toFixed(2))}
                  </td>
                  <td class="num" data-label="Δ p50">
                    {signed(f.p50DurationDelta, (n) => formatDuration(n))}
                  </td>
                  <td class="num" data-label="Δ tokens in / out per run">
                    {signed(f.inputTokensPerRunDelta, formatPerRunTokens)} / {signed(f.outputTokensPerRunDelta, formatPerRunTokens)}
                  </td>
                  <td class="num" data-label="Δ cost per run">
                    {signed(f.costUsdPerRunDelta, formatUsd)}
                  </td>
                </tr>,
                ...f.steps.map((s) => (
                  <tr data-step-id={s.stepId}>
                    <td data-label="flow / step">↳ {s.stepId}</td>
                    <VerdictCell passes={s.passes} />
                    <ChangeCell text={failureRateChange(s)} />
                    <td class="num" data-label="p">
                      {pValueText(s.passes)}
                    </td>
                    {/* A step has no pass^k, score, duration, tokens or cost of its own: empty cells, as in the CLI's table. */}
                    <td data-label="Δ pass^k" />
                    <td data-label="Δ mean score" />
                    <td data-label="Δ p50" />
                    <td data-label="Δ tokens in / out per run" />
                    <td data-label="Δ cost per run" />
                  </tr>
                )),
              ])}
            </tbody>
          </table>
        </div>
        <p class="note">
          Verdicts by {comparison.test} at p &lt; 0.05; any other difference is "no credible difference": it could be chance, and more runs
          of both would tell.
        </p>
      </section>
    </>
  );
}

/** What renderComparisonHtml shows inside its page; the viewer shows it in its own frame. */
export function ComparisonBody(props: { comparison: ReportComparison; options: ComparisonPageOptions }) {
  const { comparison, options } = props;
  return (
    <>
      <header>
        <h1>{options.title}</h1>
        <p class="ids">
          <SideFact label="A" side={options.a} link={options.sideLink} /> · <SideFact label="B" side={options.b} link={options.sideLink} />{" "}
          · {options.kind}s
        </p>
      </header>
      <ComparisonSections comparison={comparison} />
    </>
  );
}

/** The HTML of `reev compare`: flows aligned, deltas B − A, and the verdict of Fisher's exact test. */
export function renderComparisonHtml(comparison: ReportComparison, options: ComparisonPageOptions): string {
  const page = (
    <Page title={options.title}>
      <ComparisonBody comparison={comparison} options={options} />
    </Page>
  );
  return `<!doctype html>\n${page.toString()}\n`;
}
