import type { StoredCheckResult } from "@reev/db";
import { escapeMermaidText } from "./escape-mermaid-text.js";
import { truncateText } from "./truncate-text.js";

/** A run's stored `expect` verdicts: the flow's own and each step's by step index (see DatabaseWriter.getChecks). */
export type RunChecks = { flow: StoredCheckResult | null; steps: ReadonlyMap<number, StoredCheckResult> };

const NOTE_LINE = 60;

const checkCount = (n: number) => (n === 1 ? "1 check" : `${n} checks`);

/** A verdict in a few words, as a table cell: "✓ 3 checks", "✗ tools, order" (the failed ones), or "—" without one. */
export function checksCell(result: StoredCheckResult | null | undefined): string {
  if (!result) return "—";
  if (result.passed) return `✓ ${checkCount(result.checks.length)}`;
  return `✗ ${result.checks
    .filter((c) => !c.passed)
    .map((c) => c.check)
    .join(", ")}`;
}

/** The lines of a verdict's note: a heading, then one line per failed check with its reason. */
export function checkNoteLines(result: StoredCheckResult): string[] {
  const failed = result.checks.filter((c) => !c.passed);
  if (!failed.length) return [`✓ expect: ${checkCount(result.checks.length)} held`];
  return [
    `✗ expect: ${failed.length} of ${result.checks.length} failed`,
    ...failed.map((c) => truncateText(`${c.check}: ${c.reason ?? "failed"}`, NOTE_LINE)),
  ];
}

/** A Mermaid note beside the state `id`, its lines escaped. */
export function mermaidNote(id: string, lines: readonly string[], side: "left" | "right" = "right"): string[] {
  return [`note ${side} of ${id}`, ...lines.map((line) => `    ${escapeMermaidText(line)}`), "end note"];
}
