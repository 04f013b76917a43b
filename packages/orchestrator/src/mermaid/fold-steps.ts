import type { ConsolidatedContent, ConsolidatedStep, ConsolidatedStepStatus } from "../consolidated-content.js";
import { countedGrouped, grouped } from "../counted.js";
import type { RunChecks } from "./check-notes.js";
import { buildFlowModel, type FlowStepState, orderedSteps } from "./flow-model.js";
import { type StatusClass, statusStyle, statusWords } from "./step-status.js";

/**
 * Runs of up to this many steps are drawn whole. Mermaid lays a 3,000-step run out for about a minute
 * and then overflows its stack; a few hundred nodes draw in a second or two.
 */
export const MAX_DRAWN_STEPS = 100;
/** Of a longer run, the first and the last this many steps are drawn, so its start and end read as they were. */
const ENDS = 10;
/** And between them at most this many steps that did not succeed (or failed a check); the rest are folded. */
const NOTABLE = MAX_DRAWN_STEPS / 2 - 2 * ENDS;

/** A box the diagram draws for consecutive steps it does not draw one by one; its lines are counts from the stored steps. */
export type FoldedSteps = Omit<FlowStepState, "stepIndex"> & {
  stepIndex: null;
  count: number;
  /** The state id of its first step: the box links to that step's row in the step table. */
  firstStateId: string;
};

export type DiagramNode = FlowStepState | FoldedSteps;

/** @internal */
export function foldLines(steps: readonly ConsolidatedStep[], checks: RunChecks | undefined): string[] {
  const outcomes = new Map<ConsolidatedStepStatus, number>();
  for (const step of steps) outcomes.set(step.status, (outcomes.get(step.status) ?? 0) + 1);
  const [only] = outcomes.keys();
  const lines =
    outcomes.size === 1 && only !== undefined
      ? [`${countedGrouped(steps.length, "step")}, all ${statusWords(only)}`]
      : [countedGrouped(steps.length, "step"), ...[...outcomes].map(([status, n]) => `${grouped(n)} ${statusWords(status)}`)];
  lines.push(
    countedGrouped(
      steps.reduce((sum, step) => sum + step.tool_calls.length, 0),
      "tool call",
    ),
  );
  const verdicts = steps.flatMap((step) => checks?.steps.get(step.step_index) ?? []);
  const failed = verdicts.filter((verdict) => !verdict.passed).length;
  if (verdicts.length > 0) {
    lines.push(
      failed === 0
        ? `✓ expect held on ${countedGrouped(verdicts.length, "step")}`
        : `✗ expect failed on ${grouped(failed)} of ${countedGrouped(verdicts.length, "step")}`,
    );
  }
  return lines;
}

function foldNode(steps: readonly ConsolidatedStep[], firstStateId: string, checks: RunChecks | undefined): FoldedSteps {
  const first = steps[0]?.step_index;
  const last = steps.at(-1)?.step_index;
  const classes = new Set<StatusClass>(steps.map((step) => statusStyle(step.status).className));
  const [onlyClass] = classes;
  return {
    // "steps_" cannot clash with a step's "step_<index>_…" id nor with "no_steps".
    id: `steps_${first}_to_${last}`,
    stepIndex: null,
    count: steps.length,
    firstStateId,
    title: `⋯ Steps ${grouped(first ?? 0)}–${grouped(last ?? 0)}`,
    lines: foldLines(steps, checks),
    className: classes.size === 1 && onlyClass !== undefined ? onlyClass : "unknown",
  };
}

/**
 * The boxes the diagram draws, top to bottom. A run of up to MAX_DRAWN_STEPS steps: one per step, as
 * always. A longer one: its first and last ENDS steps, and the first NOTABLE steps between them that
 * did not succeed or failed an `expect` check, each as its own box; every run of two or more
 * consecutive steps between those is folded into one box that counts them (steps, outcomes, tool
 * calls, verdicts). Every step stays in the report's step table.
 */
export function diagramNodes(content: ConsolidatedContent, checks: RunChecks | undefined): DiagramNode[] {
  const states = buildFlowModel(content).steps;
  if (states.length <= MAX_DRAWN_STEPS) return states;
  const steps = orderedSteps(content);
  let notable = 0;
  const drawn = steps.map((step, i) => {
    if (i < ENDS || i >= steps.length - ENDS) return true;
    const stands = step.status !== "success" || checks?.steps.get(step.step_index)?.passed === false;
    if (!stands || notable === NOTABLE) return false;
    notable += 1;
    return true;
  });
  const nodes: DiagramNode[] = [];
  let folded: number[] = [];
  const flush = () => {
    const [only] = folded;
    if (folded.length === 1 && only !== undefined) nodes.push(states[only] as FlowStepState);
    else if (folded.length > 1)
      nodes.push(
        foldNode(
          folded.map((i) => steps[i] as ConsolidatedStep),
          (states[only as number] as FlowStepState).id,
          checks,
        ),
      );
    folded = [];
  };
  for (const i of steps.keys()) {
    if (!drawn[i]) {
      folded.push(i);
      continue;
    }
    flush();
    nodes.push(states[i] as FlowStepState);
  }
  flush();
  return nodes;
}

/**
 * What a page says above a folded diagram, or undefined when every step is drawn: the drawing alone
 * would not say that most of the run is in a few boxes, nor where each step is.
 */
export function foldedDiagramNote(content: ConsolidatedContent, checks: RunChecks | undefined): string | undefined {
  const nodes = diagramNodes(content, checks);
  const folds = nodes.filter((node): node is FoldedSteps => node.stepIndex === null);
  if (folds.length === 0) return undefined;
  const hidden = folds.reduce((sum, fold) => sum + fold.count, 0);
  return (
    `This run has ${countedGrouped(content.steps.length, "step")}, more than the diagram draws one by one (${MAX_DRAWN_STEPS}): ` +
    `it shows ${countedGrouped(content.steps.length - hidden, "step")} one by one (the first and last ${ENDS}, and up to ${NOTABLE} ` +
    `that did not succeed or failed a check) and folds the other ${grouped(hidden)} into ${countedGrouped(folds.length, "box", "boxes")} with their counts. ` +
    "Every step is in the Steps table below."
  );
}

/** Where a folded box leads: the row of its first step, and the words of its tooltip. */
export type FoldLink = { row: string; summary: string };

/**
 * Each folded box's link, by its state id: the step table's row of the first step it folds (`step-<state id>`,
 * as a drawn box's), and a one-line summary of what it counts. Empty when every step is drawn.
 */
export function foldLinks(content: ConsolidatedContent, checks: RunChecks | undefined): Record<string, FoldLink> {
  const links: Record<string, FoldLink> = {};
  for (const node of diagramNodes(content, checks)) {
    if (node.stepIndex !== null) continue;
    links[node.id] = { row: `step-${node.firstStateId}`, summary: [node.title.replace(/^⋯ /, ""), ...node.lines].join(" · ") };
  }
  return links;
}

/** The state ids of the steps the diagram draws one by one: every step's, unless the run is longer than MAX_DRAWN_STEPS. */
export function drawnStateIds(content: ConsolidatedContent, checks: RunChecks | undefined): Set<string> {
  return new Set(diagramNodes(content, checks).flatMap((node) => (node.stepIndex === null ? [] : [node.id])));
}
