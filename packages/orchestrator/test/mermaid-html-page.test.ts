import { readFileSync } from "node:fs";
import type { ExecutionStatus } from "@reev/db";
import { describe, expect, it } from "vitest";
import { CLIENT_BUNDLES, DiagramError, type ReportExecution, renderFlowDiagram, renderHtmlPage } from "../src/mermaid/index.js";

const fixture = (name: string) => readFileSync(new URL(`./golden/${name}.input.json`, import.meta.url), "utf8");
const executionIdOf = (name: string) => (JSON.parse(fixture(name)) as { execution_id: string }).execution_id;

function execution(name: string, overrides: Partial<ReportExecution> = {}): ReportExecution {
  return {
    executionId: executionIdOf(name),
    status: "completed",
    error: null,
    consolidation: { status: "completed", error: null, updatedAt: new Date("2025-10-14T09:40:00Z") },
    ...overrides,
  };
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
/** What a browser reads from an attribute value. */
const decodeEntities = (text: string) => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);

/** The banner's text with tags dropped and entities left as they are. */
const bannerOf = (page: string) =>
  (/<section class="banner[^"]*"[\s\S]*?<\/section>/.exec(page)?.[0] ?? "")
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();

describe("renderHtmlPage", () => {
  const page = renderHtmlPage(fixture("reev-4-step"), {
    execution: execution("reev-4-step", { status: "failed", error: "critical step complex_swap failed" }),
  });
  const nastyPage = renderHtmlPage(fixture("nasty"), {
    execution: execution("nasty", { error: `<script>alert("run")</script>` }),
    title: `<img src=x onerror=alert(1)> "t"`,
  });

  it("is self-contained: mermaid and Panzoom inlined, no external scripts, styles or fetches", () => {
    expect(page).not.toMatch(/<script[^>]*\bsrc\s*=/i);
    expect(page).not.toMatch(/<link[^>]*\bhref\s*=\s*["']?https?:/i);
    expect(page).not.toMatch(/src\s*=\s*["']?https?:\/\//i);
    expect(page).not.toMatch(/cdn\.jsdelivr|unpkg\.com/i);
    for (const bundle of Object.values(CLIENT_BUNDLES)) expect(page).toContain(readFileSync(bundle.path, "utf8"));
    expect(page.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
  });

  it("opens with a banner that says the run failed, with its error and the consolidation status", () => {
    expect(page.indexOf('class="banner bad"')).toBeLessThan(page.indexOf("<h1>"));
    expect(bannerOf(page)).toBe(
      "❌ Run failed critical step complex_swap failed 1 of 4 steps succeeded · 2 failed · 1 skipped " +
        "Failed steps: ❌ Step 1 · complex_swap , ❌ Step 2 · complex_lend . " +
        "Consolidation completed. This page shows consolidated session consolidated-7f3a9c1e from 2025-10-14 09:40:00 UTC.",
    );
  });

  it("writes the consolidation time under the heading as the banner does, not as the stored ISO string", () => {
    const ids = page.match(/<p class="ids">([\s\S]*?)<\/p>/)?.[1] ?? "";
    expect(ids).toMatch(/· 2025-10-14 09:40:00 UTC$/);
    expect(ids).not.toContain("T09:40");
  });

  it("says how many of the plan's steps never ran when a run ended before them (a recovered crash)", () => {
    const planned = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    const crashed = renderHtmlPage(fixture("reev-4-step"), {
      execution: execution("reev-4-step", { status: "failed", error: "abandoned", metadata: { atomic: false, steps: planned } }),
    });
    expect(bannerOf(crashed)).toContain(
      "1 of 4 steps succeeded · 2 failed · 1 skipped · 8 of the 12 planned steps have no record (they never ran, or were rolled back)",
    );
    // A run that recorded its whole plan, or one without a recorded plan, says nothing of it.
    const whole = renderHtmlPage(fixture("reev-4-step"), {
      execution: execution("reev-4-step", { metadata: { steps: planned.slice(0, 4) } }),
    });
    expect(bannerOf(whole)).not.toContain("planned");
    // Still running, the steps it has not reached are "not recorded yet", in the banner and the diagram alike.
    const running = renderHtmlPage(fixture("reev-4-step"), {
      execution: execution("reev-4-step", { status: "running", metadata: { steps: planned } }),
    });
    expect(bannerOf(running)).toContain("8 of the 12 planned steps are not recorded yet");
    expect(running).not.toContain("never ran");
    expect(bannerOf(page)).not.toContain("planned");
    // The tiles say what the rate and the count cover: the 4 recorded steps of 12.
    const tiles = (html: string) =>
      [...html.matchAll(/<div class="metric[^"]*"><span class="value">([^<]*)<\/span><span class="name">([^<]*)<\/span>/g)].map(
        (m) => `${m[2]}: ${m[1]}`,
      );
    expect(tiles(crashed)).toEqual(expect.arrayContaining(["Success rate of 4 recorded: 25.0%", "Steps recorded: 4 of 12"]));
    expect(tiles(crashed).some((t) => t.startsWith("Total steps"))).toBe(false);
    expect(tiles(whole)).toEqual(expect.arrayContaining(["Success rate: 25.0%", "Total steps: 4"]));
  });

  it("says how many of the failed steps timed out, in the banner and on the failed-steps tile", () => {
    const doc = JSON.parse(fixture("reev-4-step"));
    doc.steps[2].status = "timed_out";
    const slow = renderHtmlPage(JSON.stringify(doc), { execution: execution("reev-4-step") });
    expect(bannerOf(slow)).toContain("1 of 4 steps succeeded · 2 failed (1 timed out) · 1 skipped");
    expect(slow).toContain('<span class="value">2</span><span class="name">Failed steps (1 timed out)</span>');
    // None timed out: the tile and the banner say nothing of it.
    expect(page).toContain('<span class="value">2</span><span class="name">Failed steps</span>');
    expect(bannerOf(page)).not.toContain("timed out");
  });

  it("names the failed steps in the banner, each a link to its row, and counts those past five", () => {
    const failedLinks = (shown: string) =>
      [...(/<p class="failed-steps">[\s\S]*?<\/p>/.exec(shown)?.[0] ?? "").matchAll(/<a href="#([^"]+)">([^<]*)<\/a>/g)].map((m) => [
        m[1],
        m[2],
      ]);
    expect(failedLinks(page)).toEqual([
      ["step-step_1_complex_swap", "❌ Step 1 · complex_swap"],
      ["step-step_2_complex_lend", "❌ Step 2 · complex_lend"],
    ]);
    // Sixty steps, seven of them failed (one timed out): five named, the rest counted.
    const doc = JSON.parse(fixture("reev-4-step"));
    const [ok, bad] = doc.steps;
    const failing = new Set([3, 9, 17, 25, 33, 41, 58]);
    doc.steps = Array.from({ length: 60 }, (_, i) => ({
      ...(failing.has(i) ? bad : ok),
      step_index: i,
      session_id: `session-${i}`,
      step_id: `s${i}`,
      status: i === 9 ? "timed_out" : failing.has(i) ? "failed" : "success",
    }));
    doc.metadata = { ...doc.metadata, total_steps: 60, successful_steps: 53, failed_steps: 7, skipped_steps: 0 };
    const sixty = renderHtmlPage(JSON.stringify(doc), { execution: execution("reev-4-step", { error: "7 of 60 steps did not succeed" }) });
    const links = failedLinks(sixty);
    expect(links.map(([, text]) => text)).toEqual([
      "❌ Step 3 · s3",
      "⏱️ Step 9 · s9",
      "❌ Step 17 · s17",
      "❌ Step 25 · s25",
      "❌ Step 33 · s33",
    ]);
    // Each link is to a row of the table, as a diagram node's is.
    for (const [id] of links) expect(sixty).toContain(`<tr id="${id}" `);
    expect(bannerOf(sixty)).toContain("❌ Step 33 · s33 and 2 more.");
    // No failed step, nothing to name.
    const doc4 = JSON.parse(fixture("reev-4-step"));
    doc4.steps = doc4.steps.slice(0, 1);
    doc4.metadata = { ...doc4.metadata, total_steps: 1, successful_steps: 1, failed_steps: 0, skipped_steps: 0 };
    expect(renderHtmlPage(JSON.stringify(doc4), { execution: execution("reev-4-step") })).not.toContain("failed-steps");
  });

  it("names a diagram node (its link's title) by its step id and status, then its tools and error", () => {
    const summaries = [...page.matchAll(/data-summary="([^"]*)"/g)].map((m) => decodeEntities(m[1] ?? ""));
    expect(summaries).toEqual([
      "Step 0, balance_check: succeeded · get_account_balance",
      "Step 1, complex_swap: failed · jupiter_swap · Error: Invalid parameters",
      "Step 2, complex_lend: failed · jupiter_lend_earn_deposit · Error: Insufficient USDC balance: deposit needs 30 USDC, wallet has 20",
      "Step 3, positions_check: skipped · get_jupiter_lend_earn_position",
    ]);
  });

  it("counts one step as one step, not '1 of 1 steps'", () => {
    const doc = JSON.parse(fixture("reev-4-step"));
    doc.steps = doc.steps.slice(0, 1);
    doc.metadata = { ...doc.metadata, total_steps: 1, successful_steps: 1, failed_steps: 0, skipped_steps: 0 };
    const one = renderHtmlPage(JSON.stringify(doc), { execution: execution("reev-4-step") });
    expect(bannerOf(one)).toContain("1 of 1 step succeeded");
    expect(bannerOf(renderHtmlPage(fixture("empty"), { execution: execution("empty") }))).toContain("No steps recorded");
    expect(bannerOf(page)).toContain("1 of 4 steps succeeded");
  });

  it("writes a consolidation time that is no date as it was stored", () => {
    const stored = JSON.stringify({ ...JSON.parse(fixture("reev-4-step")), consolidated_at: "yesterday, about noon" });
    expect(bannerOf(renderHtmlPage(stored, { execution: execution("reev-4-step") }))).toContain(
      "consolidated-7f3a9c1e from yesterday, about noon.",
    );
  });

  it.each([
    ["completed", "✅ Run completed", "warn"],
    ["timed_out", "⏱️ Run timed out", "bad"],
    ["rolled_back", "↩️ Run rolled back", "bad"],
    ["running", "… Run still running", "info"],
  ] satisfies [ExecutionStatus, string, string][])("names a %s run in its headline", (status, headline, tone) => {
    // The 4-step run has failed steps, so even "completed" is not shown as all green.
    const shown = renderHtmlPage(fixture("reev-4-step"), { execution: execution("reev-4-step", { status }) });
    expect(bannerOf(shown).startsWith(headline)).toBe(true);
    expect(shown).toContain(`<section class="banner ${tone}"`);
  });

  it("shows a completed run without failed steps in green", () => {
    const shown = renderHtmlPage(fixture("empty"), { execution: execution("empty") });
    expect(shown).toContain(`<section class="banner ok"`);
  });

  it("a run with no stored step has no success rate: '—', never 0.0 %", () => {
    const none = JSON.parse(fixture("empty"));
    // As consolidation now stores it (null), and as documents before it did (0): both read "—".
    for (const rate of [null, 0]) {
      const shown = renderHtmlPage(JSON.stringify({ ...none, metadata: { ...none.metadata, success_rate: rate } }), {
        execution: execution("empty"),
      });
      expect(shown).toContain('<span class="value">—</span><span class="name">Success rate</span>');
    }
    expect(page).toContain('<span class="value">25.0%</span><span class="name">Success rate</span>');
  });

  it("says when consolidation failed, with its error", () => {
    const shown = renderHtmlPage(fixture("reev-4-step"), {
      execution: execution("reev-4-step", { consolidation: { status: "timed_out", error: "took over 60s", updatedAt: null } }),
    });
    expect(bannerOf(shown)).toContain("Consolidation timed out: took over 60s. This page shows consolidated session consolidated-7f3a9c1e");
  });

  it("shows tokens with thousands separators, as the evaluation pages do", () => {
    const doc = JSON.parse(fixture("empty"));
    const metadata = { ...doc.metadata, total_input_tokens: 503000, total_output_tokens: 20400 };
    const shown = renderHtmlPage(JSON.stringify({ ...doc, metadata }), { execution: execution("empty") });
    expect(shown).toContain('<span class="value">503,000</span><span class="name">Input tokens</span>');
    expect(shown).toContain('<span class="value">20,400</span><span class="name">Output tokens</span>');
  });

  it("carries the diagram source, metrics and a step table with score, attempts and error columns", () => {
    const source = /<div id="diagram" data-render-state="pending" data-source="([^"]*)">/.exec(page)?.[1] ?? "";
    expect(decodeEntities(source)).toBe(renderFlowDiagram(fixture("reev-4-step")));
    for (const text of ["25.0%", "0.25", "35.07s", "Success rate", "Avg score", "Tool calls", "Skipped steps"]) {
      expect(page).toContain(text);
    }
    // The two durations under the names every view uses; the wall time comes from the execution record.
    expect(page).toContain('<span class="value">35.07s</span><span class="name">Steps time</span>');
    expect(page).toMatch(/<span class="value">[^<]+<\/span><span class="name">Wall time<\/span>/);
    // Tokens were not recorded in this document: unknown, not 0.
    expect(page).toContain('<span class="value">—</span><span class="name">Input tokens</span>');
    expect(page).toContain(
      "<th>#</th><th>Step</th><th>Status</th><th>Score</th><th>Attempts</th><th>Duration</th><th>Tool calls</th><th>Error</th>",
    );
    expect(page).toContain("<code>complex_swap</code>");
    expect(page).toContain("❌ FAILED");
    expect(page).toContain(`<td class="error" data-label="Error"><div class="error-text">Invalid parameters</div></td>`);
    expect(page).toContain("<code>jupiter_lend_earn_deposit</code>");
    expect(page).toContain("use my 50% sol to multiply usdc 1.5x on jup");
    expect(page).toContain("<title>reev flow · multiply-usdc-jup</title>");
  });

  it("shows recorded attempts, 0 for a skipped step (never tried), and — where the document has none", () => {
    const attempts = (shown: string) => [...shown.matchAll(/data-label="Attempts">([^<]*)</g)].map((m) => m[1]);
    expect(attempts(page)).toEqual(["—", "—", "—", "0"]);
    const twelve = renderHtmlPage(fixture("twelve-step"), { execution: execution("twelve-step") });
    expect(attempts(twelve)).toEqual(["1", "1", "2", "1", "1", "1", "1", "3", "1", "1", "0", "0"]);
    expect(twelve).toContain(`<td class="num retried" data-label="Attempts">3</td>`);
  });

  it("links each step's row to its diagram node by the state id", () => {
    expect(page).toContain(`<tr id="step-step_1_complex_swap" data-state-id="step_1_complex_swap"`);
    expect(renderFlowDiagram(fixture("reev-4-step"))).toContain(`as step_1_complex_swap\n`);
  });

  it("HTML-escapes all user text, in text and attributes", () => {
    expect(nastyPage).not.toContain("<script>alert(1)</script>");
    expect(nastyPage).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 中文 🚀");
    expect(nastyPage).not.toContain("<img src=x");
    expect(nastyPage).toContain("<title>&lt;img src=x onerror=alert(1)&gt; &quot;t&quot;</title>");
    expect(nastyPage).toContain(`<pre class="run-error">&lt;script&gt;alert(&quot;run&quot;)&lt;/script&gt;</pre>`);
    expect(nastyPage).toContain("<code>say &quot;hi&quot;: ok; --&gt; %% #1 {x} &lt;b&gt;</code>");
    // The only script elements are the three the page itself writes.
    expect(nastyPage.match(/<script\b/gi)).toHaveLength(3);
    expect(nastyPage.match(/<\/script>/gi)).toHaveLength(3);
  });

  it("renders a run with no steps", () => {
    expect(renderHtmlPage(fixture("empty"), { execution: execution("empty") })).toContain("No steps recorded.");
  });

  it("rejects invalid content, and an execution record of another run, with DiagramError", () => {
    expect(() => renderHtmlPage("[]", { execution: execution("empty") })).toThrow(DiagramError);
    expect(() => renderHtmlPage(fixture("empty"), { execution: execution("nasty") })).toThrow(
      expect.objectContaining({ code: "INVALID_CONTENT", message: expect.stringContaining("belongs to execution") }),
    );
  });
});

describe("renderHtmlPage of a step with very many tool calls", () => {
  it("lists the first 100 and counts the rest, failures among them, pointing at reev export", () => {
    const content = JSON.parse(fixture("reev-4-step")) as { steps: { tool_calls: Record<string, unknown>[] }[] };
    const [first] = content.steps[0]!.tool_calls;
    content.steps[0]!.tool_calls = Array.from({ length: 250 }, (_, i) => ({
      ...first,
      tool_name: `call_${i}`,
      success: i < 240,
      error: i < 240 ? null : "refused",
    }));
    const page = renderHtmlPage(JSON.stringify(content), { execution: execution("reev-4-step") });
    expect(page).toContain("<code>call_99</code>");
    expect(page).not.toContain("<code>call_100</code>");
    expect(page).toContain(
      "… and 150 more tool calls (10 failed), not listed here: reev export, or GET /api/v1/executions/{id}/steps, has every one.",
    );
  });
});
