/** Small self-contained SVG charts for the HTML report (no script, nothing fetched). */

export const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

export type Bar = { label: string; value: number; color: string; text: string };
export type BarGroup = { label: string; bars: Bar[] };

/** Horizontal bars, grouped under a title line each; `marker` draws a dashed line at a value (a target). */
export function barChart(groups: BarGroup[], marker?: { value: number; label: string }): string {
  const labelW = 190;
  const barMax = 520;
  const barH = 16;
  const width = labelW + barMax + 160;
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), marker?.value ?? 0) || 1;
  const parts: string[] = [];
  let y = 4;
  for (const g of groups) {
    parts.push(`<text x="0" y="${y + 12}" class="case">${esc(g.label)}</text>`);
    y += 17;
    for (const b of g.bars) {
      const w = Math.max(1, (b.value / max) * barMax);
      parts.push(
        `<g><title>${esc(`${g.label}, ${b.label}: ${b.text}`)}</title><text x="${labelW - 6}" y="${y + barH - 5}" class="val" text-anchor="end">${esc(b.label)}</text>` +
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" rx="2" fill="${b.color}"/>` +
          `<text x="${labelW + w + 5}" y="${y + barH - 5}" class="val">${esc(b.text)}</text></g>`,
      );
      y += barH;
    }
    y += 8;
  }
  if (marker) {
    const mx = labelW + (marker.value / max) * barMax;
    parts.push(
      `<line x1="${mx.toFixed(1)}" y1="0" x2="${mx.toFixed(1)}" y2="${y - 6}" class="marker"/><text x="${(mx + 3).toFixed(1)}" y="${y + 6}" class="val">${esc(marker.label)}</text>`,
    );
    y += 12;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">${parts.join("")}</svg>`;
}

type Series = { label: string; color: string; points: { x: number; y: number }[] };

/** Log–log lines: a straight line of slope 1 is linear growth. A dotted slope-1 guide starts at each series' last point. */
export function logLogChart(series: Series[], axes: { x: string; y: string }): string {
  const W = 560;
  const H = 300;
  const pad = { l: 60, r: 150, t: 10, b: 40 };
  const all = series.flatMap((s) => s.points);
  const lx = all.map((p) => Math.log10(p.x));
  const ly = all.map((p) => Math.log10(Math.max(p.y, 1e-3)));
  const [x0, x1] = [Math.floor(Math.min(...lx)), Math.ceil(Math.max(...lx))];
  const [y0, y1] = [Math.floor(Math.min(...ly)), Math.ceil(Math.max(...ly))];
  const px = (v: number) => pad.l + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
  const py = (v: number) => H - pad.b - ((Math.log10(Math.max(v, 1e-3)) - y0) / (y1 - y0 || 1)) * (H - pad.t - pad.b);
  const parts: string[] = [];
  for (let e = x0; e <= x1; e++)
    parts.push(
      `<line x1="${px(10 ** e)}" y1="${pad.t}" x2="${px(10 ** e)}" y2="${H - pad.b}" class="grid"/><text x="${px(10 ** e)}" y="${H - pad.b + 14}" class="val" text-anchor="middle">${(10 ** e).toLocaleString("en-US")}</text>`,
    );
  for (let e = y0; e <= y1; e++)
    parts.push(
      `<line x1="${pad.l}" y1="${py(10 ** e)}" x2="${W - pad.r}" y2="${py(10 ** e)}" class="grid"/><text x="${pad.l - 4}" y="${py(10 ** e) + 4}" class="val" text-anchor="end">${(10 ** e).toLocaleString("en-US")}</text>`,
    );
  parts.push(`<text x="${(pad.l + W - pad.r) / 2}" y="${H - 6}" class="val" text-anchor="middle">${esc(axes.x)}</text>`);
  parts.push(
    `<text x="12" y="${(pad.t + H - pad.b) / 2}" class="val" transform="rotate(-90 12 ${(pad.t + H - pad.b) / 2})" text-anchor="middle">${esc(axes.y)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points)
      parts.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.label}: ${p.x.toLocaleString("en-US")} steps, ${p.y.toFixed(1)} ms`)}</title></circle>`,
      );
    const last = s.points.at(-1);
    const firstP = s.points[0];
    if (last && firstP) {
      // Linear growth through the last point, back to the first size: where the line would be if it were linear.
      const yAtFirst = last.y * (firstP.x / last.x);
      parts.push(
        `<line x1="${px(firstP.x).toFixed(1)}" y1="${py(yAtFirst).toFixed(1)}" x2="${px(last.x).toFixed(1)}" y2="${py(last.y).toFixed(1)}" stroke="${s.color}" class="guide"/>`,
      );
    }
    parts.push(
      `<rect x="${W - pad.r + 12}" y="${pad.t + i * 18}" width="12" height="12" fill="${s.color}"/><text x="${W - pad.r + 28}" y="${pad.t + i * 18 + 10}" class="val">${esc(s.label)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>`;
}
