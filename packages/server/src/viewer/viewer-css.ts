import { EVALUATION_CSS, REPORT_CSS } from "@reev/orchestrator";

/** The viewer's stylesheet: the reports' (the run and evaluation pages show the same components) and the lists' own rules. */
export const VIEWER_CSS = `${REPORT_CSS}${EVALUATION_CSS}
.topbar { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin: 0 0 16px; }
.topbar a { color: inherit; }
.brand { font-weight: 700; font-size: 18px; text-decoration: none; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #3b82f6; outline-offset: 2px; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form.filters input, form.filters select, form.filters button, form.pick-form button { font: inherit; padding: 6px 8px; border: 1px solid #cbd2d9; border-radius: 6px; background: #fff; }
form.filters input[type=search] { min-width: 16em; }
/* An evaluation's id (eval_ + time + suffix, 26 characters) shows whole; an execution's longer id scrolls in its field. */
form.filters input.id-field { width: 30ch; max-width: 100%; }
table.runs { width: 100%; border-collapse: collapse; }
table.runs th, table.runs td { text-align: left; padding: 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.runs td.id { overflow-wrap: anywhere; }
/* Short values keep to one line (a status, a time), so a row of the list is one line wide on a desktop; ids and flows wrap. */
table.runs th, table.runs td.short { white-space: nowrap; }
/* The list's compare picks: each radio with its letter, large enough to tap, one pair per row. */
.pick-bar { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; margin: 0 0 8px; }
table.runs td.pick label { display: inline-flex; align-items: center; gap: 4px; padding: 2px 10px 2px 0; cursor: pointer; }
table.runs td.pick input { width: 18px; height: 18px; margin: 0; }
.pager { display: flex; gap: 16px; margin-top: 12px; }
/* The links wrap as wholes, with room between their rows and the status banner below. */
.downloads { display: flex; gap: 4px 12px; flex-wrap: wrap; margin: 8px 0 12px; }
.downloads a { white-space: nowrap; }
.live-note { color: var(--muted); font-size: 12px; }
/* A long run's step table: a folded stretch is one row, in the colours of the diagram's note, with its Show links. */
.steps-note { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.steps-table tr.steps-gap td { background: var(--bg); color: var(--muted); }
.steps-table tr.steps-gap[aria-busy] td { opacity: .6; }
.steps-gap .gap-words { margin-right: 12px; }
.show-steps { display: inline-block; margin-right: 12px; white-space: nowrap; }
/* What was typed is quoted in it and may be one long word: it wraps rather than widen a phone's page. */
.error-box { border-color: #dc3545; background: var(--bad-bg); overflow-wrap: anywhere; }
.error-box p { margin: 0; }
.error-box p + p { margin-top: 8px; }
@media (max-width: 700px) {
  body { padding: 12px; }
  table.runs thead { display: none; }
  table.runs tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.runs td { display: block; border: 0; padding: 2px 0; }
  table.runs td::before { content: attr(data-label) ": "; color: var(--muted); font-size: 12px; }
  form.filters input[type=search] { min-width: 0; width: 100%; }
  /* A and B with their row's "Compare:" on one line, each a thumb's height. */
  table.runs td.pick { display: flex; align-items: center; }
  table.runs td.pick::before { margin-right: 6px; }
  table.runs td.pick label { padding: 6px 16px 6px 0; }
}
`;
