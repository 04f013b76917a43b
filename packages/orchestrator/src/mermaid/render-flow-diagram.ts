import type { ConsolidatedContent } from "../consolidated-content.js";
import { unrunStepsWords } from "../unrun-steps.js";
import { checkNoteLines, mermaidNote, type RunChecks } from "./check-notes.js";
import { escapeMermaidText } from "./escape-mermaid-text.js";
import { EMPTY_RUN_STATE } from "./flow-model.js";
import { type DiagramNode, diagramNodes } from "./fold-steps.js";
import { parseConsolidatedContent } from "./parse-consolidated-content.js";
import { STATUS_CLASS_DEFS, type StatusClass } from "./step-status.js";

const INDENT = "    ";

/** One simple state per box: its heading, then one description line per short fact. */
function stateLines(nodes: readonly DiagramNode[]): string[] {
  return nodes.flatMap((step) => [
    `state "${escapeMermaidText(step.title)}" as ${step.id}`,
    ...step.lines.map((line) => `${step.id} : ${escapeMermaidText(line)}`),
  ]);
}

/** Unlabelled arrows: the outcome is in the node, so nothing widens the column between steps. */
function transitionLines(nodes: readonly DiagramNode[]): string[] {
  const ids = nodes.length === 0 ? [EMPTY_RUN_STATE.id] : nodes.map((step) => step.id);
  return ["[*]", ...ids].map((id, i) => `${id} --> ${ids[i] ?? "[*]"}`);
}

function classLines(nodes: readonly DiagramNode[]): string[] {
  const members = new Map<StatusClass, string[]>();
  const add = (className: StatusClass, id: string) => members.set(className, [...(members.get(className) ?? []), id]);
  if (nodes.length === 0) add("unknown", EMPTY_RUN_STATE.id);
  for (const step of nodes) add(step.className, step.id);
  return STATUS_CLASS_DEFS.flatMap(([className]) => {
    const ids = members.get(className);
    return ids === undefined ? [] : [`class ${ids.join(",")} ${className}`];
  });
}

/**
 * Draws a consolidated run as Mermaid `stateDiagram-v2` text, top to bottom: one state per step
 * with short lines (its tool calls, outcome, duration, attempts and error, each cut to about 40
 * characters), plain arrows in step order, and status classes. Short nodes in one column keep a
 * 50-step run readable at full size; the details live in the HTML report's step table. A run of more
 * than MAX_DRAWN_STEPS steps folds its unremarkable stretches into boxes that count them (see
 * diagramNodes), so Mermaid can still lay it out. Pure and
 * deterministic: the same content always yields the same bytes.
 *
 * @throws DiagramError with code INVALID_CONTENT when the content is not valid JSON or fails the schema.
 */
export function renderFlowDiagram(
  consolidatedContent: string | ConsolidatedContent,
  /** `executionMetadata` and `executionStatus`: the execution's plan and status, for the note on planned steps not recorded. */
  options: { checks?: RunChecks; executionMetadata?: unknown; executionStatus?: string } = {},
): string {
  return flowDiagramSource(
    parseConsolidatedContent(consolidatedContent),
    options.checks,
    options.executionMetadata,
    options.executionStatus,
  );
}

/**
 * The side of a note on the state `id`. Mermaid lays a note "right of" a state out as a node on the
 * rank below it, beside the end marker: under the last step one pushed the marker far to the left,
 * away from the flow. "left of" puts it on the rank above, so the end stays under the last step.
 */
const noteSide = (id: string, nodes: readonly DiagramNode[]) => (id === (nodes.at(-1)?.id ?? EMPTY_RUN_STATE.id) ? "left" : "right");

/**
 * A run cut short (its process died, reev recover finished it) draws only the steps it recorded: a
 * note beside the last says how many planned steps are missing, or the drawing reads as the whole run.
 * `executionMetadata` is the execution's, with its plan.
 */
function unrunNote(
  nodes: readonly DiagramNode[],
  recordedSteps: number,
  executionMetadata: unknown,
  executionStatus: string | undefined,
): string[] {
  const words = unrunStepsWords(executionMetadata, recordedSteps, executionStatus);
  const id = nodes.at(-1)?.id ?? EMPTY_RUN_STATE.id;
  return words ? mermaidNote(id, [words], noteSide(id, nodes)) : [];
}

/** A note beside each step that has an `expect` verdict, and the flow's own beside the last step. */
function checkNotes(nodes: readonly DiagramNode[], checks: RunChecks | undefined): string[] {
  if (!checks) return [];
  const notes = nodes.flatMap((step) => {
    const result = step.stepIndex === null ? undefined : checks.steps.get(step.stepIndex);
    return result ? mermaidNote(step.id, checkNoteLines(result), noteSide(step.id, nodes)) : [];
  });
  const last = nodes.at(-1);
  if (checks.flow && last) notes.push(...mermaidNote(last.id, ["flow", ...checkNoteLines(checks.flow)], noteSide(last.id, nodes)));
  return notes;
}

/** renderFlowDiagram for content already parsed and checked (the HTML page parses it once for both). @internal */
export function flowDiagramSource(
  content: ConsolidatedContent,
  checks?: RunChecks,
  executionMetadata?: unknown,
  executionStatus?: string,
): string {
  const nodes = diagramNodes(content, checks);
  const body = [
    "direction TB",
    ...STATUS_CLASS_DEFS.map(([className, css]) => `classDef ${className} ${css}`),
    ...(nodes.length === 0 ? [`state "${escapeMermaidText(EMPTY_RUN_STATE.label)}" as ${EMPTY_RUN_STATE.id}`] : []),
    ...stateLines(nodes),
    ...transitionLines(nodes),
    ...checkNotes(nodes, checks),
    ...unrunNote(nodes, content.metadata.total_steps, executionMetadata, executionStatus),
    ...classLines(nodes),
  ];
  return ["stateDiagram-v2", ...body.map((line) => INDENT + line)].join("\n") + "\n";
}
