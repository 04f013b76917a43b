import { type Align, headerLines, resultTables } from "./report-tables.js";
import type { BenchResults } from "./results.js";

/** A plain-text table: a header, a rule, the rows; columns padded to their widest cell. */
function table(header: string[], rows: string[][], align: Align[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (align[i] === "r" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The whole run for stdout: the header, then each scenario's table with its notes. */
export function formatResults(results: BenchResults): string {
  const sections = resultTables(results).map((t) =>
    [t.title, ...t.notes.map((note) => `  ${note}`), table(t.header, t.rows, t.align)].join("\n"),
  );
  return [headerLines(results).join("\n"), ...sections].join("\n\n");
}
