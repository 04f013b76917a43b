import type { ConsolidationMetadata, ExecutionSessionRecord, ExecutionStatus, RunMark } from "@reev/db";
import {
  type CostGap,
  costUnknownNote,
  counted,
  formatDuration,
  formatPercent,
  formatUsd,
  type GlyphStatus,
  markedGlyph,
  type RunVerdict,
  runOutcomeWithChecks,
  type StepResult,
  statusGlyph,
  unrunStepsWords,
} from "@reev/orchestrator";
import { laterCommand, shellWord } from "./hint.js";

/** One time format and one way to count for the CLI, the HTML report and the viewer. */
export { utcStamp, utcTime } from "@reev/orchestrator";
export { counted };

/** A size in decimal units, as `du -h --si` and file managers say it: "912 kB", "3.4 MB", "827 MB". */
export function formatBytes(bytes: number): string {
  const [value, unit] =
    bytes >= 1e9 ? [bytes / 1e9, "GB"] : bytes >= 1e6 ? [bytes / 1e6, "MB"] : bytes >= 1e3 ? [bytes / 1e3, "kB"] : [bytes, "B"];
  return `${unit === "B" || value >= 10 ? Math.round(value) : value.toFixed(1)} ${unit}`;
}

export const formatScore = (score: number | null | undefined) => (score === null || score === undefined ? "—" : score.toFixed(2));
/** A status with its glyph, and a running execution's mark (`runMark`): "⚠️ running (abandoned)". */
export const statusLabel = (status: GlyphStatus, mark?: RunMark) => `${markedGlyph(status, mark)} ${status}${mark ? ` (${mark})` : ""}`;

/**
 * A finished run's status, its `expect` checks counted: "✅ completed" when none failed, else the
 * failed glyph and `reev eval`'s words for such a run, "❌ completed, failed a check (✗ swap › args)".
 */
export const runStatusLabel = (status: ExecutionStatus, verdict: RunVerdict | null) =>
  verdict && !verdict.passed ? `${statusGlyph("failed")} ${runOutcomeWithChecks(status, verdict)}` : statusLabel(status);

/**
 * A stored run's status as `reev show` and `reev list` say it: a running one's liveness mark ("⚠️
 * running (abandoned)"), else its checks counted (runStatusLabel), so the two never disagree on a run.
 */
export const executionStatusLabel = (status: ExecutionStatus, mark: RunMark, verdict: RunVerdict | null) =>
  mark ? statusLabel(status, mark) : runStatusLabel(status, verdict);

/**
 * Every call a step's attempts made, failed attempts' included: what is stored, and what the run's
 * tool-call total and the step tables count. (`toolCalls` is the last attempt's alone: what later
 * steps' templates see.)
 */
export const toolCallsMade = (step: StepResult) => step.attemptLog.reduce((n, a) => n + a.toolCalls.length, 0);

export function stepLine(step: StepResult): string {
  const retries = step.attempts > 1 ? ` after ${step.attempts} attempts` : "";
  const error = step.error ? ` — ${step.error}` : "";
  const tools = counted(toolCallsMade(step), "tool call");
  return `${statusLabel(step.status)} step ${step.stepIndex} ${step.stepId} (${formatDuration(step.durationMs)}${retries}, ${tools})${error}`;
}

const formatCount = (n: number | null | undefined) => (n === null || n === undefined ? "—" : String(n));

/**
 * A consolidated run's metrics on one line; what was not computed is "—" (the cost without a price
 * table, too). "steps time" is the same name as in the HTML report and the README: the first step's
 * start to the last step's end.
 */
export function metricsLine(m: ConsolidationMetadata): string {
  return [
    `success rate ${formatPercent(m.successRate)}`,
    `avg score ${formatScore(m.avgScore)}`,
    m.totalTools === null || m.totalTools === undefined ? "— tool calls" : counted(m.totalTools, "tool call"),
    `steps time ${formatDuration(m.executionDurationMs)}`,
    `tokens in ${formatCount(m.totalInputTokens)} / out ${formatCount(m.totalOutputTokens)}`,
    `cost ${formatUsd(m.costUsd)}`,
  ].join(" · ");
}

/**
 * Under the Metrics of show, status and consolidate: why the cost is "—", in the words `reev eval`
 * uses (costUnknownNote, from what the consolidation stored), and for a run a price file would price,
 * the command that prices it (none on memory://, gone with the command).
 */
export function costNoteFields(executionId: string, gaps: readonly CostGap[]): [string, string][] {
  const notes = costUnknownNote(gaps).map((note): [string, string] => ["", note]);
  const again = gaps.some((g) => g.reason === "no_prices" || g.reason === "unpriced")
    ? laterCommand(`consolidate ${shellWord(executionId)} --prices FILE`)
    : null;
  return again ? [...notes, ["", `${again} prices it.`]] : notes;
}

/**
 * The "Steps" field of `reev show` and `reev status`, under the Metrics of a finished run that has no
 * record of some planned steps (its process died, and reev recover finished it): the metrics count
 * only the steps its consolidation holds, and without it "success rate 100.0%" reads as the whole
 * run's. None otherwise, and none without a consolidation (no metrics to qualify).
 */
export function unrunStepsField(e: Pick<ExecutionSessionRecord, "status" | "metadata">, recordedSteps: number | null): [string, string][] {
  if (e.status === "running" || recordedSteps === null) return [];
  const unrun = unrunStepsWords(e.metadata, recordedSteps);
  return unrun ? [["Steps", `${unrun}: the metrics count the ${counted(recordedSteps, "recorded step")} only`]] : [];
}
