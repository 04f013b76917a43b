// URLs a person types: "/runs/" was the page "No page at /runs/.", and a missing page under
// /evaluations led "← Back to the runs list".
import { describe, expect } from "vitest";
import { screenshot, withPage } from "./support/chromium.js";
import { test, withServer } from "./support/viewer-test.js";

describe("the viewer's URLs in Chromium", () => {
  test("a list page typed with a trailing slash shows the list; a missing page under /evaluations leads back to the evaluations list", async ({
    db,
    browser,
  }) => {
    await withServer({ db }, async (url) => {
      await withPage(browser, { width: 390, height: 844 }, async ({ page, errors }) => {
        for (const [typed, landed, heading] of [
          ["/runs/", "/", "Runs"],
          ["/evaluations/", "/evaluations", "Evaluations"],
          ["/compare/", "/compare", "Compare"],
        ] as const) {
          const response = await page.goto(`${url}${typed}`);
          expect({ typed, status: response?.status(), path: new URL(page.url()).pathname }).toEqual({ typed, status: 200, path: landed });
          expect(await page.locator("h1").innerText()).toBe(heading);
        }
        await page.goto(`${url}/evaluations/some-id/more`);
        expect(await page.locator("h1").innerText()).toBe("Not found");
        await screenshot(page, "not-found-under-evaluations-phone");
        await page.getByRole("link", { name: "← Back to the evaluations list" }).click();
        await page.waitForURL(`${url}/evaluations`);
        expect(await page.locator("h1").innerText()).toBe("Evaluations");
        expect(errors.filter((e) => !e.includes("404"))).toEqual([]);
      });
    });
  }, 60_000);
});
