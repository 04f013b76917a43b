import { prismaClientOf } from "@reev/db/internal";
import { consolidateExecution } from "@reev/orchestrator";
import type { Page } from "playwright-core";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { screenshot, withPage } from "./support/chromium.js";
import { flowPlan, runFlow } from "./support/runs.js";
import { DESKTOP_AND_PHONE, test, withServer } from "./support/viewer-test.js";

/** Starts `flow` through the server's POST route; returns its execution id. */
async function startRun(url: string, token: string, flow: ReturnType<typeof flowPlan>): Promise<string> {
  const started = await fetch(`${url}/api/v1/executions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      flow: {
        flowId: flow.flowId,
        prompt: flow.prompt,
        steps: flow.steps.map(({ stepId, prompt, requiredTools, script }) => ({ stepId, prompt, requiredTools, script })),
      },
    }),
  });
  expect(started.status).toBe(202);
  return ((await started.json()) as { execution_id: string }).execution_id;
}

/** Marks the page's document: a reload (or a navigation) would drop the mark. */
const markDocument = (page: Page) =>
  page.evaluate(() => {
    (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
  });
const sameDocument = (page: Page) => page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument === true);

describe("the viewer in Chromium", () => {
  test("list → run → diagram: the SVG is drawn, the step rows are the database's, the console is clean", async ({ db, browser }) => {
    // Ids as long as real ones (flow names, timestamps), so the list has to fit them beside the rest.
    const okId = await runFlow(
      db,
      flowPlan("viewer-ok-weekly-rebalance-of-the-portfolio", 6, { prompt: "Rebalance <my> wallet & report" }),
    );
    const failedId = await runFlow(db, flowPlan("viewer-failing", 5, { failAt: 2 }));
    await withServer({ db }, async (url) => {
      for (const [width, height, label] of DESKTOP_AND_PHONE) {
        await withPage(browser, { width, height }, async ({ page, errors }) => {
          await page.goto(url);
          await expect.poll(() => page.locator("tr[data-execution-id]").count()).toBe(2);
          // Standards mode (the doctype): quirks mode lays tables and line boxes out as old browsers did.
          expect(await page.evaluate("document.compatMode")).toBe("CSS1Compat");
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
            expect(await page.evaluate("document.compatMode")).toBe("CSS1Compat");
            // The start as the CLI writes it, the stored instant in its datetime.
            const { startedAt } = (await db.writer.getExecutionSession(id))!;
            const started = page.locator(`header time[datetime="${startedAt.toISOString()}"]`);
            expect(await started.innerText()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);

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
        });
      }
    });
  }, 300_000);

  test("the runs list keeps each short cell (status, agent, start, duration, consolidation) on one line at desktop widths", async ({
    db,
    browser,
  }) => {
    // The demo's flows, run as `reev demo` runs them, so the ids are as long as real ones
    // (exec_weekly-rebalance-12_1796370631687_222a84) and the list has to fit them beside the short
    // cells; failed runs, since "❌ failed" is the longer status.
    const ids: string[] = [];
    for (const [flowId, steps, failAt] of [
      ["weekly-rebalance-12", 12, undefined],
      ["jup-multiply-usdc", 4, 1],
      ["hanging-oracle", 3, 1],
    ] as const)
      ids.push(await runFlow(db, flowPlan(flowId, steps, { failAt })));
    expect(
      ids.every((id) => /^exec_[\w-]+_\d{13}_[0-9a-f]{6}$/.test(id)),
      ids.join(),
    ).toBe(true);
    await withServer({ db }, async (url) => {
      for (const width of [1280, 1024]) {
        await withPage(browser, { width, height: 800 }, async ({ page, errors }) => {
          await page.goto(url);
          for (const id of ids) await page.locator(`tr[data-execution-id="${id}"]`).waitFor();
          // Each cell's text is one line: its boxes share one top.
          const rows = await page.locator("tr[data-execution-id]").count();
          const lines = await page.locator("table.runs td.short").evaluateAll((cells) =>
            cells.map((cell) => {
              const range = (
                globalThis as unknown as {
                  document: { createRange(): { selectNodeContents(n: unknown): void; getClientRects(): ArrayLike<{ top: number }> } };
                }
              ).document.createRange();
              range.selectNodeContents(cell);
              const label = (cell as unknown as { dataset: { label: string } }).dataset.label;
              return `${label}: ${new Set([...Array.from(range.getClientRects())].map((r) => Math.round(r.top))).size}`;
            }),
          );
          await screenshot(page, `list-short-cells-${width}`);
          expect(lines).toHaveLength(rows * 5);
          expect(lines.filter((line) => !line.endsWith(": 1"))).toEqual([]);
          expect(errors).toEqual([]);
        });
      }
    });
  }, 120_000);

  test("a status filter or page link the list cannot use reads as plain words that wrap on a phone, with links that mend it", async ({
    db,
    browser,
  }) => {
    const id = await runFlow(db, flowPlan("bad-filter-flow", 1));
    await withServer({ db }, async (url) => {
      for (const width of [1280, 390]) {
        await withPage(browser, { width, height: 844 }, async ({ page, errors }) => {
          const fitsTheScreen = () => page.evaluate("document.documentElement.scrollWidth <= window.innerWidth");
          await page.goto(`${url}/?status=runing`);
          const box = page.getByRole("alert");
          expect(await box.innerText()).toBe(
            'The Status filter must be one of running, completed, failed, timed_out, rolled_back or cancelled, not "runing". Did you mean running?\n\nNo runs are listed with it: change it above, or show all runs.',
          );
          // Runs exist: the list was not read, and must not say that none match.
          expect(await page.locator("#runs").count()).toBe(0);
          expect(await fitsTheScreen()).toBe(true);
          await screenshot(page, `list-bad-status-${width}`);
          // A value as wide as the screen, quoted in the message, wraps too.
          await page.goto(`${url}/?status=${"W".repeat(60)}`);
          expect(await box.innerText()).toContain(`not "${"W".repeat(40)}…"`);
          expect(await fitsTheScreen()).toBe(true);

          await page.goto(`${url}/?status=runing`);
          await box.getByRole("link", { name: "running" }).click();
          await page.waitForURL("**/?status=running");
          expect(await page.getByRole("alert").count()).toBe(0);
          await page.getByText("No run matches these filters").waitFor();

          await page.goto(`${url}/?status=completed&cursor=bad`);
          expect(await box.innerText()).toBe("This page link is broken or out of date: go back to the first page.");
          expect(await fitsTheScreen()).toBe(true);
          await screenshot(page, `list-bad-cursor-${width}`);
          await box.getByRole("link", { name: "go back to the first page" }).click();
          await page.locator(`tr[data-execution-id="${id}"]`).waitFor();
          expect(new URL(page.url()).search).toBe("?status=completed");
          // The pages with a problem are 400s, which Chromium logs; nothing else may fail.
          expect(errors.filter((error) => !error.includes("status of 400"))).toEqual([]);
        });
      }
    });
  }, 120_000);

  test("a live run's new steps appear on its page without a reload", async ({ db, browser }) => {
    const token = "viewer-live-token";
    await withServer({ db, token }, async (url) => {
      await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
        const id = await startRun(url, token, flowPlan("viewer-live", 6, { delayMs: 4000 }));
        await page.goto(`${url}/runs/${encodeURIComponent(id)}`);
        const rows = page.locator("#run-steps tr[data-state-id]");
        const atLoad = await rows.count();
        expect(atLoad).toBeLessThan(6);
        await markDocument(page);
        const reloaded = page.waitForEvent("load", { timeout: 120_000 });
        await expect.poll(() => rows.count(), { timeout: 60_000 }).toBeGreaterThan(atLoad);
        expect(await sameDocument(page)).toBe(true);
        await screenshot(page, "run-live-desktop");
        // When the run ends, the page reloads once for its consolidated diagram.
        await reloaded;
        await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 60_000 });
        expect(await page.locator('[data-run-status="completed"]').count()).toBe(1);
        expect(await rows.count()).toBe(6);
        expect(await page.locator("#live-note").count()).toBe(0);
        expect(errors).toEqual([]);
      });
    });
  }, 300_000);

  test("an open run page whose run loses its process says so without a reload, stops saying Live, and shows reev recover's finish", async ({
    db,
    browser,
  }) => {
    const server = createServer({ db, heartbeatMs: 100, log: () => {} });
    const { url } = await server.listen({ port: 0 });
    const id = `viewer-gone-${Date.now()}`;
    await db.writer.createExecutionSession({ executionId: id, flowId: "viewer-gone", agent: "scripted", prompt: "p" });
    try {
      await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
        await page.goto(`${url}/runs/${encodeURIComponent(id)}`);
        const note = page.locator("#live-note");
        await expect.poll(() => note.textContent(), { timeout: 30_000 }).toMatch(/^Live: /);
        await markDocument(page);
        // Its owner recorded with another start time than this process's, as after kill -9: nothing announces it.
        const client = prismaClientOf(db);
        const row = await client.executionSession.findUniqueOrThrow({ where: { executionId: id } });
        await client.executionSession.update({
          where: { executionId: id },
          data: { ownerStartedAt: new Date((row.ownerStartedAt as Date).getTime() - 3_600_000) },
        });
        const banner = page.locator("#run-head .headline");
        await expect.poll(() => banner.textContent(), { timeout: 30_000 }).toContain("Run abandoned: its process is gone");
        expect(await note.textContent()).toBe("Not live: the run's process is gone. This page updates when reev recover finishes it.");
        expect(await sameDocument(page)).toBe(true);
        // reev recover (another process, as on PostgreSQL) finishes it: the page follows, and reloads for its diagram.
        await db.writer.recoverAbandonedExecutions();
        await consolidateExecution(db, id);
        await expect.poll(() => page.locator("#run-head .headline").textContent(), { timeout: 30_000 }).toContain("Run failed");
        // Its status comes before its consolidation; the page reloads (no live note then) once that is stored.
        await expect.poll(() => page.locator("#live-note").count(), { timeout: 30_000 }).toBe(0);
        expect(errors).toEqual([]);
      });
    } finally {
      await server.close();
      // Left running only when the test failed before reev recover's part.
      if ((await db.writer.getExecutionSession(id))?.status === "running")
        await db.writer.finishExecutionSession(id, { status: "failed", error: "test over" });
    }
  }, 120_000);

  test("the runs list shows a new run and its status changes live, without a reload, at 1280 px and on a phone", async ({
    db,
    browser,
  }) => {
    const token = "viewer-list-token";
    const earlier = await runFlow(db, flowPlan("list-earlier", 2));
    await withServer({ db, token }, async (url) => {
      for (const [width, height, label] of DESKTOP_AND_PHONE) {
        await withPage(browser, { width, height }, async ({ page, errors }) => {
          await page.goto(url);
          await page.locator("#list-live", { hasText: "Live:" }).waitFor();
          await markDocument(page);
          const before = await page.locator("tr[data-execution-id]").count();
          const id = await startRun(url, token, flowPlan(`list-live-${label}`, 3, { delayMs: 1500 }));
          const row = page.locator(`tr[data-execution-id="${id}"]`);
          // The new run appears at the top while it runs, …
          await row.waitFor({ timeout: 30_000 });
          expect(await page.locator("tr[data-execution-id]").first().getAttribute("data-execution-id")).toBe(id);
          expect(await row.getAttribute("data-status")).toBe("running");
          expect(await row.locator('td[data-label="Duration"]').textContent()).toBe("—");
          await screenshot(page, `list-live-running-${label}`);
          // … then completes, with its duration and consolidation, as the database has them.
          await expect.poll(() => row.getAttribute("data-status"), { timeout: 60_000 }).toBe("completed");
          await expect.poll(() => row.locator('td[data-label="Consolidation"]').textContent(), { timeout: 60_000 }).toBe("completed");
          const stored = await db.writer.getExecutionSession(id);
          expect(stored?.status).toBe("completed");
          expect(await row.locator('td[data-label="Status"]').textContent()).toContain("completed");
          expect(await row.locator('td[data-label="Duration"]').textContent()).not.toBe("—");
          expect(await page.locator("tr[data-execution-id]").count()).toBe(before + 1);
          expect(await page.locator(`tr[data-execution-id="${earlier}"]`).count()).toBe(1);
          expect(await sameDocument(page)).toBe(true);
          await screenshot(page, `list-live-completed-${label}`);
          expect(errors).toEqual([]);
        });
      }
    });
  }, 300_000);
});
