// A rolled-back run (atomic, its critical step failed: every step undone) is never consolidated. Its
// page waited for that consolidation: "The run has finished: loading its diagram…", reloading, forever,
// while the API drew its diagram. Its consolidation reads `skipped` now, with why, and its page is drawn.
import { testBackends } from "@reev/db/testing";
import { PingPongExecutor, parseFlowPlan, ScriptedAgent } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { test, withServer } from "./support/viewer-test.js";

const SKIPPED = "Consolidation skipped: the execution was rolled back, so it has no steps to consolidate.";

/** An atomic flow whose critical second step fails: the run ends rolled_back. */
const atomicFlow = (flowId: string) =>
  parseFlowPlan(
    JSON.stringify({
      flowId,
      prompt: "all or nothing",
      atomic: true,
      steps: [
        { stepId: "balance", prompt: "check" },
        { stepId: "swap", prompt: "swap", critical: true, requiredTools: ["jupiter_swap"], script: [{ fail: "nope" }] },
      ],
    }),
  );

describe.each(testBackends())("a rolled-back run's page on $name", (backend) => {
  test.override({ backend });

  test("draws its diagram, says why it has no consolidation, and is not live; the API agrees", async ({ db, browser }) => {
    const result = await new PingPongExecutor(db).execute(atomicFlow(`rolled-back-${backend.name}`), new ScriptedAgent());
    expect(result.status).toBe("rolled_back");
    const id = result.executionId;
    await withServer({ db }, async (url) => {
      await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
        await page.goto(`${url}/runs/${encodeURIComponent(id)}`);
        await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 60_000 });
        // The API's diagram: its steps were undone, and it says so (as /api/v1/flows/{id}?format=mmd draws it).
        expect(await page.locator("#diagram svg").textContent()).toContain(
          "No steps recorded2 of the 2 planned steps have no record (they never ran, or were rolled back)",
        );
        // Nothing more will happen to it: no live note, so no stream and no reload waiting for a consolidation.
        expect(await page.locator("#live-note").count()).toBe(0);
        const banner = await page.locator("#run-head").innerText();
        expect(banner).toContain(SKIPPED);
        expect(banner).toContain("Stopped: critical step swap failed: nope; every step was rolled back");
        expect(await page.locator("body").innerText()).not.toMatch(/loading its diagram|drawn when the run ends/);
        await screenshot(page, `run-rolled-back-${backend.name}`);
        expect(errors).toEqual([]);
      });
      const status = await (await fetch(`${url}/api/v1/consolidation/${encodeURIComponent(id)}/status`)).json();
      expect(status).toMatchObject({
        status: "skipped",
        complete: false,
        message: "Not consolidated: the execution was rolled back, so it has no steps to consolidate.",
      });
      const execution = await (await fetch(`${url}/api/v1/executions/${encodeURIComponent(id)}`)).json();
      expect(execution).toMatchObject({
        consolidation_status: "skipped",
        consolidation_error: "the execution was rolled back, so it has no steps to consolidate",
      });
      const mmd = await fetch(`${url}/api/v1/flows/${encodeURIComponent(id)}?format=mmd`);
      expect(mmd.status).toBe(200);
      expect(await mmd.text()).toContain("2 of the 2 planned steps have no record (they never ran, or were rolled back)");
    });
  }, 120_000);

  test("opened while it ran, reloads once when it is rolled back, and draws its diagram then", async ({ db, browser }) => {
    const id = `rolled-back-live-${backend.name}-${Date.now()}`;
    await db.writer.createExecutionSession({
      executionId: id,
      flowId: "rolled-back-live",
      agent: "scripted",
      prompt: "p",
      metadata: { steps: ["a", "b"] },
    });
    await withServer({ db }, async (url) => {
      await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
        await page.goto(`${url}/runs/${id}`);
        await expect.poll(() => page.locator("#live-note").textContent(), { timeout: 30_000 }).toMatch(/^Live: /);
        const reloaded = page.waitForEvent("load", { timeout: 60_000 });
        // What the executor leaves of an atomic run it rolled back: no step, and the run's end.
        await db.writer.finishExecutionSession(id, {
          status: "rolled_back",
          error: "Stopped: critical step b failed: nope; every step was rolled back",
          durationMs: 1,
          finishedAt: new Date(),
        });
        await reloaded;
        await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 60_000 });
        expect(await page.locator("#live-note").count()).toBe(0);
        expect(await page.locator("#run-head").innerText()).toContain(SKIPPED);
        expect(errors).toEqual([]);
      });
    });
  }, 120_000);
});
