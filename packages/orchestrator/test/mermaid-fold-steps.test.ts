import { readFileSync } from "node:fs";
import type { StoredCheckResult } from "@reev/db";
import { describe, expect, it } from "vitest";
import type { ConsolidatedContent, ConsolidatedStep } from "../src/consolidated-content.js";
import { foldedDiagramNote, renderFlowDiagram, renderHtmlPage } from "../src/mermaid/index.js";

const fourStep = JSON.parse(readFileSync(new URL("./golden/reev-4-step.input.json", import.meta.url), "utf8")) as ConsolidatedContent;
const [succeeded, failed] = fourStep.steps as [ConsolidatedStep, ConsolidatedStep];

/** A run of `count` steps, each the 4-step fixture's succeeded step (one tool call) but those in `failing`, its failed one. */
function run(count: number, failing: readonly number[] = []): ConsolidatedContent {
  const steps = Array.from({ length: count }, (_, i) => ({
    ...(failing.includes(i) ? failed : succeeded),
    step_index: i,
    session_id: `session-${i}`,
    step_id: `s${i}`,
  }));
  return { ...fourStep, steps, metadata: { ...fourStep.metadata, total_steps: count } };
}

/** The ids of the boxes drawn, in order. */
const drawnIds = (diagram: string) => [...diagram.matchAll(/^\s*state "[^"\n]*" as (\S+)/gm)].map((m) => m[1]);

/** A box's heading and lines as the diagram declares them. */
function box(diagram: string, id: string): string[] {
  const title = new RegExp(`^\\s*state "([^"\\n]*)" as ${id}$`, "m").exec(diagram)?.[1];
  const lines = [...diagram.matchAll(new RegExp(`^\\s*${id} : (.*)$`, "gm"))].map((m) => m[1] ?? "");
  return title === undefined ? [] : [title, ...lines];
}

describe("a long run's diagram folds its unremarkable stretches", () => {
  it("draws a run of 100 steps one box per step, as ever, with no note", () => {
    const diagram = renderFlowDiagram(run(100));
    expect(drawnIds(diagram)).toHaveLength(100);
    expect(diagram).not.toContain("⋯");
    expect(foldedDiagramNote(run(100), undefined)).toBeUndefined();
  });

  it("from 101 steps on, draws the first and last ten and counts the steps between in one box", () => {
    const diagram = renderFlowDiagram(run(3000));
    const ids = drawnIds(diagram);
    expect(ids).toEqual([...ids.slice(0, 10), "steps_10_to_2989", ...ids.slice(11)]);
    expect(ids).toHaveLength(21);
    expect(box(diagram, "steps_10_to_2989")).toEqual(["⋯ Steps 10–2,989", "2,980 steps, all succeeded", "2,980 tool calls"]);
    expect(diagram).toContain("step_9_s9 --> steps_10_to_2989\n    steps_10_to_2989 --> step_2990_s2990\n");
    expect(diagram).toMatch(/^ {4}class .*steps_10_to_2989.* success$/m);
    expect(foldedDiagramNote(run(3000), undefined)).toBe(
      "This run has 3,000 steps, more than the diagram draws one by one (100): it shows 20 steps one by one " +
        "(the first and last 10, and up to 30 that did not succeed or failed a check) and folds the other 2,980 " +
        "into 1 box with their counts. Every step is in the Steps table below.",
    );
  });

  it("draws every failed step between, and a lone step between two drawn ones as itself, not as a box of one", () => {
    const diagram = renderFlowDiagram(run(200, [50, 52, 150]));
    expect(drawnIds(diagram)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `step_${i}_s${i}`),
      "steps_10_to_49",
      "step_50_s50",
      "step_51_s51",
      "step_52_s52",
      "steps_53_to_149",
      "step_150_s150",
      "steps_151_to_189",
      ...Array.from({ length: 10 }, (_, i) => `step_${190 + i}_s${190 + i}`),
    ]);
  });

  it("past 30 notable steps, folds the rest too, and the box counts each outcome", () => {
    const failing = Array.from({ length: 40 }, (_, i) => 20 + 2 * i);
    const diagram = renderFlowDiagram(run(150, failing));
    // The 30th failed step is step 78; from 79 to 139 (61 steps) 10 failed and 51 succeeded.
    expect(drawnIds(diagram)).toContain("step_78_s78");
    expect(box(diagram, "steps_79_to_139")).toEqual(["⋯ Steps 79–139", "61 steps", "51 succeeded", "10 failed", "61 tool calls"]);
    expect(diagram).toMatch(/^ {4}class .*steps_79_to_139.* unknown$/m);
  });

  it("keeps a step whose expect failed, with its note, and counts the folded steps' verdicts", () => {
    const held = { passed: true, checks: [{ check: "tools", passed: true, reason: null }] };
    const broke = { passed: false, checks: [{ check: "tools", passed: false, reason: "delete was called" }] };
    const steps = new Map<number, StoredCheckResult>([
      [20, held],
      [21, held],
      [60, broke],
    ]);
    const diagram = renderFlowDiagram(run(120), { checks: { flow: null, steps } });
    expect(box(diagram, "steps_10_to_59")).toEqual([
      "⋯ Steps 10–59",
      "50 steps, all succeeded",
      "50 tool calls",
      "✓ expect held on 2 steps",
    ]);
    expect(diagram).toContain(
      "note right of step_60_s60\n        ✗ expect#58; 1 of 1 failed\n        tools#58; delete was called\n    end note",
    );
    // No note points at a step the diagram does not draw (Mermaid would draw a stray state for it).
    expect(diagram).not.toMatch(/note \w+ of step_2[01]_/);
  });

  it("the HTML report says what is folded above the diagram", () => {
    const content = run(101);
    const page = renderHtmlPage(content, {
      execution: {
        executionId: content.execution_id,
        status: "completed",
        error: null,
        consolidation: { status: "completed", error: null, updatedAt: null },
      },
    });
    expect(page).toContain('<p class="diagram-note">This run has 101 steps, more than the diagram draws one by one (100)');
    expect(page).toContain("⋯ Steps 10–90");
    // The folded box's link, for the report's script: the row of its first step, and what it counts.
    const folds = JSON.parse(/ data-folds="([^"]*)"/.exec(page)?.[1]?.replaceAll("&quot;", '"') ?? "{}");
    expect(folds).toEqual({
      steps_10_to_90: { row: "step-step_10_s10", summary: "Steps 10–90 · 81 steps, all succeeded · 81 tool calls" },
    });
  });

  it("a report of up to 100 steps has no folded box to link, and its page has no place for one", () => {
    const content = run(100);
    const page = renderHtmlPage(content, {
      execution: {
        executionId: content.execution_id,
        status: "completed",
        error: null,
        consolidation: { status: "completed", error: null, updatedAt: null },
      },
    });
    expect(page).not.toContain(' data-folds="');
    expect(page.match(/<tr id="step-/g)).toHaveLength(100);
  });
});
