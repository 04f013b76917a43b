import type { ConsolidatedStepStatus } from "../consolidated-content.js";
import { statusGlyph } from "../status-glyph.js";

/** The classDef names the diagram declares; tool calls and steps share them. */
export type StatusClass = "success" | "failure" | "timedout" | "skipped" | "unknown";

export type StatusStyle = {
  emoji: string;
  label: string;
  className: StatusClass;
};

const STYLES: Record<ConsolidatedStepStatus, Omit<StatusStyle, "emoji">> = {
  success: { label: "SUCCESS", className: "success" },
  failed: { label: "FAILED", className: "failure" },
  timed_out: { label: "TIMED OUT", className: "timedout" },
  skipped: { label: "SKIPPED", className: "skipped" },
  unknown: { label: "UNKNOWN", className: "unknown" },
};

/** How the diagram and the report show a step's status: the shared glyph, a label and a CSS class. */
export function statusStyle(status: ConsolidatedStepStatus): StatusStyle {
  return { emoji: statusGlyph(status), ...STYLES[status] };
}

const OUTCOME_WORDS: Record<ConsolidatedStepStatus, string> = {
  success: "succeeded",
  failed: "failed",
  timed_out: "timed out",
  skipped: "skipped",
  unknown: "with no status",
};

/** How a step ended, as words in a sentence ("3 steps, all succeeded"; "Step 2, swap: failed"). */
export const statusWords = (status: ConsolidatedStepStatus): string => OUTCOME_WORDS[status];

/** Colours chosen to stay readable as text on their fill (WCAG AA on the default theme). */
export const STATUS_CLASS_DEFS: ReadonlyArray<readonly [StatusClass, string]> = [
  ["success", "fill:#d4edda,stroke:#28a745,color:#155724"],
  ["failure", "fill:#f8d7da,stroke:#dc3545,color:#721c24"],
  ["timedout", "fill:#fff3cd,stroke:#d39e00,color:#856404"],
  ["skipped", "fill:#e2e3e5,stroke:#6c757d,color:#383d41,stroke-dasharray:4 3"],
  ["unknown", "fill:#f0f4ff,stroke:#6f7fa8,color:#2f3a56"],
];
