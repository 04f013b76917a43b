// Two runs of a flow compared, B cancelled after fewer steps: its shorter duration read "Δ p50 −28.45s",
// a speed-up, and the page said "Tokens and cost are compared per run, as the two sides may hold
// different numbers of runs" of one run against one.
import type { Database } from "@reev/db";
import { testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { screenshot, withPage } from "./support/chromium.js";
import { flowPlan, runFlow } from "./support/runs.js";
import { test, withServer } from "./support/viewer-test.js";

const PER_RUN = "Tokens and cost are compared per run";

/** A run of `flowId` cancelled after its first of two planned steps, as Ctrl-C leaves one. */
async function cancelledRun(db: Database, flowId: string): Promise<string> {
  const executionId = `cancelled-${flowId}-${Date.now()}`;
  await db.writer.createExecutionSession({
    executionId,
    flowId,
    agent: "scripted",
    prompt: "p",
    metadata: { steps: ["step_0", "step_1"] },
  });
  const at = new Date();
  await db.writer.storeSteps(executionId, [
    {
      stepIndex: 0,
      stepId: "step_0",
      status: "success",
      error: null,
      score: 1,
      durationMs: 5,
      startedAt: at,
      finishedAt: at,
      toolCalls: [{ attempt: 1, toolName: "tool", input: {}, output: { ok: true }, success: true, durationMs: 2, error: null }],
    },
  ]);
  await db.writer.finishExecutionSession(executionId, {
    status: "cancelled",
    error: "cancelled by Ctrl-C",
    durationMs: 1,
    finishedAt: new Date(),
  });
  return executionId;
}

describe.each(testBackends())("comparing a run with one that did not complete on $name", (backend) => {
  test.override({ backend });

  test("the duration is not compared and the page says why and how B ended; no per-run note for one run against one", async ({
    db,
    browser,
  }) => {
    const flowId = `cmp-unfinished-${backend.name}`;
    const a = await runFlow(db, flowPlan(flowId, 2, { delayMs: 20 }));
    const b = await cancelledRun(db, flowId);
    const why = `B did not complete (its status is cancelled), so its duration is not compared: Δ p50 and Δ p95 are "—", as a run cut short is shorter, not faster.`;
    // The API's JSON (reev compare --format json's document) says the same as the page.
    const { app } = createServer({ db, log: () => {} });
    const api = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a, b })}`)).json()) as {
      comparison: {
        notes: string[];
        flows: { p50DurationDelta: number | null; p95DurationDelta: number | null; passes: { reason: string } }[];
      };
    };
    expect(api.comparison.notes).toEqual([why]);
    expect(api.comparison.flows[0]).toMatchObject({ p50DurationDelta: null, p95DurationDelta: null });
    expect(api.comparison.flows[0]?.passes.reason).toMatch(/; B did not complete \(cancelled\)$/);
    // Two completed runs: their durations are compared, with no note at all.
    const again = await runFlow(db, flowPlan(flowId, 2));
    const whole = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a, b: again })}`)).json()) as typeof api;
    expect(whole.comparison.notes).toEqual([]);
    expect(whole.comparison.flows[0]?.p50DurationDelta).toEqual(expect.any(Number));

    await withServer({ db }, async (url) => {
      await withPage(browser, { width: 1280, height: 900 }, async ({ page, errors }) => {
        await page.goto(`${url}/compare?${new URLSearchParams({ a, b })}`);
        const notes = page.getByRole("region", { name: "Read first" });
        expect(await notes.innerText()).toContain(why);
        expect(await page.locator("body").innerText()).not.toContain(PER_RUN);
        const row = page.locator(`tr[data-flow-id="${flowId}"]`);
        expect((await row.locator('td[data-label="Δ p50"]').innerText()).trim()).toBe("—");
        expect(await row.locator('td[data-label="verdict"]').getAttribute("title")).toMatch(/B did not complete \(cancelled\)$/);
        await screenshot(page, `compare-unfinished-${backend.name}`);
        await page.goto(`${url}/compare?${new URLSearchParams({ a, b: again })}`);
        expect((await page.locator(`tr[data-flow-id="${flowId}"] td[data-label="Δ p50"]`).innerText()).trim()).not.toBe("—");
        expect(await page.locator("body").innerText()).not.toContain("did not complete");
        expect(errors).toEqual([]);
      });
    });
  }, 120_000);
});
