import type { BackendResult, BenchResults } from "./results.js";

/** A self-contained page (inline SVG and CSS, nothing fetched): ops/s bars, writer next to raw, per backend. */

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);
const rate = (v: number) => Math.round(v).toLocaleString("en-US");
const ms = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));
const COLORS = { writer: "#d9480f", raw: "#1971c2" };

function chart(backend: BackendResult): string {
  const labelW = 230;
  const barMax = 470;
  const barH = 16;
  const caseH = 2 * barH + 18;
  const width = labelW + barMax + 170;
  const height = backend.cases.length * caseH + 10;
  // Scaled to the cases that write: the diagnostic's much faster empty transactions would squash them.
  const scaled = backend.cases.some((c) => c.writes) ? backend.cases.filter((c) => c.writes) : backend.cases;
  const max = Math.max(...scaled.flatMap((c) => [c.writer.perSecond, c.raw.perSecond]));
  const parts: string[] = [];
  backend.cases.forEach((c, i) => {
    const y = 6 + i * caseH;
    parts.push(`<text x="0" y="${y + barH + 4}" class="case">${esc(c.label)}</text>`);
    (["writer", "raw"] as const).forEach((side, j) => {
      const s = c[side];
      const clipped = s.perSecond > max;
      const w = Math.max(1, (Math.min(s.perSecond, max) / max) * barMax);
      const by = y + j * barH;
      const tip = `${side}: ${rate(s.perSecond)} ${c.unit}s/s, median round ${ms(s.totalMs)} ms, p50 ${ms(s.p50Ms)} ms, p95 ${ms(s.p95Ms)} ms`;
      parts.push(
        `<g><title>${esc(tip)}</title><rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH - 2}" rx="2" fill="${COLORS[side]}"/>` +
          `<text x="${labelW + w + 5}" y="${by + barH - 5}" class="val">${clipped ? "» " : ""}${rate(s.perSecond)}/s</text></g>`,
      );
    });
    parts.push(`<text x="${width - 4}" y="${y + barH + 4}" class="ratio" text-anchor="end">${c.ratio.toFixed(2)}×</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(backend.name)}">${parts.join("")}</svg>`;
}

export function renderHtml(results: BenchResults): string {
  const { config, machine } = results;
  const sections = results.backends.map((b) =>
    b.skipped
      ? `<section><h2>${esc(b.name)}</h2><p class="skip">Skipped: ${esc(b.skipped)}</p></section>`
      : `<section><h2>${esc(b.name)}</h2><p class="desc">${esc(b.description)}</p>${chart(b)}</section>`,
  );
  const caseNotes = (results.backends.find((b) => !b.skipped)?.cases ?? [])
    .map((c) => `<li><b>${esc(c.label)}</b>: ${esc(c.description)}</li>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reev bench: writer vs raw driver</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 2px} .desc,.meta{color:#666;margin:0 0 8px}
.case{font-size:13px} .val{font-size:11px;fill:#333} .ratio{font-size:14px;font-weight:600}
.key span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px -1px 12px}
.skip{color:#a61e4d} ul{padding-left:18px;color:#444}
</style></head><body>
<h1>DatabaseWriter vs raw driver</h1>
<p class="meta">${esc(results.date)} · ${machine.cpus}× ${esc(machine.cpuModel)} · Node ${esc(machine.node)} · load average ${machine.loadAverage.before.toFixed(1)} → ${machine.loadAverage.after.toFixed(1)} ·
N=${config.steps} per round, median of ${config.rounds} rounds, ${config.concurrency} parallel executions, ${config.txSteps} steps per execution transaction</p>
<p class="key">Operations per second (longer is faster; » marks a bar cut at the scale of the writing cases), and writer ÷ raw time on the right (1× = as fast as the raw driver):
<span style="background:${COLORS.writer}"></span>writer <span style="background:${COLORS.raw}"></span>raw driver</p>
${sections.join("\n")}
<h2>Cases</h2><ul>${caseNotes}</ul>
</body></html>
`;
}
