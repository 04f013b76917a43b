import type { ConsolidatedContent, ConsolidatedStep } from "../consolidated-content.js";
import { formatDuration } from "../format-duration.js";
import { StateIdRegistry } from "./state-ids.js";
import { type StatusClass, statusStyle } from "./step-status.js";
import { truncateText } from "./truncate-text.js";

/**
 * Limits in graphemes. A node is at most about 40 characters wide, so a run of any length stays one
 * narrow column whose text is drawn at full size; the whole story is in the report's step table.
 */
const LIMITS = {
  name: 36,
  line: 40,
} as const;

export type FlowStepState = {
  id: string;
  stepIndex: number;
  /** The node's heading, e.g. `❌ Step 7 · borrow_sol`. */
  title: string;
  /** The node's short lines under the heading: tool calls, outcome, error. */
  lines: string[];
  className: StatusClass;
};

/**
 * Everything the diagram shows, as plain (unescaped) text. Kept apart from the Mermaid syntax so
 * tests can check that exactly this text survives a real render.
 */
export type FlowModel = { steps: FlowStepState[] };

export const EMPTY_RUN_STATE = { id: "no_steps", label: "No steps recorded" } as const;

function stepName(step: ConsolidatedStep): string {
  const raw = step.step_id ?? step.tool_calls[0]?.tool_name ?? `step ${step.step_index}`;
  return truncateText(raw, LIMITS.name);
}

/** The step's own error, or else the error of the tool call that failed it. @internal */
export function stepError(step: ConsolidatedStep): string | null {
  if (step.error !== null) return step.error;
  if (step.status === "success") return null;
  return step.tool_calls.find((call) => call.success === false && call.error !== null)?.error ?? null;
}

function toolsLine(step: ConsolidatedStep): string {
  const names = step.tool_calls.map((call) => call.tool_name);
  if (names.length === 0) return "no tool calls";
  const prefix = names.length === 1 ? "" : `${names.length} tools: `;
  return truncateText(`${prefix}${names.join(" → ")}`, LIMITS.line);
}

function outcomeLine(step: ConsolidatedStep): string {
  const parts = [statusStyle(step.status).label];
  if (step.duration_ms !== null) parts.push(formatDuration(step.duration_ms));
  // Only a recorded count is shown; one attempt is the normal case and needs no words.
  if (step.attempts !== undefined && step.attempts > 1) parts.push(`${step.attempts} attempts`);
  return parts.join(" · ");
}

function nodeLines(step: ConsolidatedStep): string[] {
  const error = stepError(step);
  // A skipped step's "error" is why it was skipped, not something that went wrong in it.
  if (step.status === "skipped") {
    const reason = error?.replace(/^skipped:\s*/i, "");
    return [toolsLine(step), truncateText(reason ? `SKIPPED · ${reason}` : "SKIPPED", LIMITS.line)];
  }
  const lines = [toolsLine(step), outcomeLine(step)];
  if (error !== null) lines.push(truncateText(`Error: ${error}`, LIMITS.line));
  return lines;
}

/** Steps in step_index order; equal indexes keep their stored order (the sort is stable). @internal */
export function orderedSteps(content: ConsolidatedContent): ConsolidatedStep[] {
  return [...content.steps].sort((a, b) => a.step_index - b.step_index);
}

/**
 * Models already built, by document: a page asks for one several times (its diagram, its note, its
 * links, its table), and over 3,000 steps each build took a tenth of a second. Documents are never changed once parsed.
 */
const built = new WeakMap<ConsolidatedContent, FlowModel>();

export function buildFlowModel(content: ConsolidatedContent): FlowModel {
  const cached = built.get(content);
  if (cached) return cached;
  const model = modelOf(content);
  built.set(content, model);
  return model;
}

function modelOf(content: ConsolidatedContent): FlowModel {
  const ids = new StateIdRegistry();
  ids.claim(EMPTY_RUN_STATE.id);
  const steps = orderedSteps(content).map((step): FlowStepState => {
    const style = statusStyle(step.status);
    const name = stepName(step);
    return {
      id: ids.claim("step", String(step.step_index), name),
      stepIndex: step.step_index,
      title: `${style.emoji} Step ${step.step_index} · ${name}`,
      lines: nodeLines(step),
      className: style.className,
    };
  });
  return { steps };
}
