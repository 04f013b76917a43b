import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DiagramError, renderFlowDiagram, renderHtmlPage } from "../src/mermaid/index.js";

const fixture = (name: string) => readFileSync(new URL(`./golden/${name}.input.json`, import.meta.url), "utf8");

describe("renderHtmlPage", () => {
  const page = renderHtmlPage(fixture("reev-4-step"));
  const nastyPage = renderHtmlPage(fixture("nasty"), { title: `<img src=x onerror=alert(1)> "t"` });

  it("is self-contained: mermaid inlined, no external scripts, styles or fetches", () => {
    expect(page).not.toMatch(/<script[^>]*\bsrc\s*=/i);
    expect(page).not.toMatch(/<link[^>]*\bhref\s*=\s*["']?https?:/i);
    expect(page).not.toMatch(/src\s*=\s*["']?https?:\/\//i);
    expect(page).not.toMatch(/cdn\.jsdelivr|unpkg\.com/i);
    // The bundle itself is inside the page.
    expect(page.length).toBeGreaterThan(1_000_000);
    expect(page).toContain(readFileSync(new URL(import.meta.resolve("mermaid/dist/mermaid.min.js")), "utf8"));
  });

  it("carries the diagram, metrics and the step table", () => {
    expect(page).toContain(JSON.stringify(renderFlowDiagram(fixture("reev-4-step"))).replace(/</g, "\\u003c"));
    for (const text of ["25.0%", "0.25", "35.07s", "Success rate", "Avg score", "Total tools", "Skipped steps"]) {
      expect(page).toContain(text);
    }
    expect(page).toContain("<code>complex_swap</code>");
    expect(page).toContain("❌ FAILED");
    expect(page).toContain("Invalid parameters");
    expect(page).toContain(`<code title="jupiter_lend_earn_deposit">jupiter_lend_earn_deposit</code>`);
    expect(page).toContain("use my 50% sol to multiply usdc 1.5x on jup");
    expect(page).toContain("<title>reev flow · multiply-usdc-jup</title>");
  });

  it("HTML-escapes all user text", () => {
    expect(nastyPage).not.toContain("<script>alert(1)</script>");
    expect(nastyPage).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 中文 🚀");
    expect(nastyPage).not.toContain("<img src=x");
    expect(nastyPage).toContain("<title>&lt;img src=x onerror=alert(1)&gt; &quot;t&quot;</title>");
    expect(nastyPage).toContain("<code>say &quot;hi&quot;: ok; --&gt; %% #1 {x} &lt;b&gt;</code>");
    // The only script elements are the three the page itself writes.
    expect(nastyPage.match(/<script\b/gi)).toHaveLength(3);
    expect(nastyPage.match(/<\/script>/gi)).toHaveLength(3);
  });

  it("keeps the embedded diagram source from closing its script element", () => {
    const json = /<script id="diagram-source" type="application\/json">([\s\S]*?)<\/script>/.exec(nastyPage)?.[1];
    expect(json).toBeDefined();
    expect(json).not.toContain("<");
    expect(JSON.parse(json ?? "")).toBe(renderFlowDiagram(fixture("nasty")));
  });

  it("renders a run with no steps", () => {
    expect(renderHtmlPage(fixture("empty"))).toContain("No steps recorded.");
  });

  it("rejects invalid content with DiagramError", () => {
    expect(() => renderHtmlPage("[]")).toThrow(DiagramError);
  });
});
