import { ChecksSection, counted, FlowDiagramView, foldedDiagramNote, RunMetrics, StatusBanner, StepTable } from "@reev/orchestrator";
import { type RunDocument, runDiagram } from "../run-document.js";
import { Layout } from "./layout.js";
import { UtcTime } from "./utc-time.js";
import { GONE_NOTE } from "./viewer-script.js";

/** A run is live while its status or its consolidation can still change (an abandoned one's cannot, until recovered). */
const isLive = (run: RunDocument) =>
  !run.abandoned &&
  (run.overview.execution.status === "running" || ["pending", "in_progress"].includes(run.overview.execution.consolidation.status));

/** The status banner and metrics: replaced from `/runs/{id}/live` while the run is live. */
export function RunHead(props: { run: RunDocument }) {
  return (
    <div id="run-head" data-live-part="">
      <StatusBanner
        execution={props.run.overview.execution}
        content={props.run.content}
        stored={props.run.consolidated !== null}
        abandoned={props.run.abandoned}
        checks={props.run.checks}
      />
      <RunMetrics
        content={props.run.content}
        wallTimeMs={props.run.overview.execution.durationMs}
        executionMetadata={props.run.overview.execution.metadata}
      />
    </div>
  );
}

/** The step timeline and the `expect` verdicts (stored as the steps are): replaced from `/runs/{id}/live` while the run is live. */
export function RunSteps(props: { run: RunDocument }) {
  return (
    <div id="run-steps" data-live-part="">
      <StepTable content={props.run.content} checks={props.run.checks} />
      <ChecksSection checks={props.run.checks} content={props.run.content} />
    </div>
  );
}

/** `/runs/{id}`: the report's components (status, metrics, diagram, steps) in the viewer, with downloads. */
export function RunPage(props: { nonce: string; run: RunDocument }) {
  const { run } = props;
  const { execution } = run.overview;
  const id = encodeURIComponent(execution.executionId);
  return (
    <Layout
      title={`reev run · ${execution.flowId}`}
      nonce={props.nonce}
      scripts={["/assets/mermaid.js", "/assets/panzoom.js", "/assets/report.js", "/assets/viewer.js"]}
    >
      <header>
        <h1>{execution.flowId}</h1>
        <p class="prompt">{execution.prompt}</p>
        <p class="ids">
          execution <code>{execution.executionId}</code> · agent {execution.agent} · started <UtcTime date={execution.startedAt} suffix />
          {execution.evaluationId === null ? null : (
            <>
              {" "}
              · evaluation <a href={`/evaluations/${encodeURIComponent(execution.evaluationId)}`}>{execution.evaluationId}</a>
            </>
          )}
        </p>
        <p class="downloads">
          Download:{" "}
          <a href={`/api/v1/flows/${id}?format=mmd`} download={`${execution.executionId}.mmd`}>
            diagram (.mmd)
          </a>
          <a href={`/api/v1/flows/${id}?format=html`} download={`${execution.executionId}.html`}>
            report (.html)
          </a>
          <a href={`/api/v1/executions/${id}/export?format=json`} download={`${execution.executionId}.json`}>
            everything (.json)
          </a>
        </p>
        {/* An abandoned run is followed too: reev recover (from another process) finishes it, and the page shows that. */}
        {isLive(run) || run.abandoned ? (
          <p
            id="live-note"
            class="live-note"
            aria-live="polite"
            data-execution-id={execution.executionId}
            data-abandoned={String(Boolean(run.abandoned))}
          >
            {run.abandoned ? GONE_NOTE : "Live: connecting…"}
          </p>
        ) : null}
      </header>
      <RunHead run={run} />
      <FlowDiagramView
        notes={[
          // The banner and the step table follow a live run; the drawing does not (it is redrawn when the
          // run ends): without a word, "No steps recorded" sat under "4 of 4 steps succeeded".
          isLive(run)
            ? `Drawn when the page loaded, from the ${counted(run.content.metadata.total_steps, "step")} committed then. The status and the steps follow the run live; the diagram is drawn again when it ends.`
            : undefined,
          foldedDiagramNote(run.content, run.checks),
        ]}
        source={runDiagram(run)}
      />
      <RunSteps run={run} />
    </Layout>
  );
}
