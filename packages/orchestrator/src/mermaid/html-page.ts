import type { ConsolidatedContent, ConsolidatedStep } from "../consolidated-content.js";
import { formatDuration } from "../format-duration.js";
import { escapeHtml, jsonForScript } from "./escape-html.js";
import { orderedSteps } from "./flow-model.js";
import { mermaidScript } from "./mermaid-script.js";
import { parseConsolidatedContent } from "./parse-consolidated-content.js";
import { flowDiagramSource } from "./render-flow-diagram.js";
import { statusStyle } from "./step-status.js";
import { truncateText } from "./truncate-text.js";

export type HtmlPageOptions = {
  /** Page heading and <title>; defaults to the flow id (or execution id). */
  title?: string;
};

const TABLE_ERROR_LIMIT = 300;
const TABLE_TOOL_NAME_LIMIT = 80;

const CSS = `
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 32px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 0 0 12px; font-size: 17px; }
.prompt { margin: 0 0 8px; font-size: 16px; color: var(--ink); }
.ids { margin: 0; color: var(--muted); font-size: 12px; }
.ids code { font-size: 12px; }
section { margin-top: 20px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; }
.metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; padding: 14px; }
.metric { border-radius: 8px; background: var(--bg); padding: 10px 12px; }
.metric .value { display: block; font-size: 22px; font-weight: 600; }
.metric .name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.metric.good .value { color: #1e7e34; } .metric.bad .value { color: #b02a37; } .metric.skip .value { color: #5a6268; }
#diagram { overflow-x: auto; text-align: center; min-height: 80px; }
#diagram svg { max-width: 100%; height: auto; }
.render-error { color: #b02a37; white-space: pre-wrap; text-align: left; font-family: ui-monospace, monospace; }
details { margin-top: 12px; } summary { cursor: pointer; color: var(--muted); }
pre.source { overflow-x: auto; background: var(--bg); padding: 12px; border-radius: 6px; font-size: 12px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { white-space: nowrap; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.error { color: #b02a37; word-break: break-word; max-width: 420px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.success { background: #d4edda; color: #155724; } .badge.failure { background: #f8d7da; color: #721c24; }
.badge.timedout { background: #fff3cd; color: #856404; } .badge.skipped { background: #e2e3e5; color: #383d41; }
.badge.unknown { background: #f0f4ff; color: #2f3a56; }
ul.tools { margin: 0; padding-left: 16px; } .tool-failed { color: #b02a37; } .muted { color: var(--muted); }
`;

// Renders client-side and records the outcome on the container, so both readers and automated
// checks can tell a drawn diagram from a failed one.
const RENDER_SCRIPT = `
(async () => {
  const box = document.getElementById("diagram");
  const source = JSON.parse(document.getElementById("diagram-source").textContent);
  try {
    // Mermaid's default 50 000-character cap is reached by runs of roughly 100 steps.
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default", maxTextSize: 2000000 });
    const { svg } = await mermaid.render("flow-diagram-svg", source);
    box.innerHTML = svg;
    box.setAttribute("data-render-state", "rendered");
  } catch (error) {
    const message = document.createElement("pre");
    message.className = "render-error";
    message.textContent = "Diagram could not be rendered: " + (error && error.message ? error.message : String(error));
    box.replaceChildren(message);
    box.setAttribute("data-render-state", "error");
  }
})();
`;

function metric(name: string, value: string, tone = ""): string {
  return `<div class="metric ${tone}"><span class="value">${escapeHtml(value)}</span><span class="name">${escapeHtml(name)}</span></div>`;
}

function metricsSection(content: ConsolidatedContent): string {
  const m = content.metadata;
  return `<section class="metrics" aria-label="Run metrics">
${[
  metric("Success rate", `${m.success_rate.toFixed(1)}%`),
  metric("Avg score", m.avg_score.toFixed(2)),
  metric("Total tools", String(m.total_tools)),
  metric("Duration", formatDuration(m.execution_duration_ms)),
  metric("Successful steps", String(m.successful_steps), "good"),
  metric("Failed steps", String(m.failed_steps), "bad"),
  metric("Skipped steps", String(m.skipped_steps), "skip"),
  metric("Total steps", String(m.total_steps)),
].join("\n")}
</section>`;
}

