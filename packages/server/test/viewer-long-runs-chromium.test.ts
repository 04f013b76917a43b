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
          // The table lists the 21 drawn steps and one row per folded stretch, in step order.
          expect(await page.locator("#run-steps tr[data-state-id]").count()).toBe(21);
          const gaps = page.locator("#run-steps tr.steps-gap");
          expect(await gaps.evaluateAll((rows) => rows.map((row) => [row.dataset.from, row.dataset.to]))).toEqual([
            ["10", "1499"],
            ["1501", "2989"],
          ]);
          expect(await gaps.first().innerText()).toContain("⋯ Steps 10–1,499 · 1,490 steps, all succeeded · 2,980 tool calls");
          expect(await page.locator(".steps-note").innerText()).toContain("This run has 3,000 steps.");
          await screenshot(page, "run-3000-steps-desktop", { fullPage: false });
          await page.locator(".steps-note").scrollIntoViewIfNeeded();
          await screenshot(page, "run-3000-steps-table-desktop", { fullPage: false });
          await gaps.first().evaluate((row) => row.scrollIntoView({ block: "center" }));
          await screenshot(page, "run-3000-steps-gap-desktop", { fullPage: false });

          // A folded box links to its first step's row: not listed yet, it is fetched, landed on and opened.
          const fold = page.locator('#diagram svg a.step-link:has(g.node[id*="-state-steps_1501_to_2989-"])');
          expect(await fold.getAttribute("href")).toBe("#step-step_1501_step_1501");
          expect(await fold.locator("title").textContent()).toBe(
            "Steps 1,501–2,989 · 1,489 steps, all succeeded · 2,978 tool calls (click for the first of them)",
          );
          await fold.click();
          const landed = page.locator("#step-step_1501_step_1501");
          await landed.waitFor();
          expect(await landed.evaluate((row) => row.matches(":target"))).toBe(true);
          expect(await landed.locator("details").evaluateAll((all) => all.every((d) => (d as unknown as { open: boolean }).open))).toBe(
            true,
          );
          expect(await page.evaluate<string>("location.hash")).toBe("#step-step_1501_step_1501");
          // The next 100 steps came with it; the rest of the stretch stays one row that counts it.
          expect(await gaps.evaluateAll((rows) => rows.map((row) => [row.dataset.from, row.dataset.to]))).toEqual([
            ["10", "1499"],
            ["1601", "2989"],
          ]);
          expect(await gaps.nth(1).innerText()).toContain("⋯ Steps 1,601–2,989 · 1,389 steps, all succeeded");
          await screenshot(page, "run-3000-steps-landed-desktop", { fullPage: false });

          // Show the first 100 of a stretch, then the rest of it.
          await gaps.first().getByRole("link", { name: "Show the first 100" }).click();
          await page.locator("#step-step_109_step_109").waitFor();
          expect(await gaps.first().evaluate((row) => [row.dataset.from, row.dataset.to])).toEqual(["110", "1499"]);
          await gaps.first().getByRole("link", { name: "Show all 1,390" }).click();
          await page.locator("#step-step_1499_step_1499").waitFor();
          expect(await gaps.count()).toBe(1);
          const indexes = await page.locator("#run-steps tr[data-state-id] td:first-child").allInnerTexts();
          expect(indexes.map(Number)).toEqual([
            ...Array.from({ length: 1601 }, (_, i) => i),
            ...Array.from({ length: 10 }, (_, i) => 2990 + i),
          ]);
          expect(errors).toEqual([]);
        });
        // A shared link to a folded step lands on it too, and every step is one link away.
        await withPage(browser, { width: 390, height: 844 }, async ({ page, errors }) => {
          await page.goto(`${url}/runs/${id}`, { timeout: 120_000 });
          await page.locator("#run-steps tr.steps-gap").first().scrollIntoViewIfNeeded();
          await screenshot(page, "run-3000-steps-table-phone", { fullPage: false });
          await page.goto(`${url}/runs/${id}#step-step_2000_step_2000`, { timeout: 120_000 });
          await page.locator("#step-step_2000_step_2000").waitFor();
          expect(await page.locator("#step-step_2000_step_2000").evaluate((row) => row.matches(":target"))).toBe(true);
          await screenshot(page, "run-3000-steps-landed-phone", { fullPage: false });
          await page.goto(`${url}/runs/${id}?steps=all`, { timeout: 120_000 });
          expect(await page.locator("#run-steps tr[data-state-id]").count()).toBe(3000);
          expect(await page.locator("#run-steps tr.steps-gap").count()).toBe(0);
          expect(errors).toEqual([]);
        });
        // Without a script, a stretch's links open the page with every step, at its first.
        await withPage(browser, { width: 1280, height: 900, javaScriptEnabled: false }, async ({ page }) => {
          await page.goto(`${url}/runs/${id}`, { timeout: 120_000 });
          expect(
            await page.locator("#run-steps tr.steps-gap").first().getByRole("link", { name: "Show all 1,490" }).getAttribute("href"),
          ).toBe(`/runs/${id}?steps=all#step-step_10_step_10`);
        });
        // The live part a running page swaps in keeps the table as the page asked for it.
        const rowsOf = async (path: string) => ((await (await fetch(`${url}${path}`)).text()).match(/<tr id="step-/g) ?? []).length;
        expect(await rowsOf(`/runs/${id}/live`)).toBe(21);
        expect(await rowsOf(`/runs/${id}/live?steps=all`)).toBe(3000);
        // A steps value the page does not know is refused, naming it; so is a stretch the page never gave.
        const bad = await fetch(`${url}/runs/${id}?steps=some`);
        expect(bad.status).toBe(400);
        expect(await bad.text()).toContain("The steps parameter can only be &quot;all&quot;");
        const stretch = await fetch(`${url}/runs/${id}/steps?from=10&to=20&show=5-30`);
        expect(stretch.status).toBe(400);
        expect(await stretch.text()).toContain("The show parameter must be a range of steps within 10-20.");
        const unread = await fetch(`${url}/runs/${id}/steps?from=ten&to=20&show=10-20`);
        expect(unread.status).toBe(400);
        expect(await unread.text()).toContain("The from parameter must be a step index, a whole number from 0.");
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
