import type { ConsolidatedContent, ConsolidatedStep, ConsolidatedToolCall } from "../consolidated-content.js";
import { formatDuration } from "../format-duration.js";
import { StateIdRegistry } from "./state-ids.js";
import { type StatusClass, statusStyle } from "./step-status.js";
import { summarizeInput } from "./summarize-input.js";
import { truncateText } from "./truncate-text.js";

/** Limits in graphemes: long enough to recognise a value, short enough to keep boxes narrow. */
const LIMITS = {
  name: 40,
  error: 80,
  input: 60,
  toolList: 80,
  notedToolCalls: 3,
} as const;

export type FlowToolState = { id: string; label: string; className: StatusClass };

export type FlowStepState = {
  id: string;
  /** Heading of the step's (composite) state. */
  title: string;
  className: StatusClass;
  tools: FlowToolState[];
  /** Label of the transition leaving this step, e.g. `Step 0: balance_check ✅ SUCCESS | 4477ms`. */
  transitionLabel: string;
  /** One entry per note line; the renderer joins them with `<br/>`. */
  noteLines: string[];
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

function stepError(step: ConsolidatedStep): string | null {
  if (step.error !== null) return step.error;
  // A failed step without its own message is still explained by the tool call that failed.
  if (step.status === "success") return null;
  return step.tool_calls.find((call) => call.success === false && call.error !== null)?.error ?? null;
}

function transitionLabel(step: ConsolidatedStep): string {
  const style = statusStyle(step.status);
  const parts = [`Step ${step.step_index}: ${stepName(step)} ${style.emoji} ${style.label}`];
  const error = stepError(step);
  if (error !== null) parts.push(`Error: ${truncateText(error, LIMITS.error)}`);
  if (step.duration_ms !== null) parts.push(formatDuration(step.duration_ms));
  return parts.join(" | ");
}

function toolClass(call: ConsolidatedToolCall, step: ConsolidatedStep): StatusClass {
  if (call.success === true) return "success";
  if (call.success === false) return "failure";
  // No verdict of its own: a call in a skipped or timed-out step shares that fate.
  const stepClass = statusStyle(step.status).className;
  return stepClass === "skipped" || stepClass === "timedout" ? stepClass : "unknown";
}

function noteLines(step: ConsolidatedStep): string[] {
  const names = step.tool_calls.map((call) => truncateText(call.tool_name, LIMITS.name));
  const lines: string[] = [];
  if (names.length === 0) lines.push("Tools: none");
  else lines.push(truncateText(`${names.length === 1 ? "Tool" : "Tools"}: ${names.join(", ")}`, LIMITS.toolList));
  lines.push(`Step: ${step.step_id === null ? "(none)" : truncateText(step.step_id, LIMITS.name)}`);
  if (step.duration_ms !== null) lines.push(`Duration: ${formatDuration(step.duration_ms)}`);
  // A skipped step's score is a placeholder, not a judgement worth showing.
  if (step.score !== null && step.status !== "skipped") lines.push(`Score: ${Number(step.score.toFixed(3))}`);
  const noted = step.tool_calls.slice(0, LIMITS.notedToolCalls);
  noted.forEach((call, k) => {
    const summary = summarizeInput(call.input, LIMITS.input);
    if (summary === null) return;
    lines.push(noted.length === 1 ? `Input: ${summary}` : `Input ${k + 1}: ${summary}`);
  });
  const hidden = step.tool_calls.length - noted.length;
  if (hidden > 0) lines.push(`… and ${hidden} more tool call${hidden === 1 ? "" : "s"}`);
  return lines;
}

/** Steps in step_index order; equal indexes keep their stored order (the sort is stable). @internal */
export function orderedSteps(content: ConsolidatedContent): ConsolidatedStep[] {
  return [...content.steps].sort((a, b) => a.step_index - b.step_index);
}

export function buildFlowModel(content: ConsolidatedContent): FlowModel {
  const ids = new StateIdRegistry();
  ids.claim(EMPTY_RUN_STATE.id);
  const steps = orderedSteps(content).map((step): FlowStepState => {
    const style = statusStyle(step.status);
    const name = stepName(step);
    const id = ids.claim("step", String(step.step_index), name);
    const multiple = step.tool_calls.length > 1;
    const tools = step.tool_calls.map((call, k): FlowToolState => {
      const toolName = truncateText(call.tool_name, LIMITS.name);
      return {
        id: ids.claim(`s${step.step_index}`, `t${k}`, toolName),
        label: multiple ? `${k + 1}. ${toolName}` : toolName,
        className: toolClass(call, step),
      };
    });
    return {
      id,
      title: `${style.emoji} Step ${step.step_index} · ${name}`,
      className: style.className,
      tools,
      transitionLabel: transitionLabel(step),
      noteLines: noteLines(step),
    };
  });
  return { steps };
}
