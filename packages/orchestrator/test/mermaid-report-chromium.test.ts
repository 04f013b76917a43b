// The page.evaluate callbacks run in the browser and use its DOM types.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Database, ExecutionSessionRecord } from "@reev/db";
import { test } from "@reev/db/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import type { ConsolidatedContent } from "../src/consolidated-content.js";
import { loadFlowPlan, ZFlowPlan } from "../src/flow-plan.js";
import { orderedSteps } from "../src/mermaid/flow-model.js";
import { parseConsolidatedContent, renderHtmlPage } from "../src/mermaid/index.js";
import { type ExecutionResult, PingPongExecutor } from "../src/ping-pong-executor.js";
import { fakeClock } from "./fixtures/executor/support.js";
import { launchChromium, shouldSkipChromium } from "./support/chromium.js";

/** Screenshots and pages stay here after the run (git-ignored): look at them. */
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/report/", import.meta.url));
/** The demo's own 12-step flow, so the test sees what `reev demo` users see. */
const DEMO_FLOW = fileURLToPath(new URL("../../cli/examples/twelve-step-rebalance.yaml", import.meta.url));

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const MIN_TEXT_PX = 10;
/** The smallest font size, as drawn, that "Fit" may shrink the diagram's labels to: the page's own small print. */
const READABLE_FONT_PX = 12;

/**
 * 50 steps: one that recovers on its third attempt, a (non-critical) one that fails every attempt,
 * then a critical failure that skips the last five and fails the run.
 */
function fiftyStepPlan() {
  const steps = Array.from({ length: 50 }, (_, i) => {
    const stepId = `step_${String(i).padStart(2, "0")}_${["quote", "swap", "lend", "check", "report"][i % 5]}`;
    const call = {
      toolName: `tool_${i % 7}`,
      input: { step: i, wallet: "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU" },
      output: { ok: i },
    };
    const ok = { response: `${stepId} done`, score: 0.5 + (i % 5) / 10, toolCalls: [call] };
    if (i === 13)
      return {
        stepId,
        prompt: "flaky",
        retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 10 },
        script: [{ fail: "503 Service Unavailable" }, { fail: "429 Too Many Requests" }, ok],
      };
    if (i === 27)
      return {
        stepId,
        prompt: "optional",
        retry: { attempts: 2, backoffMs: 10, maxBackoffMs: 10 },
        script: [{ fail: "Borrow limit exceeded" }],
      };
    if (i === 44)
      return {
        stepId,
        prompt: "critical",
        critical: true,
        script: [{ fail: "Insufficient SOL for fees: needs 0.002, wallet has 0.0004" }],
      };
    return { stepId, prompt: `do ${stepId}`, script: [ok] };
  });
  return ZFlowPlan.parse({ flowId: "generated-50", prompt: "a generated 50-step run", steps });
}

type StoredRun = { content: ConsolidatedContent; execution: ExecutionSessionRecord; result: ExecutionResult };

async function runAndRead(db: Database, plan: ReturnType<typeof fiftyStepPlan>): Promise<StoredRun> {
  const executor = new PingPongExecutor(db, { clock: fakeClock() });
  const result = await executor.execute(plan, new ScriptedAgent({ sleep: async (_ms, signal) => signal.throwIfAborted() }));
  const execution = await db.writer.getExecutionSession(result.executionId);
  if (!result.consolidatedSessionId || !execution) throw new Error(`run ${result.executionId} was not consolidated`);
  const stored = await db.writer.getConsolidatedSession(result.consolidatedSessionId);
  if (stored === null) throw new Error("consolidated session missing");
  return { content: parseConsolidatedContent(stored), execution, result };
}

type Shown = {
  renderState: string | undefined;
  minTextPx: number;
  textNodes: number;
  banner: string;
  runStatus: string | undefined;
  headers: string[];
  rows: { id: string; attempts: string; score: string; error: string }[];
  links: string[];
};

