import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFlowModel, parseConsolidatedContent } from "../src/mermaid/index.js";
import { type MermaidRenderResult, renderWithMermaid, shouldSkipChromium } from "./support/chromium.js";

const GOLDEN_DIR = fileURLToPath(new URL("./golden/", import.meta.url));
const goldenNames = readdirSync(GOLDEN_DIR)
  .filter((file) => file.endsWith(".mmd"))
  .sort()
  .map((file) => file.slice(0, -".mmd".length));

/** Mermaid shows text with whitespace collapsed; compare the same way. */
const normalize = (text: string) => text.replace(/[\s\p{Cc}]+/gu, " ").trim();

/** Every string the diagram is meant to show, as a reader should see it after rendering. */
function expectedTexts(name: string): string[] {
  const model = buildFlowModel(parseConsolidatedContent(readFileSync(join(GOLDEN_DIR, `${name}.input.json`), "utf8")));
  if (model.steps.length === 0) return ["No steps recorded"];
  return model.steps.flatMap((step) => [step.title, ...step.lines]).map((text) => normalize(text.toWellFormed()));
}

const BROKEN = `stateDiagram-v2
    [*] --> a : ok
    state "unterminated as b
    a --> b : Step 0: x :: y
`;

describe.skipIf(shouldSkipChromium())("real rendering with mermaid in headless Chromium", () => {
  let results: MermaidRenderResult[] = [];

  beforeAll(async () => {
    // One browser launch for every golden diagram plus one that must fail.
    const diagrams = goldenNames.map((name) => readFileSync(join(GOLDEN_DIR, `${name}.mmd`), "utf8"));
    results = await renderWithMermaid([...diagrams, BROKEN]);
  });

  it("covers the golden diagrams", () => {
    expect(goldenNames).toEqual(expect.arrayContaining(["empty", "nasty", "reev-4-step", "twelve-step"]));
  });

  it.each(goldenNames.map((name, index) => [name, index] as const))(
    "%s renders to an SVG showing every node's title and lines",
    (name, index) => {
      const result = results[index];
      expect(result, `no result for ${name}`).toBeDefined();
      if (!result?.ok) throw new Error(`${name} failed to render: ${result?.error}`);
      expect(result.svgLength).toBeGreaterThan(1000);
      // Whole text nodes, so a label that Mermaid silently cut short would not match.
      const shown = new Set(result.svgText.split("\n").map(normalize));
      const missing = expectedTexts(name).filter((text) => !shown.has(text));
      expect(missing, `text missing from ${name}'s SVG`).toEqual([]);
    },
  );

  it("shows the issue's example steps exactly, with the escaped characters decoded", () => {
    const result = results[goldenNames.indexOf("reev-4-step")];
    if (!result?.ok) throw new Error("reev-4-step did not render");
    const shown = result.svgText.split("\n");
    expect(shown).toEqual(expect.arrayContaining(["✅ Step 0 · balance_check", "SUCCESS · 4.48s"]));
    expect(shown).toEqual(expect.arrayContaining(["❌ Step 1 · complex_swap", "FAILED · 22.41s", "Error: Invalid parameters"]));
    expect(shown).toEqual(expect.arrayContaining(["⏭️ Step 3 · positions_check", "SKIPPED"]));
  });

  it("reports a broken diagram as failing, so the check can fail", () => {
    const result = results[goldenNames.length];
    expect(result?.ok).toBe(false);
    expect(result?.ok === false && result.error).toMatch(/Parse error|Expecting/);
  });
});
