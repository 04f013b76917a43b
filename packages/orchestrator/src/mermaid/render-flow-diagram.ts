import type { ConsolidatedContent } from "../consolidated-content.js";
import { escapeMermaidText } from "./escape-mermaid-text.js";
import { buildFlowModel, EMPTY_RUN_STATE, type FlowModel } from "./flow-model.js";
import { parseConsolidatedContent } from "./parse-consolidated-content.js";
import { STATUS_CLASS_DEFS, type StatusClass } from "./step-status.js";

const INDENT = "    ";

function stateLines(model: FlowModel): string[] {
  const lines: string[] = [];
  for (const step of model.steps) {
    const title = escapeMermaidText(step.title);
    if (step.tools.length === 0) {
      lines.push(`state "${title}" as ${step.id}`);
      continue;
    }
    lines.push(`state "${title}" as ${step.id} {`);
    for (const tool of step.tools) lines.push(`${INDENT}state "${escapeMermaidText(tool.label)}" as ${tool.id}`);
    // Chained in call order so a step with several calls reads top to bottom.
    for (let k = 1; k < step.tools.length; k++) {
      lines.push(`${INDENT}${step.tools[k - 1]?.id} --> ${step.tools[k]?.id}`);
    }
    lines.push("}");
  }
  return lines;
}

function transitionLines(model: FlowModel): string[] {
  const first = model.steps[0];
  if (first === undefined) return [`[*] --> ${EMPTY_RUN_STATE.id}`, `${EMPTY_RUN_STATE.id} --> [*]`];
  const lines = [`[*] --> ${first.id}`];
  model.steps.forEach((step, i) => {
    const target = model.steps[i + 1]?.id ?? "[*]";
    // Each step's outcome labels the arrow leaving it, so the last step's outcome reaches [*].
    lines.push(`${step.id} --> ${target} : ${escapeMermaidText(step.transitionLabel)}`);
  });
  return lines;
}

function noteLines(model: FlowModel): string[] {
  return model.steps.map((step) => `note right of ${step.id} : ${step.noteLines.map(escapeMermaidText).join("<br/>")}`);
}

function classLines(model: FlowModel): string[] {
  const members = new Map<StatusClass, string[]>();
  const add = (className: StatusClass, id: string) => members.set(className, [...(members.get(className) ?? []), id]);
  if (model.steps.length === 0) add("unknown", EMPTY_RUN_STATE.id);
  for (const step of model.steps) {
    add(step.className, step.id);
    for (const tool of step.tools) add(tool.className, tool.id);
  }
  return STATUS_CLASS_DEFS.flatMap(([className]) => {
    const ids = members.get(className);
    return ids === undefined ? [] : [`class ${ids.join(",")} ${className}`];
  });
}

/**
 * Draws a consolidated run as Mermaid `stateDiagram-v2` text: one state per step (composite when
 * it made tool calls), transitions labelled with each step's outcome, a note per step, and
 * status classes. Pure and deterministic: the same content always yields the same bytes.
 *
 * @throws DiagramError with code INVALID_CONTENT when the content is not valid JSON or fails the schema.
 */
export function renderFlowDiagram(consolidatedContent: string | ConsolidatedContent): string {
  return flowDiagramSource(parseConsolidatedContent(consolidatedContent));
}

/** renderFlowDiagram for content already parsed and checked (the HTML page parses it once for both). @internal */
export function flowDiagramSource(content: ConsolidatedContent): string {
  const model = buildFlowModel(content);
  const body = [
    "direction TB",
    ...STATUS_CLASS_DEFS.map(([className, css]) => `classDef ${className} ${css}`),
    ...(model.steps.length === 0 ? [`state "${escapeMermaidText(EMPTY_RUN_STATE.label)}" as ${EMPTY_RUN_STATE.id}`] : []),
    ...stateLines(model),
    ...transitionLines(model),
    ...noteLines(model),
    ...classLines(model),
  ];
  return ["stateDiagram-v2", ...body.map((line) => INDENT + line)].join("\n") + "\n";
}
