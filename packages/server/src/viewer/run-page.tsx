import { shownConsolidation } from "@reev/db";
import {
  ChecksSection,
  counted,
  drawnStateIds,
  FlowDiagramView,
  foldedDiagramNote,
  foldLinks,
  MAX_DRAWN_STEPS,
  RunMetrics,
  StatusBanner,
  type StepGap,
  StepRows,
  StepTable,
  type StepWindow,
} from "@reev/orchestrator";
import { type RunDocument, runDiagram } from "../run-document.js";
import { Layout } from "./layout.js";
import { UtcTime } from "./utc-time.js";
import { GONE_NOTE } from "./viewer-script.js";

/**
 * A run is live while its status or its consolidation can still change (an abandoned one's cannot, until
 * recovered; a rolled-back one's consolidation is skipped, never pending: the page waited, reloading, forever).
 */
const isLive = (run: RunDocument) =>
  !run.abandoned &&
  (run.overview.execution.status === "running" ||
    ["pending", "in_progress"].includes(shownConsolidation(run.overview.execution.status, run.overview.execution.consolidation).status));

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

/** How many steps one "Show" of a folded stretch adds to the table: a screenful or two, cheap to fetch and lay out. */
export const SHOWN_AT_ONCE = 100;

const grouped = (n: number) => n.toLocaleString("en-US");

/** The run page's URL with every step in the table, landing on `row`: where a folded row's links lead without a script. */
const allStepsHref = (executionId: string, row: string) => `/runs/${encodeURIComponent(executionId)}?steps=all#${row}`;

/**
 * A folded stretch's row: what the diagram's box for it says, and links that show its steps. The
 * viewer's script fetches them into the table (`data-show`, a range of step indexes); without it the
 * links open the page with every step, at the stretch's first.
 */
function GapContent(props: { gap: StepGap; executionId: string }) {
  const { gap, executionId } = props;
  const href = allStepsHref(executionId, `step-${gap.firstStateId}`);
  return (
    <>
      <span class="gap-words">
        ⋯ Steps {grouped(gap.first)}–{grouped(gap.last)} · {gap.lines.join(" · ")}
      </span>{" "}
      {gap.count > SHOWN_AT_ONCE ? (
        <>
          <a class="show-steps" href={href} data-show="first">
            Show the first {SHOWN_AT_ONCE}
          </a>
          <a class="show-steps" href={href} data-show="all">
            Show all {grouped(gap.count)}
          </a>
        </>
      ) : (
        <a class="show-steps" href={href} data-show="all">
          Show {gap.count === 1 ? "it" : `these ${grouped(gap.count)}`}
        </a>
      )}
    </>
  );
}

/**
 * The step table's window on a long run: a row for each step the diagram draws one by one, and one
 * row per folded stretch, like the diagram's boxes, that shows its steps on demand. A page of 3,000 rows
 * (6,000 tool-call panels, 3.4 MB) took seconds to serve and lay out; this one, under a hundred rows.
 * None for a run the diagram draws whole, or when the page asks for every step (`?steps=all`). With
 * `range`, the rows of one stretch the page asked to show: those `show` picks, the rest folded again.
 */
export function stepWindow(
  run: RunDocument,
  all: boolean,
  range?: { from: number; to: number; show: (i: number) => boolean },
): StepWindow | undefined {
  if (!range && (all || run.content.steps.length <= MAX_DRAWN_STEPS)) return undefined;
  const executionId = run.overview.execution.executionId;
  const gap = (g: StepGap) => <GapContent gap={g} executionId={executionId} />;
  if (range) return { shown: (step) => range.show(step.step_index), gap, from: range.from, to: range.to };
  const drawn = drawnStateIds(run.content, run.checks);
  return { shown: (_step, stateId) => drawn.has(stateId), gap };
}

/** What the step table says above a window: what its rows are, and how to list every step. */
function WindowNote(props: { run: RunDocument }) {
  const { executionId } = props.run.overview.execution;
  const total = props.run.content.steps.length;
  return (
    <p class="steps-note">
      This run has {grouped(total)} steps. The table lists the steps the diagram draws one by one; each folded stretch is one row with its
      counts, and its links show its steps (a box of the diagram leads to its first).{" "}
      <a href={`/runs/${encodeURIComponent(executionId)}?steps=all`}>Show all {grouped(total)} steps</a> (a large page, slow to open).
    </p>
  );
}

/** The step timeline and the `expect` verdicts (stored as the steps are): replaced from `/runs/{id}/live` while the run is live. */
export function RunSteps(props: { run: RunDocument; all?: boolean }) {
  const window = stepWindow(props.run, props.all === true);
  return (
    <div id="run-steps" data-live-part="" data-all-steps={props.all ? "" : undefined}>
      <StepTable
        content={props.run.content}
        checks={props.run.checks}
        window={window}
        note={window ? <WindowNote run={props.run} /> : undefined}
      />
      <ChecksSection checks={props.run.checks} content={props.run.content} />
    </div>
  );
}

/** The rows of the steps `from` to `to` of a folded stretch, those from `show` to its end with rows, the rest folded again. */
export function StretchRows(props: { run: RunDocument; from: number; to: number; show: { from: number; to: number } }) {
  const { show } = props;
  const window = stepWindow(props.run, false, {
    from: props.from,
    to: props.to,
    show: (i) => i >= show.from && i <= show.to,
  });
  return <StepRows content={props.run.content} checks={props.run.checks} window={window} />;
}

/**
 * The run's diagram. A live run's is drawn when the page loads and again when the run ends, while the
 * banner and the step table follow it: its drawing leaves out the count of planned steps not recorded
 * yet (the banner's, live, read "4 of the 8" above the drawing's "7 of the 8"), and says when it was
 * drawn. Before the first step there is nothing to draw: a box saying "No steps recorded" sat beside
 * the banner's "4 of 4 steps succeeded".
 */
function RunDiagram(props: { run: RunDocument }) {
  const { run } = props;
  const live = isLive(run);
  const committed = run.content.metadata.total_steps;
  if (live && committed === 0) {
    return (
      <section aria-label="Flow diagram">
        <h2>Flow</h2>
        <p class="diagram-note">
          No step was committed when the page loaded, so there is no diagram yet: it is drawn when the run ends. The status above and the
          steps below follow the run live.
        </p>
      </section>
    );
  }
  return (
    <FlowDiagramView
      notes={[
        live
          ? `Drawn when the page loaded, from the ${counted(committed, "step")} committed then. The status and the steps follow the run live; the diagram is drawn again when it ends.`
          : undefined,
        foldedDiagramNote(run.content, run.checks),
      ]}
      source={runDiagram(run, { unrun: !live })}
      folds={foldLinks(run.content, run.checks)}
    />
  );
}

/** `/runs/{id}`: the report's components (status, metrics, diagram, steps) in the viewer, with downloads. */
export function RunPage(props: { nonce: string; run: RunDocument; allSteps?: boolean }) {
  const { run } = props;
  const { execution } = run.overview;
  const id = encodeURIComponent(execution.executionId);
  return (
    <Layout
      title={`reev run · ${execution.flowId}`}
      nonce={props.nonce}
      scripts={["/assets/mermaid.js", "/assets/panzoom.js", "/assets/report.js", "/assets/viewer.js", "/assets/steps.js"]}
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
      <RunDiagram run={run} />
      <RunSteps run={run} all={props.allSteps} />
    </Layout>
  );
}
