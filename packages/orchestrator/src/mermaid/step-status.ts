import type { ConsolidatedStepStatus } from "../consolidated-content.js";

/** The classDef names the diagram declares; tool calls and steps share them. */
export type StatusClass = "success" | "failure" | "timedout" | "skipped" | "unknown";

export type StatusStyle = {
  emoji: string;
  label: string;
  className: StatusClass;
};

const STYLES: Record<ConsolidatedStepStatus, StatusStyle> = {
  success: { emoji: "✅", label: "SUCCESS", className: "success" },
  failed: { emoji: "❌", label: "FAILED", className: "failure" },
  timed_out: { emoji: "⏱️", label: "TIMED OUT", className: "timedout" },
  skipped: { emoji: "⏭️", label: "SKIPPED", className: "skipped" },
  unknown: { emoji: "❔", label: "UNKNOWN", className: "unknown" },
};

export function statusStyle(status: ConsolidatedStepStatus): StatusStyle {
  return STYLES[status];
}

/** Colours chosen to stay readable as text on their fill (WCAG AA on the default theme). */
export const STATUS_CLASS_DEFS: ReadonlyArray<readonly [StatusClass, string]> = [
  ["success", "fill:#d4edda,stroke:#28a745,color:#155724"],
  ["failure", "fill:#f8d7da,stroke:#dc3545,color:#721c24"],
  ["timedout", "fill:#fff3cd,stroke:#d39e00,color:#856404"],
  ["skipped", "fill:#e2e3e5,stroke:#6c757d,color:#383d41,stroke-dasharray:4 3"],
  ["unknown", "fill:#f0f4ff,stroke:#6f7fa8,color:#2f3a56"],
];
