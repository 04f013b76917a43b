import { testBackends } from "@reev/db/testing";
import { compareStored, type EvaluationReport, formatTokenTriple, formatUsd, pValueText } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { evaluationPlans, recordEvaluation, recordInterruptedEvaluation } from "./support/evaluations.js";
import { DESKTOP_AND_PHONE, test, withServer } from "./support/viewer-test.js";

describe.each(testBackends())("the evaluation pages in Chromium on $name", (backend) => {
  test.override({ backend });
  test("list → evaluation → its runs and its comparison with the baseline, as the database has them", async ({ db, browser }) => {
    const prefix = `viewer-eval-${backend.name}`;
    const ids = { v1: `${prefix}-v1`, v2: `${prefix}-v2` };
    await recordEvaluation(db, {
      id: ids.v1,
      name: "baseline",
      plans: evaluationPlans(prefix, false),
      repeat: 5,
      startedAt: new Date(Date.UTC(2026, 11, 3, 9)),
    });
    await recordEvaluation(db, {
      id: ids.v2,
      name: "candidate <b>&</b>",
      plans: evaluationPlans(prefix, true),
      repeat: 5,
      startedAt: new Date(Date.UTC(2026, 11, 3, 10)),
      baseline: ids.v1,
    });
    const stored = (await db.writer.getEvaluationRun(ids.v2))!;
    const report = stored.summary as unknown as EvaluationReport;
    await withServer({ db }, async (url) => {
      for (const [width, height, label] of DESKTOP_AND_PHONE) {
        await withPage(browser, { width, height }, async ({ page, errors }) => {
          await page.goto(url);
          await page.getByRole("link", { name: "Evaluations" }).click();
          await page.waitForURL("**/evaluations");
          expect(
            await page.locator("tr[data-evaluation-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-evaluation-id"))),
          ).toEqual([ids.v2, ids.v1]);
          expect(await page.locator(`tr[data-evaluation-id="${ids.v2}"] td[data-label="Passed"]`).textContent()).toBe(
            `${report.passes}/${report.runs} (50.0%)`,
          );
          await screenshot(page, `evaluations-${label}`);

          await page.locator(`tr[data-evaluation-id="${ids.v2}"] a`).click();
          await page.waitForURL(`**/evaluations/${ids.v2}`);
          // The name is text, never markup.
          expect(await page.locator("h1").textContent()).toBe("Evaluation candidate <b>&</b>");
          for (const flow of report.flows) {
            const row = page.locator(`table.flows tr[data-flow-id="${flow.flowId}"]`).first();
            const text = (await row.textContent()) ?? "";
            expect(text).toContain(`${flow.passes}/${flow.runs}`);
            // A flow whose runs reported no usage shows one "—", not "— / — / —".
            const anyTokens = [flow.inputTokens.total, flow.outputTokens.total, flow.cachedInputTokens.total].some((n) => n !== null);
            expect(await row.locator('td[data-label="tokens in / out / cached"]').textContent()).toBe(
              anyTokens ? formatTokenTriple(flow) : "—",
            );
            expect(text).toContain(formatUsd(flow.costUsd.total));
            expect(await row.locator(".bar").getAttribute("aria-label")).toContain(
              `pass rate ${((flow.passRate?.rate ?? 0) * 100).toFixed(1)}%`,
            );
            const links = page.locator(`section[id="flow-${flow.flowId}"] ul.runs a`);
            expect(await links.evaluateAll((as) => as.map((a) => a.textContent))).toEqual(flow.runIds);
          }
          await screenshot(page, `evaluation-${label}`);

          // A run's link opens its page in the viewer.
          const firstRun = report.flows[0]!.runIds[0]!;
          await page.locator(`ul.runs a`, { hasText: firstRun }).click();
          await page.waitForURL(`**/runs/${firstRun}`);
          await page.locator('#diagram[data-render-state="rendered"]').waitFor({ timeout: 30_000 });
          await page.goBack();

          await page.getByRole("link", { name: `Compare with its baseline ${ids.v1}` }).click();
          await page.waitForURL("**/compare?**");
          const verdict = (flowId: string) => page.locator(`table.flows tr[data-flow-id="${flowId}"] td`).nth(1).textContent();
          expect(await verdict(`${prefix}-shaky`)).toBe("regression");
          expect(await verdict(`${prefix}-steady`)).toBe("no credible difference");
          expect(await page.locator('table.flows tr[data-step-id="write"] td').nth(1).textContent()).toBe("regression");
          // The CLI table's columns, the p-value included, and in every row each value under its own header.
          const headers = await page.locator("table.flows thead th").allTextContents();
          expect(headers).toEqual([
            "flow / step",
            "verdict",
            "A → B",
            "p",
            "Δ pass^k",
            "Δ mean score",
            "Δ p50",
            "Δ tokens in / out per run",
            "Δ cost per run",
          ]);
          const rows = await page
            .locator("table.flows tbody tr")
            .evaluateAll((trs) =>
              trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => [td.dataset.label, td.colSpan, td.textContent])),
            );
          for (const cells of rows) {
            expect(cells.map(([label]) => label)).toEqual(headers);
            expect(cells.every(([, span]) => span === 1)).toBe(true);
          }
          // The p-values are the stored runs' (Fisher's exact test, as reev compare computes it); a step has no Δ of its own.
          const { comparison } = await compareStored(db, ids.v1, ids.v2);
          const cell = (row: string, header: string) =>
            page.locator(`table.flows tr[${row}] td`).nth(headers.indexOf(header)).textContent();
          for (const flow of comparison.flows) {
            expect(await cell(`data-flow-id="${flow.flowId}"`, "p")).toBe(pValueText(flow.passes));
            for (const step of flow.steps) {
              expect(await cell(`data-step-id="${step.stepId}"`, "p")).toBe(pValueText(step.passes));
              expect(await cell(`data-step-id="${step.stepId}"`, "Δ pass^k")).toBe("");
            }
          }
          expect(await cell('data-step-id="write"', "p")).toMatch(/^0\.0\d{3}$/);
          expect(await page.getByText("more runs of both would tell").count()).toBe(1);
          // Each side by its name and its id; the name is text, never markup.
          expect(await page.locator('[data-side="A"]').textContent()).toBe(`A baseline ${ids.v1}`);
          expect(await page.locator('[data-side="B"]').textContent()).toBe(`B candidate <b>&</b> ${ids.v2}`);
          expect(await page.locator("h1").textContent()).toBe(`Compare baseline (${ids.v1}) → candidate <b>&</b> (${ids.v2})`);
          await screenshot(page, `compare-${label}`);

          expect(errors).toEqual([]);

          // A bad comparison is said in the page, with the form kept; the browser logs only its 404 status.
          const bad = await page.goto(`${url}/compare?a=${ids.v1}&b=nope`);
          expect(bad?.status()).toBe(404);
          expect(await page.getByRole("alert").textContent()).toContain('No evaluation or execution "nope"');
          expect(await page.locator('input[name="a"]').inputValue()).toBe(ids.v1);
          // An id as reev eval makes them (eval_ + time + suffix) shows whole in the form's field.
          await page.locator('input[name="b"]').fill("eval_20261204083342_3f9a0c");
          expect(await page.locator('input[name="b"]').evaluate((input) => input.scrollWidth <= input.clientWidth)).toBe(true);
          expect(errors).toEqual(["Failed to load resource: the server responded with a status of 404 (Not Found)"]);
        });
      }
    });
  }, 300_000);

  test("an evaluation interrupted before any run finished shows one — per missing figure and says no run of a flow was counted", async ({
    db,
    browser,
  }) => {
    const id = `viewer-eval-zero-${backend.name}`;
    const plans = evaluationPlans(id, false);
    await recordInterruptedEvaluation(db, { id, name: "interrupted", plans, repeat: 5, startedAt: new Date(Date.UTC(2026, 11, 1)) });
    // A run it cancelled when interrupted: linked under "Runs not counted", within a phone's width too.
    const cancelled = `exec_${id}_r1_1796451289622_4952d2`;
    await db.writer.createExecutionSession({
      executionId: cancelled,
      flowId: plans[0]!.flowId,
      agent: "scripted",
      prompt: "p",
      evaluationId: id,
    });
    await db.writer.finishExecutionSession(cancelled, { status: "cancelled", error: "interrupted" });
    await withServer({ db }, async (url) => {
      for (const width of [1280, 390]) {
        await withPage(browser, { width, height: 844 }, async ({ page, errors }) => {
          await page.goto(`${url}/evaluations/${id}`);
          expect(await page.locator("p.ids").textContent()).toContain("incomplete");
          for (const plan of plans) {
            const row = page.locator(`table.flows tr[data-flow-id="${plan.flowId}"]`);
            const cell = (label: string) => row.locator(`td[data-label="${label}"]`).evaluate((td) => td.textContent?.trim());
            expect(await cell("pass rate (95% CI)")).toBe("—");
            expect(await cell("passes")).toBe("0/0");
            expect(await cell("p50 · p95")).toBe("—");
            expect(await cell("tokens in / out / cached")).toBe("—");
            const flow = page.locator(`section[id="flow-${plan.flowId}"]`);
            expect(await flow.locator("table").count()).toBe(0);
            expect(await flow.innerText()).toContain(
              "No run of this flow was counted: the evaluation was interrupted before any finished.",
            );
          }
          expect(await page.locator("main").innerText()).not.toMatch(/——|—–—/);
          expect(await page.locator('section[aria-label="Runs not counted"] a').textContent()).toBe(cancelled);
          expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
          await screenshot(page, `evaluation-zero-runs-${width}`);
          expect(errors).toEqual([]);
        });
      }
    });
  }, 120_000);

  test("the list picks two evaluations to compare, without a script, and leads to the comparison of exactly those two", async ({
    db,
    browser,
  }) => {
    const prefix = `viewer-pick-${backend.name}`;
    const ids = [1, 2, 3].map((n) => `${prefix}-v${n}`);
    for (const [i, id] of ids.entries())
      await recordEvaluation(db, {
        id,
        name: `release ${i + 1}`,
        plans: evaluationPlans(prefix, i === 1),
        repeat: 2,
        startedAt: new Date(Date.UTC(2026, 11, 3, 9 + i)),
      });
    const [v1, v2, v3] = ids as [string, string, string];
    await withServer({ db }, async (url) => {
      for (const [width, height, label, javaScriptEnabled] of [
        [1280, 800, "desktop", true],
        [390, 844, "phone", false],
      ] as const) {
        await withPage(browser, { width, height, javaScriptEnabled }, async ({ page, errors }) => {
          await page.goto(`${url}/evaluations`);
          const pick = (side: "A (baseline)" | "B (candidate)", id: string, name: string) =>
            page.getByRole("radio", { name: `${side}: ${name} (${id})`, exact: true });
          // At first: the newest as B, the one before as A.
          expect(await pick("B (candidate)", v3, "release 3").isChecked()).toBe(true);
          expect(await pick("A (baseline)", v2, "release 2").isChecked()).toBe(true);
          expect(await page.getByRole("radio", { checked: true }).count()).toBe(2);
          await screenshot(page, `evaluations-pick-${label}`);
          // Each row's A and B side by side, and the list as wide as the screen, not wider.
          const tops = await page
            .locator(`tr[data-evaluation-id="${v1}"] td.pick label`)
            .evaluateAll((labels) => labels.map((l) => Math.round(l.getBoundingClientRect().top)));
          expect(tops).toHaveLength(2);
          expect(tops[0]).toBe(tops[1]);
          expect(await page.locator(".table-wrap").evaluate((wrap) => wrap.scrollWidth <= wrap.clientWidth)).toBe(true);
          expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);

          // Both picked, neither the one offered at first.
          await pick("A (baseline)", v1, "release 1").check();
          await pick("B (candidate)", v2, "release 2").check();
          await page.getByRole("button", { name: "Compare A → B" }).click();
          await page.waitForURL("**/compare?**");
          const query = new URL(page.url()).searchParams;
          expect([query.get("a"), query.get("b")]).toEqual([v1, v2]);
          expect(await page.locator('[data-side="A"]').textContent()).toBe(`A release 1 ${v1}`);
          expect(await page.locator('[data-side="B"]').textContent()).toBe(`B release 2 ${v2}`);
          expect(await page.locator("h1").textContent()).toBe(`Compare release 1 (${v1}) → release 2 (${v2})`);
          await screenshot(page, `evaluations-picked-compare-${label}`);
          expect(errors).toEqual([]);
        });
      }
    });
  }, 300_000);
});
