/** The report's stylesheet; the viewer can serve the same text for the same components. */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f7f8fa;
  --good: #155724; --good-bg: #d4edda; --bad: #721c24; --bad-bg: #f8d7da; --warn: #856404; --warn-bg: #fff3cd; --info-bg: #e7f0ff; }
* { box-sizing: border-box; }
body { margin: 0; padding: 32px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; }
h1 { margin: 0 0 4px; font-size: 24px; overflow-wrap: anywhere; }
h2 { margin: 0 0 12px; font-size: 17px; overflow-wrap: anywhere; }
.prompt { margin: 0 0 8px; font-size: 16px; overflow-wrap: anywhere; }
.ids { margin: 0; color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.ids code { font-size: 12px; }
section { margin-top: 20px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; }
.banner { margin: 0 0 20px; border-width: 1px 1px 1px 6px; }
.banner.ok { border-color: #28a745; background: var(--good-bg); }
.banner.bad { border-color: #dc3545; background: var(--bad-bg); }
.banner.warn { border-color: #d39e00; background: var(--warn-bg); }
.banner.info { border-color: #6f7fa8; background: var(--info-bg); }
.banner .headline { margin: 0; font-size: 20px; font-weight: 700; }
.banner.ok .headline { color: var(--good); } .banner.bad .headline { color: var(--bad); } .banner.warn .headline { color: var(--warn); }
.banner p { margin: 6px 0 0; overflow-wrap: anywhere; }
.banner .run-error { margin: 8px 0 0; padding: 8px 10px; background: #fff; border-radius: 6px; font: 13px/1.45 ui-monospace, monospace; }
/* An error may be several KB (a stack, a provider's whole reply): wherever one is shown it keeps its first lines in a box of 12em that scrolls to the rest. */
.banner .run-error, .error-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 12em; overflow: auto; }
.metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; padding: 14px; }
.metric { border-radius: 8px; background: var(--bg); padding: 10px 12px; }
.metric .value { display: block; font-size: 22px; font-weight: 600; }
.metric .name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.metrics-note { grid-column: 1 / -1; margin: 0; color: var(--muted); font-size: 13px; }
.metric.good .value { color: #1e7e34; } .metric.bad .value { color: #b02a37; } .metric.skip .value { color: #5a6268; }
.diagram-tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-bottom: 8px; }
.diagram-tools button { font: inherit; padding: 3px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--ink); cursor: pointer; }
.diagram-tools button:hover { background: var(--bg); }
.diagram-note { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.diagram-tools .hint { color: var(--muted); font-size: 12px; margin-left: 6px; }
.diagram-tools .hint.touch { display: none; }
/* The box grows with its diagram up to the window's height less the section's heading and buttons, so a long flow shows as many steps as fit on screen with its zoom buttons. */
.diagram-viewport { margin: 0; position: relative; max-height: max(320px, calc(100vh - 110px)); min-height: 80px; overflow: hidden; border: 1px solid var(--line); border-radius: 8px; background: #fcfcfd; }
.diagram-viewport:focus-visible { outline: 3px solid #4c8bf5; outline-offset: 2px; }
/* Where the diagram runs past the box (data-more, set by the script), the edge fades and says so: the flow goes on, a drag away. */
.diagram-viewport[data-more~="above"]::before, .diagram-viewport[data-more~="below"]::after { position: absolute; left: 0; right: 0; z-index: 1; height: 36px; display: flex; justify-content: center; font-size: 12px; font-weight: 600; color: var(--muted); pointer-events: none; }
.diagram-viewport[data-more~="above"]::before { content: "↑ more above"; top: 0; align-items: flex-start; padding-top: 2px; background: linear-gradient(#fcfcfd 30%, rgba(252, 252, 253, 0)); }
.diagram-viewport[data-more~="below"]::after { content: "↓ more below"; bottom: 0; align-items: flex-end; padding-bottom: 2px; background: linear-gradient(rgba(252, 252, 253, 0), #fcfcfd 70%); }
.diagram-canvas { padding: 8px; }
.diagram-canvas svg { display: block; margin: 0 auto; }
.diagram-canvas a.step-link { cursor: pointer; }
.diagram-canvas a.step-link:focus-visible { outline: 3px solid #4c8bf5; }
.render-error { color: #b02a37; text-align: left; margin: 8px; }
details { margin-top: 4px; } summary { cursor: pointer; }
details.source { margin-top: 12px; } details.source > summary { color: var(--muted); }
pre.source, pre.json { overflow: auto; background: var(--bg); padding: 8px 10px; border-radius: 6px; font-size: 12px; margin: 4px 0; max-height: 24em; white-space: pre-wrap; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
/* "anywhere", not "break-word": only it lets a long unbroken id (a flow id may have 255 characters) narrow its column, so the others stay in view. */
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
/* A step id breaks only once it is wider than this: "balance" or 查询余额 stay whole, a 255-character id still wraps. */
td.step { min-width: 9em; }
th { white-space: nowrap; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
tr:target { background: #fff8d6; }
tr:target td:first-child { box-shadow: inset 4px 0 #d39e00; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.retried { color: var(--warn); font-weight: 700; }
td.error { color: #b02a37; min-width: 160px; max-width: 420px; } td.error.muted { color: var(--muted); }
td.tools { min-width: 220px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.success { background: var(--good-bg); color: var(--good); } .badge.failure { background: var(--bad-bg); color: var(--bad); }
.badge.timedout { background: var(--warn-bg); color: var(--warn); } .badge.skipped { background: #e2e3e5; color: #383d41; }
.badge.unknown { background: #f0f4ff; color: #2f3a56; }
ul.tools { margin: 0; padding: 0; list-style: none; }
ul.tools > li + li { margin-top: 2px; }
.tool-failed > details > summary { color: #b02a37; }
/* A step whose expect checks failed: the table says which, in the colour of a failure. */
.steps-table td.checks.failed { color: var(--bad); font-weight: 600; }
.gist { color: var(--muted); font-size: 12px; }
.muted { color: var(--muted); }
@media (max-width: 640px) {
  body { padding: 12px; }
  section { padding: 12px; }
  h1 { font-size: 20px; }
  /* The box spans its section's padding too, edge to edge: 24 px more of a phone's 390 is what a small
     flow with a check note needs to show its whole width with its labels still at 12 px. */
  .diagram-viewport { max-height: 60vh; margin: 0 -12px; border-left: 0; border-right: 0; border-radius: 0; }
  .diagram-tools .hint { display: none; }
  .diagram-tools .hint.touch { display: inline; }
  /* The step table becomes one card per step, each cell labelled, instead of scrolling sideways. */
  .steps-table thead { display: none; }
  .steps-table, .steps-table tbody, .steps-table tr, .steps-table td { display: block; }
  .steps-table tr { padding: 8px 0; border-bottom: 1px solid var(--line); }
  .steps-table td { border: 0; padding: 2px 0; max-width: none; min-width: 0; }
  .steps-table td:empty { display: none; }
  /* A label longer than its min-width ("TOOL CALLS") would otherwise touch its value. */
  .steps-table td[data-label]::before { content: attr(data-label); display: inline-block; min-width: 6.5em; margin-right: .75em; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
}
`;
