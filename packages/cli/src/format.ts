import type { StepResult } from "../ping-pong-executor.js";

export const STATUS_ICON: Record<string, string> = {
  success: "✅",
  completed: "✅",
  failed: "❌",
  timed_out: "⏱️",
  timeout: "⏱️",
  skipped: "⏭️",
  rolled_back: "↩️",
  running: "…",
  unknown: "?",
};

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}

export const formatScore = (score: number | null | undefined) => (score === null || score === undefined ? "—" : score.toFixed(2));
export const formatPercent = (value: number | null | undefined) => (value === null || value === undefined ? "—" : `${value.toFixed(1)}%`);
export const statusLabel = (status: string) => `${STATUS_ICON[status] ?? ""} ${status}`.trim();

export function stepLine(step: StepResult): string {
  const retries = step.attempts > 1 ? ` after ${step.attempts} attempts` : "";
  const error = step.error ? ` — ${step.error}` : "";
  const tools = step.toolCalls.length === 1 ? "1 tool call" : `${step.toolCalls.length} tool calls`;
  return `${statusLabel(step.status)} step ${step.stepIndex} ${step.stepId} (${formatDuration(step.durationMs)}${retries}, ${tools})${error}`;
}
