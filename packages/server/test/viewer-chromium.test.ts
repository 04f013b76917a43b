import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "@reev/db/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { createServer, type ReevServer } from "../src/index.js";
import { launchChromium } from "./support/chromium.js";
import { flowPlan, runFlow } from "./support/runs.js";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** A page that records every console error and uncaught exception, for the "no errors" check. */
async function watchedPage(browser: Browser, width: number, height: number) {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}

async function screenshot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe("the viewer in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test("list → run → diagram: the SVG is drawn, the step rows are the database's, the console is clean", async ({ db }) => {
    const okId = await runFlow(db, flowPlan("viewer-ok", 6, { prompt: "Rebalance <my> wallet & report" }));
    const failedId = await runFlow(db, flowPlan("viewer-failing", 5, { failAt: 2 }));
    const server: ReevServer = createServer({ db, log: () => {} });
    const { url } = await server.listen({ port: 0 });
    try {
      for (const [width, height, label] of [
        [1280, 900, "desktop"],
        [390, 844, "phone"],
      ] as const) {
        const { page, errors } = await watchedPage(browser, width, height);
        await page.goto(url);
        await expect.poll(() => page.locator("tr[data-execution-id]").count()).toBe(2);
        await screenshot(page, `list-${label}`);

        for (const id of [okId, failedId]) {
          await page.goto(url);
          // Keyboard: tab to the run's link and follow it.
          const link = page.locator(`tr[data-execution-id="${id}"] a`);
          await link.focus();
          await page.keyboard.press("Enter");
          await page.waitForURL(`**/runs/${encodeURIComponent(id)}`);
          await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 30_000 });
          expect(await page.locator("#diagram svg g.node").count()).toBeGreaterThan(0);

          const stored = await db.writer.getSessionsForConsolidation(id);
          const rows = page.locator("#run-steps tr[data-state-id]");
          expect(await rows.count()).toBe(stored.length);
          for (const [i, step] of stored.entries()) {
            const row = rows.nth(i);
            expect(await row.locator('td[data-label="#"]').innerText()).toBe(String(step.stepIndex));
            expect(await row.locator('td[data-label="Step"]').innerText()).toBe(step.stepId ?? "—");
            expect((await row.locator('td[data-label="Status"]').innerText()).toLowerCase()).toContain(
              step.status === "timed_out" ? "timed out" : step.status,
            );
          }
          // A tool call opens to its input as formatted JSON.
          const firstCall = page.locator("#run-steps details").first();
          await firstCall.locator("summary").click();
          expect(await firstCall.locator("pre.json").first().innerText()).toContain('"step": 0');
          await screenshot(page, `run-${id === okId ? "ok" : "failed"}-${label}`);
        }
        expect(errors).toEqual([]);
        await page.close();
      }
    } finally {
      await server.close();
    }
  }, 300_000);
});