async function show(page: Page): Promise<Shown> {
  await page.locator('#diagram[data-render-state="rendered"], #diagram[data-render-state="error"]').waitFor({ timeout: 60_000 });
  return page.evaluate(() => {
    const svg = document.querySelector("#diagram svg");
    // The on-screen height of every visible text node of the diagram, as drawn at the initial zoom.
    const heights: number[] = [];
    if (svg) {
      const walker = document.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent?.trim() || node.parentElement?.closest("style, title")) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const box = range.getBoundingClientRect();
        if (box.height > 0) heights.push(box.height);
      }
    }
    const text = (el: Element | null) => el?.textContent?.replace(/\s+/g, " ").trim() ?? "";
    // innerText: the text as laid out, with a break between the banner's paragraphs.
    const rendered = (el: Element | null) => (el as HTMLElement | null)?.innerText.replace(/\s+/g, " ").trim() ?? "";
    return {
      renderState: (document.getElementById("diagram") as HTMLElement | null)?.dataset.renderState,
      minTextPx: Math.min(...heights),
      textNodes: heights.length,
      banner: rendered(document.querySelector(".banner")),
      runStatus: (document.querySelector(".banner") as HTMLElement | null)?.dataset.runStatus,
      headers: [...document.querySelectorAll(".steps-table th")].map(text),
      rows: [...document.querySelectorAll<HTMLElement>("tr[data-state-id]")].map((row) => ({
        id: row.id,
        attempts: text(row.querySelector('[data-label="Attempts"]')),
        score: text(row.querySelector('[data-label="Score"]')),
        error: text(row.querySelector('[data-label="Error"]')),
      })),
      links: [...document.querySelectorAll("#diagram a.step-link")].map((a) => a.getAttribute("href") ?? ""),
    };
  });
}

/**
 * Each label's font size as drawn (its computed size times the ratio of its box on screen to its
 * layout box: the zoom and the SVG's own scaling), the step nodes wholly inside the pane, and where
 * the drawing and its pane are.
 */
function drawnLabels(page: Page) {
  return page.evaluate(() => {
    const pane = document.querySelector(".diagram-viewport")?.getBoundingClientRect();
    const svg = document.querySelector("#diagram svg")?.getBoundingClientRect();
    if (pane === undefined || svg === undefined) throw new Error("no diagram drawn");
    const labels = [...document.querySelectorAll<HTMLElement>("#diagram g.node .nodeLabel p")];
    const fontPx = labels.map((p) => (Number.parseFloat(getComputedStyle(p).fontSize) * p.getBoundingClientRect().height) / p.offsetHeight);
    const steps = [...document.querySelectorAll("#diagram a.step-link")].filter((link) => {
      const box = link.getBoundingClientRect();
      return box.top >= pane.top && box.bottom <= pane.bottom;
    });
    return {
      labels: labels.length,
      minFontPx: Math.min(...fontPx),
      stepsShown: steps.length,
      svgLeft: svg.left,
      paneLeft: pane.left,
      paneHeight: pane.height,
    };
  });
}

