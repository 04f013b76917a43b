// A run whose steps all succeeded but that failed an `expect` check did not pass: the run page's
// banner says so first, in `reev eval`'s words, and is not green (it read "✅ Run completed · 2 of 2
// steps succeeded", with the failed check only at the bottom of the page).
import { testBackends } from "@reev/db/testing";
import { parseFlowPlan } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { runFlow } from "./support/runs.js";
import { test, withServer } from "./support/viewer-test.js";

/** Two steps that succeed; the swap's amount is not the one its step expects (`args`) unless `amount` is 2. */
const plan = (flowId: string, amount: number) =>
  parseFlowPlan(
    JSON.stringify({
      flowId,
      prompt: "swap 2",
      expect: { forbiddenTools: ["transfer"] },
      steps: [
        {
          stepId: "balance",
          prompt: "balance",
          script: [{ toolCalls: [{ toolName: "get_balance" }] }],
          expect: { tools: ["get_balance"] },
        },
        {
          stepId: "swap",
          prompt: "swap",
          script: [{ toolCalls: [{ toolName: "swap", input: { amount } }] }],
          expect: { args: { swap: { amount: 2 } } },
        },
      ],
    }),
  );

describe.each(testBackends())("the run page's banner counts the run's checks on $name", (backend) => {
  test.override({ backend });
  test("a completed run that failed a step's check says so in red; one whose checks held stays green", async ({ db, browser }) => {
    const failing = await runFlow(db, plan(`banner-checks-${backend.name}-failing`, 3));
    const holding = await runFlow(db, plan(`banner-checks-${backend.name}-holding`, 2));
    await withServer({ db }, async (url) => {
      await withPage(browser, { width: 1280, height: 800 }, async ({ page, errors }) => {
        await page.goto(`${url}/runs/${failing}`);
        const banner = page.getByRole("status", { name: "Run status" });
        expect((await banner.locator(".headline").innerText()).trim()).toBe("❌ Run completed, failed a check (✗ swap › args)");
        expect(await banner.getAttribute("class")).toBe("banner bad");
        expect(await banner.getAttribute("data-checks")).toBe("failed");
        // Red (#dc3545), not the completed run's green (#28a745).
        expect(await banner.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).borderLeftColor)).toBe("rgb(220, 53, 69)");
        await page.goto(`${url}/runs/${holding}`);
        const green = page.getByRole("status", { name: "Run status" });
        expect((await green.locator(".headline").innerText()).trim()).toBe("✅ Run completed");
        expect(await green.getAttribute("class")).toBe("banner ok");
        expect(await green.getAttribute("data-checks")).toBeNull();
        expect(await green.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).borderLeftColor)).toBe("rgb(40, 167, 69)");
        await page.goto(`${url}/runs/${failing}`);
        await screenshot(page, "run-banner-check-failed", { fullPage: false });
        expect(errors).toEqual([]);
      });
      // The report download is the same page's banner.
      const html = await (await fetch(`${url}/api/v1/flows/${failing}?format=html`)).text();
      expect(html).toContain("❌ Run completed, failed a check (✗ swap › args)</p>");
    });
  }, 120_000);
});