function toolCallsCell(step: ConsolidatedStep): string {
  if (step.tool_calls.length === 0) return `<span class="muted">none</span>`;
  const items = step.tool_calls.map((call) => {
    const mark = call.success === true ? "✓" : call.success === false ? "✗" : "–";
    const duration = call.duration_ms === null ? "" : ` <span class="muted">${escapeHtml(formatDuration(call.duration_ms))}</span>`;
    const cls = call.success === false ? ` class="tool-failed"` : "";
    const name = truncateText(call.tool_name, TABLE_TOOL_NAME_LIMIT);
    return `<li${cls}>${mark} <code title="${escapeHtml(call.tool_name)}">${escapeHtml(name)}</code>${duration}</li>`;
  });
  return `<ul class="tools">${items.join("")}</ul>`;
}

function stepRow(step: ConsolidatedStep): string {
  const style = statusStyle(step.status);
  const error =
    step.error === null ? "" : `<span title="${escapeHtml(step.error)}">${escapeHtml(truncateText(step.error, TABLE_ERROR_LIMIT))}</span>`;
  return `<tr>
<td class="num">${step.step_index}</td>
<td>${step.step_id === null ? `<span class="muted">—</span>` : `<code>${escapeHtml(step.step_id)}</code>`}</td>
<td><span class="badge ${style.className}">${escapeHtml(`${style.emoji} ${style.label}`)}</span></td>
<td class="num">${escapeHtml(formatDuration(step.duration_ms))}</td>
<td>${toolCallsCell(step)}</td>
<td class="error">${error}</td>
</tr>`;
}

function stepsSection(content: ConsolidatedContent): string {
  const steps = orderedSteps(content);
  const rows = steps.length === 0 ? `<tr><td colspan="6" class="muted">No steps recorded.</td></tr>` : steps.map(stepRow).join("\n");
  return `<section aria-label="Steps">
<h2>Steps</h2>
<div class="table-wrap"><table>
<thead><tr><th>#</th><th>Step</th><th>Status</th><th>Duration</th><th>Tool calls</th><th>Error</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
</section>`;
}

/**
 * One self-contained HTML report for a consolidated run: metrics, the Mermaid flow diagram and a
 * step table. Mermaid's bundle is inlined, so the page renders offline with no CDN.
 *
 * @throws DiagramError with code INVALID_CONTENT when the content is invalid.
 */
export function renderHtmlPage(content: string | ConsolidatedContent, options: HtmlPageOptions = {}): string {
  const parsed = parseConsolidatedContent(content);
  const diagram = flowDiagramSource(parsed);
  const title = options.title ?? `reev flow · ${parsed.flow_id ?? parsed.execution_id}`;
  const prompt = parsed.prompt === null ? "" : `<p class="prompt">${escapeHtml(parsed.prompt)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(title)}</h1>
${prompt}
<p class="ids">execution <code>${escapeHtml(parsed.execution_id)}</code> · consolidated session <code>${escapeHtml(parsed.consolidated_session_id)}</code> · ${escapeHtml(parsed.consolidated_at)}</p>
</header>
${metricsSection(parsed)}
<section aria-label="Flow diagram">
<h2>Flow</h2>
<div id="diagram" data-render-state="pending"><span class="muted">Rendering diagram…</span></div>
<details><summary>Mermaid source</summary><pre class="source">${escapeHtml(diagram)}</pre></details>
</section>
${stepsSection(parsed)}
</main>
<script id="diagram-source" type="application/json">${jsonForScript(diagram)}</script>
<script>${mermaidScript()}</script>
<script>${RENDER_SCRIPT}</script>
</body>
</html>
`;
}
