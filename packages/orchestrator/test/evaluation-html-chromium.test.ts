// The evaluation report's step table in Chromium: an error of several KB stays a short box that
// scrolls to the rest, and the step column keeps its ids whole. The page.evaluate callbacks use the DOM.
/// <reference lib="dom" />
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepReport } from "../src/evaluation/aggregate-steps.js";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan } from "../src/evaluation/run-evaluation.js";
import { parseFlowPlan } from "../src/flow-plan.js";
import { launchChromium, shouldSkipChromium } from "./support/chromium.js";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/evaluation/", import.meta.url));

/** A provider's whole reply as an error: about 6 KB over 80 lines, one of them a long unbroken token. */
const BIG_ERROR = [
  "RPC error -32002: Transaction simulation failed",
  `data: ${"0123456789abcdef".repeat(40)}`,
  ...Array.from({ length: 80 }, (_, i) => `  Program log: instruction ${i} consumed ${1000 + i} of 200000 compute units`),
].join("\n");

const stepReport = (stepId: string, error: string): StepReport => ({
  stepId,
  runs: 2,
  passed: 1,
  failed: 1,
  timedOut: 0,
  skipped: 0,
  failureRate: 0.5,
  flaky: true,
  topErrors: [{ error, count: 1 }],
  distinctErrors: 1,
});

/** What a new user tries the report at: a laptop and a phone. */
const VIEWPORTS = [
  ["desktop", { width: 1280, height: 900 }],
  ["phone", { width: 390, height: 844 }],
] as const;

function page(): string {
  const plan = parseFlowPlan("flowId: cjk\nprompt: p\nsteps:\n  - stepId: only\n    prompt: only\n");
  const report = buildEvaluationReport([], { k: 2, flows: [expectationsOfPlan(plan)] });
  const [flow] = report.flows;
  if (!flow) throw new Error("no flow in the report");
  const steps = [stepReport("查询余额", BIG_ERROR), stepReport("balance", "slippage exceeded")];
  return renderEvaluationHtml(
    { ...report, flows: [{ ...flow, runs: 2, steps }] },
    { title: "t", facts: [], minPassRate: 0.8, runLink: () => null },
  );
}