describe.skipIf(shouldSkipChromium())("the HTML report in Chromium", () => {
  let db: Database;
  let browser: Browser;
  const runs: Record<"demo" | "fifty", StoredRun> = {} as never;

  test.beforeAll(async ({ databases }) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [db, browser] = await Promise.all([databases.get({ name: "pglite" }), launchChromium()]);
    runs.demo = await runAndRead(db, await loadFlowPlan(DEMO_FLOW));
    runs.fifty = await runAndRead(db, fiftyStepPlan());
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Writes the report, opens it from disk like a user would, and records every console error. */
  async function open(name: string, html: string, viewport: { width: number; height: number }) {
    const file = `${ARTIFACTS}${name}.html`;
    writeFileSync(file, html);
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
    await page.goto(pathToFileURL(file).href);
    const shown = await show(page);
    return { page, problems, shown, close: () => context.close() };
  }

  it.each(["demo", "fifty"] as const)("draws the %s run readably at 1280 px, with the banner and the new columns", async (name) => {
    const { content, execution } = runs[name];
    const { page, problems, shown, close } = await open(`${name}-1280`, renderHtmlPage(content, { execution }), DESKTOP);
    try {
      await page.screenshot({ path: `${ARTIFACTS}${name}-1280.png`, fullPage: true });
      expect(shown.renderState).toBe("rendered");
      expect(shown.textNodes).toBeGreaterThanOrEqual(content.steps.length * 2);
      expect(shown.minTextPx).toBeGreaterThanOrEqual(MIN_TEXT_PX);
      expect(shown.headers).toEqual(["#", "Step", "Status", "Score", "Attempts", "Duration", "Tool calls", "Error"]);
      const steps = orderedSteps(content);
      expect(shown.rows).toHaveLength(steps.length);
      shown.rows.forEach((row, i) => {
        const step = steps[i];
        // A skipped step was never tried (0); "—" only where the document records no attempts.
        expect(row.attempts).toBe(step?.attempts !== undefined ? String(step.attempts) : step?.status === "skipped" ? "0" : "—");
        expect(row.score).toBe(step?.score == null ? "—" : step.score.toFixed(2));
      });
      // Every step's node links to its row.
      expect(shown.links).toEqual(shown.rows.map((row) => `#${row.id}`));
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("says plainly that the demo run completed and the 50-step run failed, with its error", () => {
    expect(runs.demo.execution.status).toBe("completed");
    expect(runs.fifty.execution.status).toBe("failed");
    return Promise.all(
      (["demo", "fifty"] as const).map(async (name) => {
        const { content, execution } = runs[name];
        const { shown, close } = await open(`${name}-banner`, renderHtmlPage(content, { execution }), DESKTOP);
        await close();
        expect(shown.runStatus).toBe(execution.status);
        if (name === "demo") expect(shown.banner).toMatch(/^✅ Run completed 12 of 12 steps succeeded Consolidation completed\./);
        else {
          expect(shown.banner).toMatch(/^❌ Run failed /);
          expect(shown.banner).toContain(execution.error ?? "an error");
          expect(shown.banner).toContain("43 of 50 steps succeeded · 2 failed · 5 skipped");
        }
      }),
    );
  });

  it("opens a step's details from its node, and shows recorded retries", async () => {
    const { content, execution, result } = runs.fifty;
    // Consolidation does not record attempts yet: add the executor's own counts, as it will.
    const attempts = new Map(result.stepResults.map((step) => [step.stepIndex, step.attempts]));
    const withAttempts: ConsolidatedContent = {
      ...content,
      steps: content.steps.map((step) => ({ ...step, attempts: attempts.get(step.step_index) })),
    };
    expect([attempts.get(13), attempts.get(27)]).toEqual([3, 2]);
    const { page, problems, shown, close } = await open("fifty-retries-1280", renderHtmlPage(withAttempts, { execution }), DESKTOP);
    try {
      expect(shown.rows[13]?.attempts).toBe("3");
      expect(await page.locator("#diagram svg").textContent()).toContain("SUCCESS");
      await page.locator("#diagram svg").getByText("3 attempts").waitFor();
      // A click on a node goes to its row and opens its tool calls.
      for (const index of [27, 13]) {
        const row = page.locator("tr[data-state-id]").nth(index);
        const id = await row.getAttribute("id");
        await page.locator(`#diagram a.step-link[href="#${id}"]`).click();
        await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#${id}`);
        await expect.poll(() => row.evaluate((el) => el.matches(":target"))).toBe(true);
      }
      // A node's accessible name says which step it is and how it ended, not only its tools.
      expect(await page.locator("#diagram a.step-link").nth(27).locator("title").textContent()).toMatch(
        /^Step 27, step_27_lend: failed · .+ · Error: Borrow limit exceeded \(click for details\)$/,
      );
      expect(await page.locator("tr[data-state-id]").nth(27).locator('[data-label="Error"]').textContent()).toContain(
        "Borrow limit exceeded",
      );
      expect(
        await page
          .locator("tr[data-state-id]")
          .nth(13)
          .locator("details")
          .evaluateAll((all) => all.map((d) => (d as HTMLDetailsElement).open)),
      ).toEqual([true]);
      await page.screenshot({ path: `${ARTIFACTS}fifty-retries-clicked.png` });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("links a folded box of a long run to the row of its first step, as a drawn box to its own", async () => {
    const { content, execution } = runs.demo;
    const [first] = orderedSteps(content);
    if (!first) throw new Error("the demo run recorded no step");
    const steps = Array.from({ length: 150 }, (_, i) => ({ ...first, step_index: i, session_id: `session-${i}`, step_id: `s${i}` }));
    const long: ConsolidatedContent = { ...content, steps, metadata: { ...content.metadata, total_steps: steps.length } };
    const { page, problems, shown, close } = await open("long-folded-1280", renderHtmlPage(long, { execution }), DESKTOP);
    try {
      expect(shown.renderState).toBe("rendered");
      // Twenty drawn boxes, each to its row, and the folded one to the row of step 10.
      expect(shown.links).toHaveLength(21);
      const fold = page.locator('#diagram a.step-link:has(g.node[id*="-state-steps_10_to_139-"])');
      expect(await fold.getAttribute("href")).toBe("#step-step_10_s10");
      expect(await fold.locator("title").textContent()).toMatch(
        /^Steps 10–139 · 130 steps, all succeeded · \d+ tool calls? \(click for the first of them\)$/,
      );
      await fold.click();
      const row = page.locator("#step-step_10_s10");
      await expect.poll(() => row.evaluate((el) => el.matches(":target"))).toBe(true);
      expect(await row.locator("details").evaluateAll((all) => all.every((d) => (d as HTMLDetailsElement).open))).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}long-folded-clicked.png` });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("moves a tall diagram with the wheel inside its box, then lets the page scroll at its end", async () => {
    const { content, execution } = runs.fifty;
    const { page, problems, close } = await open("fifty-wheel", renderHtmlPage(content, { execution }), DESKTOP);
    try {
      const viewport = page.locator(".diagram-viewport");
      await viewport.scrollIntoViewIfNeeded();
      const box = await viewport.boundingBox();
      if (box === null) throw new Error("no diagram box");
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const state = () =>
        page.evaluate(() => ({
          pageY: window.scrollY,
          transform: (document.querySelector(".diagram-canvas") as HTMLElement).style.transform,
        }));
      const start = await state();
      await page.mouse.wheel(0, 400);
      await expect.poll(async () => (await state()).transform).not.toBe(start.transform);
      expect((await state()).pageY).toBe(start.pageY);
      // Wheel on until the diagram's bottom edge has reached the box's (the pan is clamped there);
      // one more turn of the wheel then scrolls the page and leaves the diagram where it is.
      const atBottom = () =>
        page.evaluate(() => {
          const svg = document.querySelector("#diagram svg")?.getBoundingClientRect();
          const box = document.querySelector(".diagram-viewport")?.getBoundingClientRect();
          return svg !== undefined && box !== undefined && svg.bottom <= box.bottom + 0.5;
        });
      for (let i = 0; i < 60 && !(await atBottom()); i++) await page.mouse.wheel(0, 600);
      expect(await atBottom()).toBe(true);
      const atEnd = await state();
      await page.mouse.wheel(0, 300);
      await expect.poll(async () => (await state()).pageY).toBeGreaterThan(atEnd.pageY);
      expect((await state()).transform).toBe(atEnd.transform);
      await page.screenshot({ path: `${ARTIFACTS}fifty-wheel-end.png` });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("pads the 12-step demo run's labels, and fits it at a readable size showing most of its steps at 1280×800", async () => {
    const { content, execution } = runs.demo;
    const { page, problems, close } = await open("demo-fit-1280x800", renderHtmlPage(content, { execution }), { width: 1280, height: 800 });
    try {
      // At 1:1, the narrowest gap between a label's text and the side of its node's box.
      await page.getByRole("button", { name: "1:1" }).click();
      const sideGap = await page.evaluate(() =>
        Math.min(
          ...[...document.querySelectorAll("#diagram g.node")].flatMap((node) => {
            const outer = node.querySelector("rect.outer")?.getBoundingClientRect();
            if (outer === undefined) return [];
            return [...node.querySelectorAll(".nodeLabel p")].map((p) => {
              const text = document.createRange();
              text.selectNodeContents(p);
              const box = text.getBoundingClientRect();
              return Math.min(box.left - outer.left, outer.right - box.right);
            });
          }),
        ),
      );
      expect(sideGap).toBeGreaterThanOrEqual(6);
      await page.getByRole("button", { name: "Fit" }).click();
      await page.locator(".diagram-viewport").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}demo-fit-1280x800.png` });
      const shown = await drawnLabels(page);
      expect(shown.labels).toBeGreaterThanOrEqual(content.steps.length * 2);
      expect(shown.minFontPx).toBeGreaterThanOrEqual(READABLE_FONT_PX);
      expect(shown.stepsShown).toBeGreaterThan(5);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("shows a diagram wider than a phone readable from the first view, and Fit keeps its left edge in view", async () => {
    const { content, execution } = runs.demo;
    // Check notes beside two steps and the flow's make the drawing about twice a phone's width.
    const reason = "a reason long enough to make its note as wide as a step's box, or wider";
    const broke = {
      passed: false,
      checks: [
        { check: "maxToolCalls", passed: false, reason },
        { check: "args", passed: false, reason },
      ],
    };
    const checks = { flow: broke, steps: new Map([0, 1].map((index) => [index, broke])) };
    const { page, problems, close } = await open("wide-phone", renderHtmlPage(content, { execution, checks }), PHONE);
    try {
      await page.locator(".diagram-viewport").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}wide-phone-first.png` });
      // Zoomed to exactly READABLE_FONT_PX, give or take the float's last digits.
      const first = await drawnLabels(page);
      expect(first.minFontPx).toBeGreaterThanOrEqual(READABLE_FONT_PX - 0.001);
      // It starts at the drawing's top left: the flow's start, not somewhere in its middle.
      expect(first.svgLeft).toBeGreaterThanOrEqual(first.paneLeft - 0.5);
      expect(await page.locator(".diagram-viewport").getAttribute("data-more")).toBe("below");
      await page.getByRole("button", { name: "Fit" }).click();
      await page.screenshot({ path: `${ARTIFACTS}wide-phone-fit.png` });
      const fitted = await drawnLabels(page);
      expect(fitted.minFontPx).toBeGreaterThanOrEqual(READABLE_FONT_PX - 0.001);
      // The drawing's left edge (the arrows, the first step's side) is in the box, not cut off.
      expect(fitted.svgLeft).toBeGreaterThanOrEqual(fitted.paneLeft - 0.5);
      // The box is as tall as a phone's allows (60% of 844 px), not the height of the shrunk drawing.
      expect(fitted.paneHeight).toBeGreaterThan(0.55 * PHONE.height);
      expect(fitted.stepsShown).toBeGreaterThanOrEqual(2);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("shows a small run's whole width, its check note too, on a phone's first view, its labels still readable", async () => {
    // A new user's swap: two steps, the second with a note of its checks, a little wider than a phone.
    const call = (toolName: string) => ({ toolName, input: { amount: 1 }, output: { ok: true } });
    const plan = ZFlowPlan.parse({
      flowId: "swap-sol",
      prompt: "swap 1 sol to usdc",
      steps: [
        { stepId: "quote", prompt: "quote", script: [{ score: 0.8, toolCalls: [call("get_quote")] }] },
        { stepId: "swap", prompt: "swap", script: [{ score: 0.6, toolCalls: [call("swap")] }] },
      ],
    });
    const { content, execution } = await runAndRead(db, plan);
    const held = { passed: true, checks: ["tools", "minScore", "forbiddenTools"].map((check) => ({ check, passed: true, reason: null })) };
    const checks = { flow: null, steps: new Map([[1, held]]) };
    const { page, problems, close } = await open("small-phone", renderHtmlPage(content, { execution, checks }), PHONE);
    try {
      await page.locator(".diagram-viewport").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}small-phone-first.png` });
      const first = await drawnLabels(page);
      const edges = await page.evaluate(() => {
        const pane = document.querySelector(".diagram-viewport")?.getBoundingClientRect();
        const svg = document.querySelector("#diagram svg")?.getBoundingClientRect();
        return {
          paneRight: pane?.right ?? Number.NaN,
          svgRight: svg?.right ?? Number.NaN,
          pageWidth: document.documentElement.scrollWidth,
        };
      });
      expect(first.minFontPx).toBeGreaterThanOrEqual(READABLE_FONT_PX - 0.001);
      // The drawing's both sides in the box: the note at its right is not a drag away.
      expect(first.svgLeft).toBeGreaterThanOrEqual(first.paneLeft - 0.5);
      expect(edges.svgRight).toBeLessThanOrEqual(edges.paneRight + 0.5);
      expect(edges.pageWidth).toBeLessThanOrEqual(PHONE.width);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("draws the end marker under the last step when that step and the flow have check notes", async () => {
    const { content, execution } = runs.demo;
    const steps = orderedSteps(content).slice(0, 2);
    const two: ConsolidatedContent = { ...content, steps, metadata: { ...content.metadata, total_steps: 2 } };
    const broke = {
      passed: false,
      checks: [{ check: "maxToolCalls", passed: false, reason: "2 tool calls were made, at most 1 is allowed" }],
    };
    const checks = { flow: broke, steps: new Map(steps.map((step) => [step.step_index, broke])) };
    // Without the demo's plan of 12 steps: its note on the 10 not recorded would sit left of the last step too.
    const whole = { ...execution, metadata: undefined };
    const { page, problems, close } = await open("end-marker", renderHtmlPage(two, { execution: whole, checks }), DESKTOP);
    try {
      await page.locator(".diagram-viewport").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}end-marker.png` });
      const centres = await page.evaluate(() => {
        const centre = (el: Element | null) => {
          const box = el?.getBoundingClientRect();
          return box ? box.left + box.width / 2 : Number.NaN;
        };
        const last = [...document.querySelectorAll("#diagram a.step-link")].at(-1) ?? null;
        return { lastStep: centre(last), end: centre(document.querySelector('#diagram g.node[id*="root_end"]')) };
      });
      expect(Math.abs(centres.end - centres.lastStep)).toBeLessThan(2);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it.each([
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const)("keeps a step error of several KB to a box of 12em and short step ids whole, on a %s", async (name, viewport) => {
    const { content, execution } = runs.demo;
    const bigError = Array.from({ length: 90 }, (_, i) => `  Program log: instruction ${i} consumed ${1000 + i} of 200000 units`).join(
      "\n",
    );
    const ids = ["balance", "查询余额", `flow_${"x".repeat(250)}`];
    const steps = orderedSteps(content).map((step, i) => ({
      ...step,
      step_id: ids[i] ?? step.step_id,
      ...(i === 1 ? { status: "failed" as const, error: bigError } : {}),
    }));
    const html = renderHtmlPage({ ...content, steps }, { execution });
    const { page, problems, close } = await open(`long-error-${name}`, html, viewport);
    try {
      await page.locator("tr[data-state-id]").nth(1).scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}long-error-${name}.png` });
      const shown = await page.evaluate(() => {
        const rows = [...document.querySelectorAll<HTMLElement>("tr[data-state-id]")];
        const box = rows[1]?.querySelector<HTMLElement>(".error-text");
        if (!box) throw new Error("no error box");
        // The lines each of the first two step ids takes: one when it is kept whole.
        const idLines = rows.slice(0, 2).map((row) => {
          const range = document.createRange();
          range.selectNodeContents(row.querySelector("td.step code") ?? row);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        });
        return {
          height: box.clientHeight,
          capPx: 12 * Number.parseFloat(getComputedStyle(box).fontSize),
          scrolls: box.scrollHeight > box.clientHeight && getComputedStyle(box).overflowY === "auto",
          fullText: box.textContent ?? "",
          rowHeight: rows[1]?.getBoundingClientRect().height ?? Number.NaN,
          idLines,
          tableOverflow: (() => {
            const wrap = document.querySelector(".table-wrap");
            return wrap ? wrap.scrollWidth - wrap.clientWidth : Number.NaN;
          })(),
          pageWidth: document.documentElement.scrollWidth,
        };
      });
      expect(shown.height).toBeLessThanOrEqual(shown.capPx + 1);
      expect(shown.scrolls).toBe(true);
      expect(shown.fullText).toBe(bigError);
      // Printed whole, the row was several thousand pixels tall; on a phone it is a card of every field.
      expect(shown.rowHeight).toBeLessThan(600);
      expect(shown.idLines).toEqual([1, 1]);
      // The 255-character id wraps: neither the table nor the page scrolls sideways.
      expect(shown.tableOverflow).toBeLessThanOrEqual(0);
      expect(shown.pageWidth).toBeLessThanOrEqual(viewport.width);
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });

  it("zooms with the buttons and stays readable on a phone-sized window", async () => {
    const { content, execution } = runs.demo;
    const { page, problems, shown, close } = await open("demo-phone", renderHtmlPage(content, { execution }), PHONE);
    try {
      await page.screenshot({ path: `${ARTIFACTS}demo-phone.png`, fullPage: true });
      expect(shown.minTextPx).toBeGreaterThanOrEqual(MIN_TEXT_PX);
      // The box shows a few of the 12 steps: its bottom edge says more follow, and the hint speaks of touch.
      const more = () => page.locator(".diagram-viewport").getAttribute("data-more");
      expect(await more()).toBe("below");
      expect(await page.locator(".diagram-tools .hint.touch").isVisible()).toBe(true);
      expect(await page.getByText("Ctrl + scroll to zoom").isVisible()).toBe(false);
      const transform = () => page.locator(".diagram-canvas").evaluate((el) => (el as HTMLElement).style.transform);
      const before = await transform();
      await page.getByRole("button", { name: "Zoom in" }).click();
      await expect.poll(transform).not.toBe(before);
      await page.getByRole("button", { name: "1:1" }).click();
      await expect.poll(transform).toBe(before);
      // Moved to the end, it says the rest is above, and nothing below.
      await page.getByRole("button", { name: "Fit" }).click();
      await page.locator(".diagram-viewport").focus();
      for (let i = 0; i < 80 && (await more()) !== "above"; i++) await page.keyboard.press("ArrowDown");
      expect(await more()).toBe("above");
      await page.screenshot({ path: `${ARTIFACTS}demo-phone-end.png` });
      expect(problems).toEqual([]);
    } finally {
      await close();
    }
  });
});
