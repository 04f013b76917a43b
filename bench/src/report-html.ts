import { whole } from "./format.js";
import { headerLines, resultTables, type TableSpec } from "./report-tables.js";
import type { BackendResult, BenchResults } from "./results.js";
import { FIRST_STEP_TARGET_MS } from "./scenario-cli.js";
import { type Bar, type BarGroup, barChart, esc, logLogChart } from "./svg-charts.js";

/** A self-contained page (inline SVG and CSS, nothing fetched): each scenario's chart above its table. */

const COLORS = { writer: "#d9480f", raw: "#1971c2", other: "#868e96" };
const msText = (v: number) => `${whole(v)} ms`;

const sideBars = (writer: number, raw: number, unit: string): Bar[] => [
  { label: "writer", value: writer, color: COLORS.writer, text: `${whole(writer)} ${unit}` },
  { label: "raw", value: raw, color: COLORS.raw, text: `${whole(raw)} ${unit}` },
];

/** Writer and raw bars per backend, for the throughput scenarios. */
function throughput(
  backends: BackendResult[],
  pick: (b: BackendResult) => { writer: number; raw: number } | undefined,
  unit: string,
): string {
  const groups = backends.flatMap((b): BarGroup[] => {
    const v = pick(b);
    return v ? [{ label: b.name, bars: sideBars(v.writer, v.raw, unit) }] : [];
  });
  return groups.length ? barChart(groups) : "";
}

function charts(r: BenchResults): Partial<Record<TableSpec["id"], string>> {
  const b = r.backends;
  return {
    steps: barChart(
      b.flatMap((x) =>
        (x.steps?.cases ?? []).map((c) => ({
          label: `${x.name}: ${c.label}`,
          bars: sideBars(c.writer.perSecond, c.raw.perSecond, "steps/s"),
        })),
      ),
    ),
    bulk: throughput(b, (x) => x.bulk && { writer: x.bulk.writer.perSecond, raw: x.bulk.raw.perSecond }, "rows/s"),
    concurrency: throughput(
      b,
      (x) => x.concurrency && { writer: x.concurrency.writer.perSecond, raw: x.concurrency.raw.perSecond },
      "steps/s",
    ),
    consolidation: b
      .filter((x) => x.consolidation)
      .map((x) => {
        const sizes = x.consolidation!.sizes;
        const series = (side: "writer" | "writerRead" | "raw", label: string, color: string) => ({
          label,
          color,
          points: sizes.map((s) => ({ x: s.steps, y: s[side].medianMs })),
        });
        const lines = [
          series("writer", "consolidateExecution", COLORS.writer),
          series("writerRead", "its read alone", COLORS.other),
          series("raw", "raw SELECT", COLORS.raw),
        ];
        return `<h3>${esc(x.name)}</h3>${logLogChart(lines, { x: "steps", y: "ms (log)" })}`;
      })
      .join(""),
    cli: r.cli
      ? barChart(
          r.cli.cases.map((c) => ({
            label: `${c.label}, ${c.data}`,
            bars: [
              ...(c.firstStepMs === null
                ? []
                : [{ label: "first step", value: c.firstStepMs, color: COLORS.writer, text: msText(c.firstStepMs) }]),
              { label: "exit", value: c.exitMs, color: COLORS.other, text: msText(c.exitMs) },
            ],
          })),
          { value: FIRST_STEP_TARGET_MS, label: `target ${msText(FIRST_STEP_TARGET_MS)}` },
        )
      : "",
    memory: barChart(
      b
        .filter((x) => x.memory)
        .map((x) => ({
          label: x.name,
          bars: x.memory!.modes.map((m) => ({
            label: m.label,
            value: m.maxRssMiB,
            color: m.mode === "consolidate" || m.mode === "writer-open" ? COLORS.writer : COLORS.raw,
            text: `${m.maxRssMiB.toFixed(0)} MiB`,
          })),
        })),
    ),
  };
}

function htmlTable(t: TableSpec): string {
  const cell = (tag: string, text: string, i: number) => `<${tag}${t.align[i] === "r" ? ' class="r"' : ""}>${esc(text)}</${tag}>`;
  const missed = (row: string[]) => (row.includes("MISSED") || row.includes("missed") ? ' class="missed"' : "");
  return (
    `<table class="${t.id}"><thead><tr>${t.header.map((h, i) => cell("th", h, i)).join("")}</tr></thead>` +
    `<tbody>${t.rows.map((row) => `<tr${missed(row)}>${row.map((c, i) => cell("td", c, i)).join("")}</tr>`).join("")}</tbody></table>`
  );
}

export function renderHtml(results: BenchResults): string {
  const chartFor = charts(results);
  // The verdicts first; each scenario's chart and table after.
  const tables = resultTables(results).sort((a, b) => Number(b.id === "targets") - Number(a.id === "targets"));
  const sections = tables.map(
    (t) =>
      `<section><h2>${esc(t.title)}</h2>${t.notes.map((n) => `<p class="note">${esc(n)}</p>`).join("")}${chartFor[t.id] ?? ""}${htmlTable(t)}</section>`,
  );
  const [title, ...meta] = headerLines(results);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reev bench: writer vs raw driver</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:26px 0 4px} h3{font-size:14px;margin:10px 0 0}
.meta,.note{color:#555;margin:0 0 4px} .case{font-size:13px} .val{font-size:11px;fill:#333}
.grid{stroke:#e9ecef} .guide{stroke-dasharray:2 3;stroke-width:1} .marker{stroke:#c92a2a;stroke-dasharray:4 3}
.key span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px -1px 12px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px} th,td{padding:2px 8px;border-bottom:1px solid #e9ecef;text-align:left;white-space:nowrap}
th{border-bottom:1px solid #adb5bd} table.targets td{white-space:normal} .r{text-align:right;font-variant-numeric:tabular-nums} tr.missed td{color:#c92a2a}
</style></head><body>
<h1>${esc(title ?? "reev bench")}</h1>
${meta.map((m) => `<p class="meta">${esc(m)}</p>`).join("\n")}
<p class="key"><span style="background:${COLORS.writer}"></span>writer (reev) <span style="background:${COLORS.raw}"></span>raw driver, same work</p>
${sections.join("\n")}
</body></html>
`;
}