describe.skipIf(shouldSkipChromium())("the evaluation report's step table and run list in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each(VIEWPORTS)(
    "keeps an error of several KB to a box of 12em that scrolls to the rest, and step ids whole, on a %s",
    async (name, viewport) => {
      const file = `${ARTIFACTS}long-error-${name}.html`;
      writeFileSync(file, page());
      const context = await browser.newContext({ viewport });
      try {
        const tab = await context.newPage();
        await tab.goto(pathToFileURL(file).href);
        await tab.locator('tr[data-step-id="查询余额"]').scrollIntoViewIfNeeded();
        await tab.screenshot({ path: `${ARTIFACTS}long-error-${name}.png` });
        const shown = await tab.evaluate(() => {
          const box = document.querySelector<HTMLElement>('tr[data-step-id="查询余额"] .error-text');
          if (!box) throw new Error("no error box");
          // The lines each step id's text takes: one when it is kept whole.
          const idLines = [...document.querySelectorAll("tr[data-step-id] td.step")].map((td) => {
            const range = document.createRange();
            range.selectNodeContents(td.firstChild ?? td);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
          });
          return {
            height: box.clientHeight,
            capPx: 12 * Number.parseFloat(getComputedStyle(box).fontSize),
            scrolls: box.scrollHeight > box.clientHeight && getComputedStyle(box).overflowY === "auto",
            fullText: box.textContent ?? "",
            rowHeight: box.closest("tr")?.getBoundingClientRect().height ?? Number.NaN,
            idLines,
            pageWidth: document.documentElement.scrollWidth,
          };
        });
        expect(shown.height).toBeLessThanOrEqual(shown.capPx + 1);
        expect(shown.scrolls).toBe(true);
        expect(shown.fullText).toBe(`1× ${BIG_ERROR}`);
        expect(shown.rowHeight).toBeLessThan(400);
        expect(shown.idLines).toEqual([1, 1]);
        expect(shown.pageWidth).toBeLessThanOrEqual(viewport.width);
      } finally {
        await context.close();
      }
    },
  );
  it.each(VIEWPORTS)("keeps a step's id beside its flaky mark, each error whole on its own lines, on a %s", async (name, viewport) => {
    const file = `${ARTIFACTS}flow-section-${name}.html`;
    writeFileSync(file, lendPage());
    const context = await browser.newContext({ viewport });
    try {
      const tab = await context.newPage();
      await tab.goto(pathToFileURL(file).href);
      await tab.locator('tr[data-step-id="lend"]').scrollIntoViewIfNeeded();
      await tab.screenshot({ path: `${ARTIFACTS}flow-section-${name}.png`, fullPage: true });
      const shown = await tab.evaluate(() => {
        const row = document.querySelector('tr[data-step-id="lend"]');
        const flaky = row?.querySelector(".flaky");
        const idText = flaky?.parentElement?.firstChild;
        if (!row || !flaky || !idText) throw new Error("no flaky step lend");
        const range = document.createRange();
        range.selectNodeContents(idText);
        const id = range.getBoundingClientRect();
        const mark = flaky.getBoundingClientRect();
        // Each word of each error on one line: a word broken apart ("slip / pag / e") spans several.
        const brokenWords = [...row.querySelectorAll(".error-text")].flatMap((box) => {
          const text = box.firstChild;
          if (!text?.textContent) return [];
          return [...text.textContent.matchAll(/\S+/g)].flatMap((word) => {
            const r = document.createRange();
            r.setStart(text, word.index);
            r.setEnd(text, word.index + word[0].length);
            return new Set([...r.getClientRects()].map((rect) => Math.round(rect.top))).size > 1 ? [word[0]] : [];
          });
        });
        const boxes = [...row.querySelectorAll(".error-text")].map((box) => box.getBoundingClientRect());
        const overlapping = boxes.some((a, i) =>
          boxes.slice(i + 1).some((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
        );
        // The run list's columns: the room between a first-column line's text and a second-column line,
        // where the second's bullet is drawn.
        const runs = [...document.querySelectorAll("ul.runs li")].map((li) => li.getBoundingClientRect());
        const firstLeft = Math.min(...runs.map((r) => r.left));
        const first = runs.filter((r) => r.left === firstLeft);
        const second = runs.filter((r) => r.left > firstLeft);
        const gap = second.length ? Math.min(...second.map((r) => r.left)) - Math.max(...first.map((r) => r.right)) : null;
        return {
          sameLine: Math.abs(id.top - mark.top) < 2,
          apart: mark.left - id.right,
          brokenWords,
          overlapping,
          gap,
          fontSize: Number.parseFloat(getComputedStyle(document.querySelector("ul.runs") as Element).fontSize),
          pageWidth: document.documentElement.scrollWidth,
        };
      });
      // "lend flaky" reads as one phrase: the mark a space after the id, not at the card's far side.
      expect(shown.sameLine).toBe(true);
      expect(shown.apart).toBeLessThan(12);
      expect(shown.brokenWords).toEqual([]);
      expect(shown.overlapping).toBe(false);
      if (name === "desktop") {
        // Two columns, the gap wide enough for the second one's bullet and a clear space before it.
        expect(shown.gap).not.toBeNull();
        expect(shown.gap).toBeGreaterThanOrEqual(2.5 * shown.fontSize);
      } else expect(shown.gap).toBeNull();
      expect(shown.pageWidth).toBeLessThanOrEqual(viewport.width);
    } finally {
      await context.close();
    }
  });
});

/**
 * A flow as a new user's evaluation shows it: a flaky step "lend" with two errors, one a single word,
 * and five runs whose outcomes wrap in the two-column run list.
 */
function lendPage(): string {
  const plan = parseFlowPlan("flowId: lend-usdc\nprompt: p\nsteps:\n  - stepId: lend\n    prompt: lend\n");
  const report = buildEvaluationReport([], { k: 5, flows: [expectationsOfPlan(plan)] });
  const [flow] = report.flows;
  if (!flow) throw new Error("no flow in the report");
  const lend: StepReport = {
    ...stepReport("lend", "no error: its expect checks failed; see the checks that failed"),
    topErrors: [
      { error: "no error: its expect checks failed; see the checks that failed", count: 1 },
      { error: "slippage", count: 1 },
    ],
  };
  const runIds = Array.from({ length: 5 }, (_, i) => `exec_lend-usdc_r${i + 1}_1796495935769_5c4ad${i}`);
  const failedChecks = ["tools", "order", "tools", "args"].map((check, i) => ({ stepId: i < 2 ? null : "lend", check }));
  const runTotals = runIds.map((runId, i) => ({
    runId,
    passed: i % 2 === 0,
    status: i === 3 ? "failed" : "completed",
    failedChecks: i % 2 === 0 ? [] : failedChecks,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    costUsd: null,
  }));
  return renderEvaluationHtml(
    { ...report, flows: [{ ...flow, runs: 5, steps: [lend], runIds, runTotals }] },
    { title: "t", facts: [], minPassRate: null, runLink: (id) => `runs/${id}.html` },
  );
}
