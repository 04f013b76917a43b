import type { ExecutionStatus } from "@reev/db";
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
