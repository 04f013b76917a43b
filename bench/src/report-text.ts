import type { BenchResults } from "./results.js";

type Align = "l" | "r";

/** A plain-text table: a header, a rule, the rows; columns padded to their widest cell. */
export function table(header: string[], rows: string[][], align: Align[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (align[i] === "r" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const rate = (v: number) => Math.round(v).toLocaleString("en-US");
export const times = (v: number) => `${v.toFixed(2)}×`;

/** One table per backend (writer and raw on adjacent lines), then the ratios side by side. */
export function formatResults(results: BenchResults): string {
  const out: string[] = [];
  const { config } = results;
  out.push(
    `reev bench: DatabaseWriter vs raw driver — ${results.date}`,
    `${results.machine.cpus}× ${results.machine.cpuModel}, Node ${results.machine.node}, ` +
      `load average ${results.machine.loadAverage.before.toFixed(1)} → ${results.machine.loadAverage.after.toFixed(1)}; ` +
      `N=${config.steps} steps per round, median of ${config.rounds} rounds, ${config.concurrency} parallel executions, ` +
      `${config.txSteps} steps per execution transaction, ${config.warmup} warm-up steps per side`,
    "",
  );
  for (const backend of results.backends) {
    if (backend.skipped) {
      out.push(`${backend.name}: skipped — ${backend.skipped}`, "");
      continue;
    }
    out.push(`${backend.name} (${backend.description})`);
    const rows: string[][] = [];
    for (const c of backend.cases) {
      for (const label of ["writer", "raw"] as const) {
        const s = c[label];
        rows.push([
          label === "writer" ? c.label : "",
          label === "writer" ? String(c.ops) : "",
          label,
          ms(s.totalMs),
          s.roundsMs.map(ms).join(" / "),
          rate(s.perSecond),
          ms(s.p50Ms),
          ms(s.p95Ms),
          ms(s.cpuMsPerOp),
          label === "writer" ? times(c.ratio) : "",
        ]);
      }
    }
    out.push(
      table(
        ["case", "ops", "side", "median ms", "rounds ms", "ops/s", "p50 ms", "p95 ms", "cpu ms/op", "writer÷raw"],
        rows,
        ["l", "r", "l", "r", "r", "r", "r", "r", "r", "r"],
      ),
      "",
    );
  }
  const measured = results.backends.filter((b) => !b.skipped);
  if (measured.length) {
    out.push("writer ÷ raw, median round (writer ops/s vs raw ops/s)");
    const labels = measured[0]!.cases.map((c) => c.label);
    out.push(
      table(
        ["case", ...measured.map((b) => b.name)],
        labels.map((label, i) => [
          label,
          ...measured.map((b) => {
            const c = b.cases[i]!;
            return `${times(c.ratio)} (${rate(c.writer.perSecond)} vs ${rate(c.raw.perSecond)}/s)`;
          }),
        ]),
        ["l", ...measured.map(() => "r" as const)],
      ),
    );
  }
  return out.join("\n");
}
