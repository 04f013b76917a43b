import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where the browser tests keep their screenshots (test artifacts, not committed). */
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts");

/** Debian's Chromium (REEV_CHROMIUM elsewhere), driven by playwright-core; never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.REEV_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
  });
}

export type WatchedPage = { page: Page; errors: string[] };

/**
 * Runs `use` on a new page of that viewport (scripts on unless `javaScriptEnabled: false`) that
 * records every console error and uncaught exception (for the "no errors" check), and closes the page
 * whatever happens. An open page keeps its live connections (the
 * runs list's, a run's event stream), and server.close() would wait on them until the test timed
 * out, hiding the failed check behind a timeout.
 */
export async function withPage<T>(
  browser: Browser,
  options: { width: number; height: number; javaScriptEnabled?: boolean },
  use: (watched: WatchedPage) => Promise<T>,
): Promise<T> {
  const { width, height, javaScriptEnabled = true } = options;
  const page = await browser.newPage({ viewport: { width, height }, javaScriptEnabled });
  try {
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    return await use({ page, errors });
  } finally {
    await page.close();
  }
}

/**
 * A screenshot under test-artifacts/, to look at after a run: the full page unless `fullPage` is
 * false (a 3,000-row page is too tall to shoot). A full-page capture can fail on a loaded machine
 * ("Unable to capture screenshot", seen in CI) although the page is fine; the picture is for people,
 * not an assertion, so it falls back to the viewport rather than failing the test it illustrates.
 */
export async function screenshot(page: Page, name: string, { fullPage = true }: { fullPage?: boolean } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  if (fullPage) {
    try {
      await page.screenshot({ path, fullPage });
      return;
    } catch (error) {
      console.warn(
        `screenshot ${name}: the full page could not be captured (${(error as Error).message.split("\n")[0]}); shooting the viewport`,
      );
    }
  }
  await page.screenshot({ path });
}
