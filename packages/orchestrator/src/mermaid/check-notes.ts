import type { StoredCheckResult } from "@reev/db";
import { escapeMermaidText } from "./escape-mermaid-text.js";
import { truncateText } from "./truncate-text.js";

/** A run's stored `expect` verdicts: the flow's own and each step's by step index (see DatabaseWriter.getChecks). */
export type RunChecks = { flow: StoredCheckResult | null; steps: ReadonlyMap<number, StoredCheckResult> };

const NOTE_LINE = 60;

/** The lines of a verdict's note: a heading, then one line per failed check with its reason. */
export function checkNoteLines(result: StoredCheckResult): string[] {
  const failed = result.checks.filter((c) => !c.passed);
  if (!failed.length) return [`✓ expect: ${result.checks.length === 1 ? "1 check" : `${result.checks.length} checks`} held`];
  return [
    `✗ expect: ${failed.length} of ${result.checks.length} failed`,
    ...failed.map((c) => truncateText(`${c.check}: ${c.reason ?? "failed"}`, NOTE_LINE)),
  ];
}

/** A Mermaid note beside the state `id`, its lines escaped. */
export function mermaidNote(id: string, lines: readonly string[]): string[] {
  return [`note right of ${id}`, ...lines.map((line) => `    ${escapeMermaidText(line)}`), "end note"];
}
