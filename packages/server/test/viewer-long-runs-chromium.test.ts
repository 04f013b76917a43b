import { test, testBackends } from "@reev/db/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { launchChromium, screenshot, withPage } from "./support/chromium.js";
import { recordEvaluation } from "./support/evaluations.js";
import { flowPlan, storeRun } from "./support/runs.js";

const VIEWPORTS = [
  [1280, 900, "desktop"],
  [390, 844, "phone"],
] as const;

/** How far the page reaches right of the viewport: 0 when nothing makes it scroll sideways. */
const overflowX = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");

/** The right edge of the rightmost header cell (or, on a phone's cards, cell) of each table, in page pixels. */
const tableRights = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((cells) => Math.max(...cells.map((cell) => cell.getBoundingClientRect().right)));

describe("long runs and long ids in the viewer (Chromium)", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  // The 3,000-step run was reported on PostgreSQL; each backend writes and reads its own.
  describe.each(testBackends())("on $name", (backend) => {
    test.override({ backend });

    test("a 3,000-step run's page draws its diagram with the quiet stretch folded into one counted box, and lists every step", async ({
      db,
    }) => {
      const id = "big-run";
      await storeRun(db, { executionId: id, flowId: "big", steps: 3000, failed: [1500] });
      const server = createServer({ db, log: () => {} });
      const { url } = await server.listen({ port: 0 });
      try {
        await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
          await page.goto(`${url}/runs/${id}`, { timeout: 120_000 });
          // Unfolded, Mermaid laid this run out for about a minute and then overflowed its stack.
          await page.locator('#diagram:not([data-render-state="pending"])').waitFor({ timeout: 120_000 });
          expect(await page.locator("#diagram").getAttribute("data-render-state")).toBe("rendered");
          // The first and last ten steps, the failed one, and the two stretches around it folded.
          expect(await page.locator("#diagram svg g.node").count()).toBeLessThan(30);
          const labels = await page.locator("#diagram svg").textContent();
          expect(labels).toContain("⋯ Steps 10–1,499");
          expect(labels).toContain("1,490 steps, all succeeded");
          expect(labels).toContain("2,980 tool calls");
          expect(labels).toContain("⋯ Steps 1,501–2,989");
          expect(labels).toContain("1,489 steps, all succeeded");
          expect(labels).toContain("Step 1500 · step_1500");
          expect(await page.locator(".diagram-note").innerText()).toBe(
            "This run has 3,000 steps, more than the diagram draws one by one (100): it shows 21 steps one by one " +
              "(the first and last 10, and up to 30 that did not succeed or failed a check) and folds the other 2,979 " +
              "into 2 boxes with their counts. Every step is in the Steps table below.",
          );
          expect(await page.locator("#run-steps tr[data-state-id]").count()).toBe(3000);
          await screenshot(page, "run-3000-steps-desktop", { fullPage: false });
          expect(errors).toEqual([]);
        });
      } finally {
        await server.close();
      }
    }, 300_000);

    test("when the browser cannot draw the diagram, the box says so in words and where the steps are", async ({ db }) => {
      await storeRun(db, { executionId: "undrawable", flowId: "undrawable", steps: 3 });
      const server = createServer({ db, log: () => {} });
      const { url } = await server.listen({ port: 0 });
      try {
        await withPage(browser, { width: 1280, height: 900 }, async ({ page }) => {
          // A Mermaid that fails as it did on an unfolded 3,000-step run.
          await page.route("**/assets/mermaid.js", (route) =>
            route.fulfill({
              contentType: "text/javascript",
              body: 'window.mermaid = { initialize() {}, render() { throw new RangeError("Maximum call stack size exceeded"); } };',
            }),
          );
          await page.goto(`${url}/runs/undrawable`);
          await page.locator('#diagram[data-render-state="error"]').waitFor();
          expect(await page.locator("#diagram .render-error").innerText()).toBe(
            "The browser could not draw this diagram. Every step is in the Steps table below; the Mermaid source is under the diagram, to draw elsewhere (for example at mermaid.live).",
          );
          expect(await page.locator("#diagram").innerText()).not.toContain("Maximum call stack");
        });
      } finally {
        await server.close();
      }
    }, 120_000);

    test("a 218-character flow id and a 200-character step id wrap: every column of the runs list, the run's steps and the evaluation stays in view", async ({
      db,
    }) => {
      const flowId = "nightly_portfolio_rebalance_with_jupiter_and_kamino_".repeat(5).slice(0, 218);
      expect(flowId).toHaveLength(218);
      const stepId = "withdraw_collateral_from_the_lending_market_".repeat(5).slice(0, 200);
      await storeRun(db, { executionId: "long-ids", flowId, steps: 2, stepId: () => stepId });
      await recordEvaluation(db, { id: "eval-long-ids", name: "long ids", plans: [flowPlan(flowId, 1)], repeat: 1, startedAt: new Date() });
      const server = createServer({ db, log: () => {} });
      const { url } = await server.listen({ port: 0 });
      try {
        for (const [width, height, label] of VIEWPORTS) {
          await withPage(browser, { width, height }, async ({ page, errors }) => {
            await page.goto(url);
            await page.locator('tr[data-execution-id="long-ids"]').waitFor();
            expect(await overflowX(page)).toBe(0);
            expect(await tableRights(page, width > 700 ? "table.runs th" : "table.runs td")).toBeLessThanOrEqual(width);
            await screenshot(page, `long-ids-list-${label}`);

            await page.goto(`${url}/runs/long-ids`);
            await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 60_000 });
            expect(await overflowX(page)).toBe(0);
            expect(await tableRights(page, ".steps-table td")).toBeLessThanOrEqual(width);
            expect(await page.locator('.steps-table td[data-label="Step"]').first().innerText()).toBe(stepId);
            await screenshot(page, `long-ids-run-${label}`);

            for (const path of ["/evaluations", "/evaluations/eval-long-ids"]) {
              await page.goto(`${url}${path}`);
              await screenshot(page, `long-ids${path.replaceAll("/", "-")}-${label}`);
              expect(await overflowX(page), path).toBe(0);
            }
            expect(errors).toEqual([]);
          });
        }
      } finally {
        await server.close();
      }
    }, 300_000);
  });
});
