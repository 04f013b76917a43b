import type { ConsolidatedContent } from "../consolidated-content.js";
import { storedStamp } from "../format-time.js";
import type { RunChecks } from "./check-notes.js";
import { ChecksSection } from "./checks-section.js";
import { clientBundle } from "./client-bundles.js";
import { DiagramError } from "./diagram-error.js";
import { FlowDiagramView } from "./flow-diagram-view.js";
import { foldedDiagramNote, foldLinks } from "./fold-steps.js";
import { parseConsolidatedContent } from "./parse-consolidated-content.js";
import { flowDiagramSource } from "./render-flow-diagram.js";
import { REPORT_CSS } from "./report-css.js";
import { REPORT_SCRIPT } from "./report-script.js";
import { RunMetrics } from "./run-metrics.js";
import { type AbandonedRun, type ReportExecution, StatusBanner } from "./status-banner.js";
import { StepTable } from "./step-table.js";

export type HtmlPageOptions = {
  /**
   * The run's execution record. Required: the consolidated document does not say how the run
   * ended, and a report that cannot say the run failed must not be written.
   */
  execution: ReportExecution;
  /** Page heading and <title>; defaults to the flow id (or execution id). */
  title?: string;
  /** The run's stored `expect` verdicts: drawn as notes in the diagram and listed under it. */
  checks?: RunChecks;
  /** False when `content` was built from the committed steps, not read from a stored session (see StatusBanner). */
  stored?: boolean;
  /** The run's process is gone and it is still recorded as running (see StatusBanner). */
  abandoned?: AbandonedRun | undefined;
};

/** Trusted text (our own CSS and scripts, checked bundles) that must reach the page unescaped. */
const trusted = (text: string) => ({ __html: text });

function ReportPage(props: HtmlPageOptions & { content: ConsolidatedContent; title: string }) {
  const { content, execution, title, checks, stored = true, abandoned } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* No favicon request: offline, a missing one is a console error. */}
        <link rel="icon" href="data:," />
        <title>{title}</title>
        <style dangerouslySetInnerHTML={trusted(REPORT_CSS)} />
      </head>
      <body>
        <main>
          <StatusBanner execution={execution} content={content} stored={stored} abandoned={abandoned} checks={checks} />
          <header>
            <h1>{title}</h1>
            {content.prompt === null ? null : <p class="prompt">{content.prompt}</p>}
            <p class="ids">
              execution <code>{content.execution_id}</code> ·{" "}
              {stored ? (
                <>
                  consolidated session <code>{content.consolidated_session_id}</code> · {storedStamp(content.consolidated_at)}
                </>
              ) : (
                "not consolidated yet"
              )}
            </p>
          </header>
          <RunMetrics content={content} wallTimeMs={execution.durationMs ?? null} executionMetadata={execution.metadata} />
          <FlowDiagramView
            notes={[foldedDiagramNote(content, checks)]}
            folds={foldLinks(content, checks)}
            source={flowDiagramSource(content, checks, execution.metadata, abandoned ? undefined : execution.status)}
          />
          {checks ? <ChecksSection checks={checks} content={content} /> : null}
          <StepTable content={content} checks={checks} />
        </main>
        <script dangerouslySetInnerHTML={trusted(clientBundle("mermaid"))} />
        <script dangerouslySetInnerHTML={trusted(clientBundle("panzoom"))} />
        <script dangerouslySetInnerHTML={trusted(REPORT_SCRIPT)} />
      </body>
    </html>
  );
}

/**
 * One self-contained HTML report of a run: a status banner (how the run ended, its error, its
 * consolidation), the metrics, the Mermaid flow diagram with pan and zoom, and the step table.
 * Every value is escaped by hono/jsx; mermaid and Panzoom are inlined, so the file works offline.
 *
 * @throws DiagramError with code INVALID_CONTENT when the content is invalid, or belongs to
 *   another execution than `options.execution`.
 */
export function renderHtmlPage(content: string | ConsolidatedContent, options: HtmlPageOptions): string {
  const parsed = parseConsolidatedContent(content);
  if (parsed.execution_id !== options.execution.executionId) {
    throw new DiagramError(
      "INVALID_CONTENT",
      `the consolidated session belongs to execution "${parsed.execution_id}", not "${options.execution.executionId}"`,
    );
  }
  const title = options.title ?? `reev flow · ${parsed.flow_id ?? parsed.execution_id}`;
  const page = (<ReportPage {...options} content={parsed} title={title} />).toString();
  // Every component here is synchronous; a promise would mean one was not, and half a page is no report.
  if (typeof page !== "string") throw new Error("renderHtmlPage: a report component rendered asynchronously");
  return `<!doctype html>\n${page}\n`;
}
