// A live run's page follows it in its banner and step table, while its diagram is drawn when the page
// loads: the drawing's own "7 of the 8 planned steps are not recorded yet" sat under the banner's live
// "4 of the 8", and opened before the first step it read "No steps recorded" beside "4 of 4 steps succeeded".
import type { Database } from "@reev/db";
import { testBackends } from "@reev/db/testing";
import { consolidateExecution } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { test, withServer } from "./support/viewer-test.js";

const PLANNED = ["step_0", "step_1", "step_2", "step_3"];

/** Starts a run of the four PLANNED steps, as reev run records it. */
const startRun = (db: Database, executionId: string) =>
  db.writer.createExecutionSession({ executionId, flowId: "live-diagram", agent: "scripted", prompt: "p", metadata: { steps: PLANNED } });

/** Commits step `i` of the run, as its process does. */
async function commitStep(db: Database, executionId: string, i: number) {
  const at = new Date();
  await db.writer.storeSteps(executionId, [
    {
      stepIndex: i,
      stepId: PLANNED[i] as string,
      status: "success",
      error: null,
      score: 1,
      durationMs: 5,
      startedAt: at,
      finishedAt: at,
      toolCalls: [{ attempt: 1, toolName: "tool", input: { i }, output: { ok: true }, success: true, durationMs: 2, error: null }],
    },
  ]);
}

describe.each(testBackends())("a live run's diagram on $name", (backend) => {
  test.override({ backend });

  test("counts no unrecorded steps of its own while the banner counts them live, and says when it was drawn", async ({ db, browser }) => {
    const id = `live-diagram-${backend.name}-${Date.now()}`;
    await startRun(db, id);
    await commitStep(db, id, 0);
    try {
      await withServer({ db }, async (url) => {
        await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
          await page.goto(`${url}/runs/${id}`);
          const diagram = page.locator('#diagram[data-render-state="rendered"]');
          await diagram.waitFor({ timeout: 60_000 });
          await expect.poll(() => page.locator("#live-note").textContent(), { timeout: 30_000 }).toMatch(/^Live: /);
          const banner = page.locator("#run-head");
          expect(await banner.innerText()).toContain("3 of the 4 planned steps are not recorded yet");
          expect(await page.locator(".diagram-note").innerText()).toBe(
            "Drawn when the page loaded, from the 1 step committed then. The status and the steps follow the run live; the diagram is drawn again when it ends.",
          );
          await commitStep(db, id, 1);
          await expect.poll(() => page.locator("#run-steps tr[data-state-id]").count(), { timeout: 30_000 }).toBe(2);
          await expect.poll(() => banner.innerText(), { timeout: 30_000 }).toContain("2 of the 4 planned steps are not recorded yet");
          // The drawing (one step) gives no count of the planned steps that the banner's would contradict.
          const drawn = await diagram.locator("svg").textContent();
          expect(drawn).toContain("step_0");
          expect(drawn).not.toMatch(/planned steps/);
          expect(await page.locator("body").innerText()).not.toContain("3 of the 4 planned steps");
          await screenshot(page, `run-live-diagram-${backend.name}`);
          expect(errors).toEqual([]);
        });
      });
    } finally {
      await db.writer.finishExecutionSession(id, { status: "cancelled", error: "test over", durationMs: 1, finishedAt: new Date() });
    }
  }, 120_000);

  test("opened before its first step, draws no empty diagram but says the diagram comes when the run ends, and draws it then", async ({
    db,
    browser,
  }) => {
    const id = `live-diagram-empty-${backend.name}-${Date.now()}`;
    await startRun(db, id);
    try {
      await withServer({ db }, async (url) => {
        await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
          await page.goto(`${url}/runs/${id}`);
          await expect.poll(() => page.locator("#live-note").textContent(), { timeout: 30_000 }).toMatch(/^Live: /);
          expect(await page.locator("#diagram").count()).toBe(0);
          const flow = page.getByRole("region", { name: "Flow diagram" });
          expect(await flow.innerText()).toContain(
            "No step was committed when the page loaded, so there is no diagram yet: it is drawn when the run ends.",
          );
          expect(await flow.innerText()).not.toContain("No steps recorded");
          await commitStep(db, id, 0);
          await expect.poll(() => page.locator("#run-head").innerText(), { timeout: 30_000 }).toContain("1 of 1 step");
          await screenshot(page, `run-live-diagram-empty-${backend.name}`);
          // The run ends: the page reloads once, and draws the run's diagram.
          const reloaded = page.waitForEvent("load", { timeout: 60_000 });
          await db.writer.finishExecutionSession(id, { status: "cancelled", error: "stopped", durationMs: 1, finishedAt: new Date() });
          await consolidateExecution(db, id);
          await reloaded;
          await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 60_000 });
          expect(await page.locator("#diagram svg").textContent()).toContain("step_0");
          expect(errors).toEqual([]);
        });
      });
    } finally {
      if ((await db.writer.getExecutionSession(id))?.status === "running")
        await db.writer.finishExecutionSession(id, { status: "cancelled", error: "test over", durationMs: 1, finishedAt: new Date() });
    }
  }, 120_000);
});
