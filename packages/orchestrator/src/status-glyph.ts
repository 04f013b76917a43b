import type { ExecutionStatus, RunMark } from "@reev/db";
import type { ConsolidatedStepStatus } from "./consolidated-content.js";

/** A status reev draws with a glyph: a run's, or a step's. */
export type GlyphStatus = ExecutionStatus | ConsolidatedStepStatus;

/**
 * The one table of status glyphs, shared by the terminal, the diagram and the HTML report. Typed
 * against both status enums, so a new status cannot ship without its glyph.
 */
const GLYPHS = {
  success: "✅",
  completed: "✅",
  failed: "❌",
  timed_out: "⏱️",
  skipped: "⏭️",
  rolled_back: "↩️",
  cancelled: "⏹️",
  running: "…",
  unknown: "❔",
} as const satisfies Record<GlyphStatus, string>;

export function statusGlyph(status: GlyphStatus): string {
  return GLYPHS[status];
}

/** An abandoned run's glyph: "…" (still going) would contradict it, for it is going nowhere. */
const ABANDONED_GLYPH = "⚠️";

/** The glyph of a run with its mark (@reev/db's `runMark`): an abandoned run gets its own; a stale one may still be going. */
export const markedGlyph = (status: GlyphStatus, mark: RunMark): string => (mark === "abandoned" ? ABANDONED_GLYPH : statusGlyph(status));
