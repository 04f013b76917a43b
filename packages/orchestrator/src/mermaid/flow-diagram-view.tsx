import type { FoldLink } from "./fold-steps.js";

/**
 * The diagram's box: the Mermaid source in `data-source` (escaped like any attribute, decoded by
 * the browser, so no script-block JSON escaping is needed), zoom buttons that the script enables
 * once the diagram is drawn, and the source itself for copying. REPORT_SCRIPT brings it to life.
 */
export function FlowDiagramView(props: {
  source: string;
  /** What the drawing covers, when it is not the whole run as it is now; undefined ones are left out. */
  notes?: readonly (string | undefined)[];
  /** Each folded box's link (see foldLinks), for the script to make it one; absent when nothing is folded, so such pages stay as they were. */
  folds?: Record<string, FoldLink>;
}) {
  const folds = props.folds && Object.keys(props.folds).length > 0 ? JSON.stringify(props.folds) : undefined;
  return (
    <section aria-label="Flow diagram">
      <h2>Flow</h2>
      {(props.notes ?? []).map((note) => (note ? <p class="diagram-note">{note}</p> : null))}
      <div id="diagram" data-render-state="pending" data-source={props.source} data-folds={folds}>
        <div class="diagram-tools" role="toolbar" aria-label="Diagram zoom">
          <button type="button" data-zoom="in" disabled aria-label="Zoom in">
            +
          </button>
          <button type="button" data-zoom="out" disabled aria-label="Zoom out">
            −
          </button>
          <button type="button" data-zoom="fit" disabled>
            Fit
          </button>
          <button type="button" data-zoom="reset" disabled>
            1:1
          </button>
          <span class="hint">Drag or scroll to move · Ctrl + scroll to zoom · click a step for its tool calls and error</span>
          <span class="hint touch">Drag to move · pinch to zoom · tap a step for details</span>
        </div>
        <figure class="diagram-viewport" tabindex={0} aria-label="Flow diagram: arrow keys move, + and − zoom, 0 resets">
          <div class="diagram-canvas">
            <span class="muted">Rendering diagram…</span>
          </div>
        </figure>
      </div>
      <details class="source">
        <summary>Mermaid source</summary>
        <pre class="source">{props.source}</pre>
      </details>
    </section>
  );
}
