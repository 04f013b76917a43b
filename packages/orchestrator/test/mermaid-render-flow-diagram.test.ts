import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ConsolidatedContent } from "../src/consolidated-content.js";
import { buildFlowModel, DiagramError, parseConsolidatedContent, renderFlowDiagram } from "../src/mermaid/index.js";
import { graphemes } from "../src/mermaid/truncate-text.js";

const fixture = (name: string) => readFileSync(new URL(`./golden/${name}.input.json`, import.meta.url), "utf8");
const fourStepJson = fixture("reev-4-step");
const fourStep = JSON.parse(fourStepJson) as ConsolidatedContent;

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** Ids declared with `state "…" as id`: one per step. */
function declaredIds(diagram: string): string[] {
  return [...diagram.matchAll(/^\s*state "[^"\n]*" as ([^\s{]+)/gm)].map((m) => m[1] ?? "");
}

describe("renderFlowDiagram", () => {
  it("draws the reev 4-step flow top to bottom, one short node per step", () => {
    const diagram = renderFlowDiagram(fourStepJson);
    expect(diagram.startsWith("stateDiagram-v2\n    direction TB\n")).toBe(true);
    expect(diagram).toContain(
      [
        `    state "❌ Step 1 · complex_swap" as step_1_complex_swap`,
        "    step_1_complex_swap : jupiter_swap",
        "    step_1_complex_swap : FAILED · 22.41s",
        "    step_1_complex_swap : Error#58; Invalid parameters",
      ].join("\n"),
    );
    expect(diagram).toContain(
      [
        "    [*] --> step_0_balance_check",
        "    step_0_balance_check --> step_1_complex_swap",
        "    step_1_complex_swap --> step_2_complex_lend",
        "    step_2_complex_lend --> step_3_positions_check",
        "    step_3_positions_check --> [*]",
      ].join("\n"),
    );
    // Nothing that widens the column: no notes, no labelled arrows, no nested states.
    expect(diagram).not.toMatch(/note |--> \S+ :|\{$/m);
    expect(diagram).toMatch(/^ {4}classDef success /m);
    expect(diagram).toContain("class step_1_complex_swap,step_2_complex_lend failure\n");
    expect(diagram).toContain("class step_3_positions_check skipped\n");
  });

  it("keeps every node line short, however long the names, errors and tool lists", () => {
    const model = buildFlowModel(parseConsolidatedContent(fixture("nasty")));
    for (const step of model.steps) {
      expect(graphemes(step.title).length).toBeLessThanOrEqual(48);
      for (const line of step.lines) expect(graphemes(line).length).toBeLessThanOrEqual(40);
    }
  });

  it("labels timed-out steps and shows recorded retries", () => {
    const diagram = renderFlowDiagram(fixture("twelve-step"));
    expect(diagram).toContain("step_9_rebalance : TIMED OUT · 30.00s\n    step_9_rebalance : Error#58; Step timed out after 30000ms\n");
    expect(diagram).toContain("step_7_borrow_sol : FAILED · 2.43s · 3 attempts\n");
    expect(diagram).toContain("step_2_quote_swap : SUCCESS · 7.84s · 2 attempts\n");
    // One attempt is the normal case, and a document without counts never gets a guessed one.
    expect(diagram).toContain("step_0_fetch_prices : SUCCESS · 1.00s\n");
    expect(renderFlowDiagram(fourStepJson)).not.toContain("attempt");
  });

  it("accepts the JSON string and the parsed object alike", () => {
    expect(renderFlowDiagram(fourStep)).toBe(renderFlowDiagram(fourStepJson));
  });

  it("is deterministic", () => {
    const nasty = fixture("nasty");
    const first = renderFlowDiagram(nasty);
    for (let i = 0; i < 5; i++) expect(renderFlowDiagram(nasty)).toBe(first);
    expect(renderFlowDiagram(JSON.parse(nasty) as ConsolidatedContent)).toBe(first);
  });

  it("orders steps by step_index whatever the stored order", () => {
    const shuffled = { ...fourStep, steps: [...fourStep.steps].reverse() };
    expect(renderFlowDiagram(shuffled)).toBe(renderFlowDiagram(fourStep));
  });

  it("gives every state a unique, sanitised id even when names sanitise alike", () => {
    const diagram = renderFlowDiagram(fixture("nasty"));
    const ids = declaredIds(diagram);
    expect(ids).toHaveLength(JSON.parse(fixture("nasty")).steps.length);
    expect(new Set(ids.map((id) => id.toLowerCase())).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_]+$/);
    // Two steps sharing step_index 6 whose ids sanitise alike stay two states.
    expect(ids).toEqual(expect.arrayContaining(["step_6_deposit_usdc", "step_6_deposit_usdc_2"]));
  });

  it("keeps every user-text line free of raw Mermaid syntax", () => {
    const diagram = renderFlowDiagram(fixture("nasty"));
    const lines = diagram.split("\n");
    expect(lines.every((line) => !/%%|-->.*-->|\t|\r/.test(line))).toBe(true);
    for (const line of lines) {
      const description = /^\s*\w+ : (.*)$/.exec(line)?.[1];
      if (description !== undefined) expect(description).not.toMatch(/[":%<>&{}[\]`]|#(?!\d+;)/);
      const title = /^\s*state "(.*)" as /.exec(line)?.[1];
      if (title !== undefined) expect(title).not.toMatch(/[":%<>&{}[\]`]|#(?!\d+;)/);
    }
    expect(/\p{Cs}/u.test(diagram)).toBe(false);
  });

  it("gives a skipped step its reason, not an error line", () => {
    const diagram = renderFlowDiagram(fixture("twelve-step"));
    expect(diagram).toContain(
      "step_10_final_report : no tool calls\n    step_10_final_report : SKIPPED · critical step rebalance timed…\n",
    );
    expect(renderFlowDiagram(fourStepJson)).toContain("step_3_positions_check : SKIPPED\n");
  });

  it("says so when a step made no tool calls, and counts several", () => {
    const diagram = renderFlowDiagram(fixture("nasty"));
    expect(diagram).toContain('    state "❌ Step 2 · zero_tools" as step_2_zero_tools\n    step_2_zero_tools : no tool calls\n');
    expect(diagram).toContain("step_0_say_hi_ok_1_x_b : 4 tools#58; jupiter-swap → jupiter_swap →…\n");
  });

  it("draws a run with zero steps as a minimal valid diagram", () => {
    const diagram = renderFlowDiagram(fixture("empty"));
    expect(diagram).toContain('state "No steps recorded" as no_steps\n');
    expect(diagram).toContain("[*] --> no_steps\n");
    expect(diagram).toContain("no_steps --> [*]\n");
  });

  it("notes beside the last step how many planned steps have no record (a run cut short), and nothing otherwise", () => {
    const planned = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    const cut = renderFlowDiagram(fourStepJson, { executionMetadata: { atomic: false, steps: planned } });
    expect(cut).toContain(
      [
        "    note left of step_3_positions_check",
        "        8 of the 12 planned steps have no record (they never ran, or were rolled back)",
        "    end note",
      ].join("\n"),
    );
    // The whole plan recorded, no plan recorded, or no metadata: the same bytes as the golden file's.
    expect(renderFlowDiagram(fourStepJson, { executionMetadata: { steps: planned.slice(0, 4) } })).toBe(renderFlowDiagram(fourStepJson));
    expect(renderFlowDiagram(fourStepJson, { executionMetadata: { atomic: false } })).toBe(renderFlowDiagram(fourStepJson));
    expect(renderFlowDiagram(fixture("empty"), { executionMetadata: { steps: ["a", "b"] } })).toContain(
      "    note left of no_steps\n        2 of the 2 planned steps have no record",
    );
    // A run still running has not got there: "never ran" would be untrue.
    const live = renderFlowDiagram(fourStepJson, { executionMetadata: { steps: planned }, executionStatus: "running" });
    expect(live).toContain("        8 of the 12 planned steps are not recorded yet\n");
    expect(live).not.toContain("never ran");
  });

  it("puts the last step's check notes left of it, so the end marker stays under it; the others' right", () => {
    const broke = { passed: false, checks: [{ check: "tools", passed: false, reason: "delete was called" }] };
    const checks = { flow: broke, steps: new Map([0, 3].map((index) => [index, broke])) };
    const notes = [...renderFlowDiagram(fourStepJson, { checks }).matchAll(/^ {4}note (\w+) of (\w+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(notes).toEqual(["right step_0_balance_check", "left step_3_positions_check", "left step_3_positions_check"]);
  });

  it("throws DiagramError INVALID_CONTENT for malformed JSON", () => {
    const error = catchError(() => renderFlowDiagram("{not json"));
    expect(error).toBeInstanceOf(DiagramError);
    expect(error).toMatchObject({ code: "INVALID_CONTENT", name: "DiagramError" });
    expect((error as Error).message).toMatch(/not valid JSON/);
  });

  it("names the zod path of invalid content", () => {
    const broken = structuredClone(fourStep) as unknown as { steps: Array<Record<string, unknown>> };
    const second = broken.steps[1];
    if (second === undefined) throw new Error("fixture has steps");
    second.status = "exploded";
    const error = catchError(() => renderFlowDiagram(JSON.stringify(broken)));
    expect(error).toBeInstanceOf(DiagramError);
    expect((error as DiagramError).code).toBe("INVALID_CONTENT");
    expect((error as Error).message).toContain("steps[1].status");
  });

  it("rejects content missing required fields", () => {
    const error = catchError(() => renderFlowDiagram({ steps: [] } as unknown as ConsolidatedContent));
    expect(error).toBeInstanceOf(DiagramError);
    expect((error as Error).message).toContain("consolidated_session_id");
    expect((error as Error).message).toContain("metadata");
  });
});
