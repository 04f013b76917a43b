import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ConsolidatedContent } from "../src/consolidated-content.js";
import { DiagramError, renderFlowDiagram } from "../src/mermaid/index.js";

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

/** Ids declared with `state "…" as id` — every state gets one, tool calls included. */
function declaredIds(diagram: string): string[] {
  return [...diagram.matchAll(/^\s*state "[^"\n]*" as ([^\s{]+)/gm)].map((m) => m[1] ?? "");
}

describe("renderFlowDiagram", () => {
  it("draws the reev 4-step flow with the issue's labels", () => {
    const diagram = renderFlowDiagram(fourStepJson);
    expect(diagram.startsWith("stateDiagram-v2\n")).toBe(true);
    expect(diagram).toContain("[*] --> step_0_balance_check\n");
    expect(diagram).toContain("step_0_balance_check --> step_1_complex_swap : Step 0#58; balance_check ✅ SUCCESS | 4.48s\n");
    expect(diagram).toContain(
      "step_1_complex_swap --> step_2_complex_lend : Step 1#58; complex_swap ❌ FAILED | Error#58; Invalid parameters | 22.41s\n",
    );
    expect(diagram).toContain("step_3_positions_check --> [*] : Step 3#58; positions_check ⏭️ SKIPPED\n");
    expect(diagram).toMatch(
      /note right of step_1_complex_swap : Tool#58; jupiter_swap<br\/>Step#58; complex_swap<br\/>Duration#58; 22.41s<br\/>.*Input#58; amount = 0\.5, mint = So1+…\n/,
    );
    expect(diagram).toMatch(/^ {4}classDef success /m);
    expect(diagram).toMatch(/^ {4}classDef failure /m);
    expect(diagram).toMatch(/^ {4}classDef skipped /m);
    expect(diagram).toContain("class step_0_balance_check,s0_t0_get_account_balance success\n");
    expect(diagram).toContain("class step_3_positions_check,s3_t0_get_jupiter_lend_earn_position skipped\n");
  });

  it("labels timed-out steps", () => {
    expect(renderFlowDiagram(fixture("twelve-step"))).toContain(
      "step_9_rebalance --> step_10_final_report : Step 9#58; rebalance ⏱️ TIMED OUT | Error#58; Step timed out after 30000ms | 30.00s",
    );
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
    expect(ids.length).toBeGreaterThan(10);
    expect(new Set(ids.map((id) => id.toLowerCase())).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_]+$/);
    // jupiter-swap, jupiter_swap twice and jupiter.swap in one step: four states, real names shown.
    expect(diagram).toContain('state "1. jupiter-swap" as s0_t0_jupiter_swap');
    expect(diagram).toContain('state "2. jupiter_swap" as s0_t1_jupiter_swap');
    expect(diagram).toContain('state "3. jupiter_swap" as s0_t2_jupiter_swap');
    expect(diagram).toContain('state "4. jupiter.swap" as s0_t3_jupiter_swap');
    // Two steps sharing step_index 6 whose ids sanitise alike stay two states.
    expect(ids).toEqual(expect.arrayContaining(["step_6_deposit_usdc", "step_6_deposit_usdc_2"]));
  });

  it("keeps every user-text line free of raw Mermaid syntax", () => {
    const diagram = renderFlowDiagram(fixture("nasty"));
    const lines = diagram.split("\n");
    expect(lines.every((line) => !/%%|-->.*-->|\t|\r/.test(line))).toBe(true);
    for (const line of lines) {
      const label = /^\s*(?:\S+ --> \S+|note right of \S+) : (.*)$/.exec(line)?.[1];
      if (label !== undefined) expect(label.replace(/<br\/>/g, "")).not.toMatch(/[":%<>&{}[\]`]|#(?!\d+;)/);
      const title = /^\s*state "(.*)" as /.exec(line)?.[1];
      if (title !== undefined) expect(title).not.toMatch(/[":%<>&{}[\]`]|#(?!\d+;)/);
    }
    expect(/\p{Cs}/u.test(diagram)).toBe(false);
  });

  it("renders a step with zero tool calls as a simple state", () => {
    const diagram = renderFlowDiagram(fixture("nasty"));
    expect(diagram).toContain('    state "❌ Step 2 · zero_tools" as step_2_zero_tools\n');
    expect(diagram).toContain("note right of step_2_zero_tools : Tools#58; none<br/>");
  });

  it("draws a run with zero steps as a minimal valid diagram", () => {
    const diagram = renderFlowDiagram(fixture("empty"));
    expect(diagram).toContain('state "No steps recorded" as no_steps\n');
    expect(diagram).toContain("[*] --> no_steps\n");
    expect(diagram).toContain("no_steps --> [*]\n");
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
