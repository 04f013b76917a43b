// A run page shows the run's `expect` verdicts, so a failed check does not read as a plain tool
// failure, and a run of an evaluation links back to it; on a phone its parts each read as one unit.
// The empty compare page says what it is for.
import { testBackends } from "@reev/db/testing";
import type { EvaluationReport } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { evaluationPlans, recordEvaluation } from "./support/evaluations.js";
import { test, withServer } from "./support/viewer-test.js";

const FORBIDDEN = "delete is forbidden but was called 1 time (failed calls count too)";

describe.each(testBackends())("a run's checks in the viewer on $name", (backend) => {
  test.override({ backend });
  test("the run page lists each step's checks with the reasons of those that failed, and links to its evaluation", async ({
    db,
    browser,
  }) => {
    const prefix = `viewer-checks-${backend.name}`;
    const evaluationId = `${prefix}-eval`;
    await recordEvaluation(db, {
      id: evaluationId,
      name: "checks",
      plans: evaluationPlans(prefix, false),
      repeat: 2,
      startedAt: new Date(),
    });
    const report = (await db.writer.getEvaluationRun(evaluationId))!.summary as unknown as EvaluationReport;
    const shaky = report.flows.find((f) => f.flowId === `${prefix}-shaky`)!;
    // Run 2 of shaky calls the forbidden tool; run 1 holds.
    const failed = shaky.runIds.find((id) => /_r2_/.test(id))!;
    const passed = shaky.runIds.find((id) => /_r1_/.test(id))!;
    const steady = report.flows.find((f) => f.flowId === `${prefix}-steady`)!.runIds[0]!;
    await withServer({ db }, async (url) => {
      for (const [width, height, label] of [
        [1280, 800, "desktop"],
        [390, 844, "phone"],
      ] as const) {
        await withPage(browser, { width, height }, async ({ page, errors }) => {
          await page.goto(`${url}/runs/${failed}`);
          await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 30_000 });
          const checks = page.getByRole("region", { name: "Checks" });
          expect(
            await checks.locator(":scope > ul > li").evaluateAll((lis) => lis.map((li) => li.firstChild?.textContent?.trim())),
          ).toEqual(["✗"]);
          expect((await checks.innerText()).split("\n")).toEqual(["Checks", "✗ step 0 · write", `✗ forbiddenTools: ${FORBIDDEN}`]);
          // The step's row says which check failed, apart from its tool calls (which all succeeded).
          expect((await page.locator('.steps-table td[data-label="Checks"]').innerText()).trim()).toBe("✗ forbiddenTools");
          await screenshot(page, `run-checks-failed-${label}`);

          // Each download link is one line, clear of the status banner below.
          const lines = await page.locator(".downloads a").evaluateAll((as) => as.map((a) => a.getClientRects().length));
          expect(lines).toEqual([1, 1, 1]);
          const downloadsBottom = (await page.locator(".downloads").boundingBox())!;
          const banner = (await page.locator(".banner").first().boundingBox())!;
          expect(banner.y - (downloadsBottom.y + downloadsBottom.height)).toBeGreaterThanOrEqual(8);

          // The run's evaluation, one click away.
          await page.getByRole("link", { name: evaluationId }).click();
          await page.waitForURL(`**/evaluations/${evaluationId}`);
          // A figure and its qualifier read as one unit: "1.00 k=2" side by side, a min–max range never broken.
          for (const flow of report.flows) {
            const row = page.locator(`table.flows tr[data-flow-id="${flow.flowId}"]`).first();
            const passAtK = row.locator('td[data-label="pass@k"] .figure');
            expect(await passAtK.evaluate((e) => e.getClientRects().length)).toBe(1);
            const [value, k] = await passAtK.evaluate((e) => {
              const range = e.ownerDocument.createRange();
              range.selectNodeContents(e.firstChild!);
              return [range.getBoundingClientRect(), e.querySelector(".note")!.getBoundingClientRect()].map((r) => ({
                left: r.left,
                right: r.right,
                top: r.top,
              }));
            });
            expect(k!.left - value!.right).toBeLessThan(12);
            expect(Math.abs(k!.top - value!.top)).toBeLessThan(8);
            const units = row.locator('td[data-label^="score"] .unit');
            // Mean, median, min–max and the scored count; a flow no run scored has one "—" and the count.
            expect(await units.evaluateAll((us) => us.map((u) => u.getClientRects().length))).toEqual(
              Array(flow.score.mean === null ? 2 : 4).fill(1),
            );
          }
          await screenshot(page, `evaluation-units-${label}`);
          expect(errors).toEqual([]);

          await page.goto(`${url}/runs/${passed}`);
          expect((await page.getByRole("region", { name: "Checks" }).innerText()).split("\n")).toEqual([
            "Checks",
            "✓ step 0 · write",
            "✓ forbiddenTools",
          ]);
          expect((await page.locator('.steps-table td[data-label="Checks"]').innerText()).trim()).toBe("✓ 1 check");
          // A run without expect blocks has no checks section.
          await page.goto(`${url}/runs/${steady}`);
          expect(await page.getByRole("region", { name: "Checks" }).count()).toBe(0);
          expect(await page.locator('.steps-table td[data-label="Checks"]').count()).toBe(0);
          expect(errors).toEqual([]);

          // The empty compare page says what it compares and where the ids are, its inputs labelled.
          await page.goto(`${url}/compare`);
          expect(await page.locator("h1").textContent()).toBe("Compare");
          expect(await page.locator("header p").innerText()).toContain("evaluation ids are on Evaluations or from reev evaluations.");
          expect(await page.getByRole("link", { name: "Evaluations" }).last().getAttribute("href")).toBe("/evaluations");
          expect(await page.getByLabel("A (baseline)").getAttribute("name")).toBe("a");
          expect(await page.getByLabel("B (candidate)").getAttribute("name")).toBe("b");
          await screenshot(page, `compare-empty-${label}`);
          expect(errors).toEqual([]);
        });
      }
      // The report download carries the same verdicts.
      const html = await (await fetch(`${url}/api/v1/flows/${failed}?format=html`)).text();
      expect(html).toContain("delete is forbidden but was called 1 time");
    });
  }, 300_000);
});
