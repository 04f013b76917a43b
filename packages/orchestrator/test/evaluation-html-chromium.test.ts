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

describe.skipIf(shouldSkipChromium())("the evaluation report's step table in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    ["desktop", { width: 1280, height: 900 }],
    ["phone", { width: 390, height: 844 }],
  ] as const)(
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
});
