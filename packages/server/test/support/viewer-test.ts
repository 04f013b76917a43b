import { test as databaseTest } from "@reev/db/testing";
import { createServer, type ServerOptions } from "../../src/index.js";
import { launchChromium } from "./chromium.js";

/**
 * `test` from @reev/db/testing with `browser`: one Chromium per test file, launched for the first
 * test that asks for it and closed after the file, since a launch costs more than most tests here.
 */
export const test = databaseTest.extend(
  "browser",
  { scope: "file" },
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern, and this one has none.
  async ({}, { onCleanup }) => {
    const browser = await launchChromium();
    onCleanup(() => browser.close());
    return browser;
  },
);

/** The viewports a page must work in, named for screenshots: a desktop window, and a phone's 390 px, where tables must reflow. */
export const DESKTOP_AND_PHONE = [
  [1280, 900, "desktop"],
  [390, 844, "phone"],
] as const;

/**
 * Runs `use` with the URL of a server (logging nothing) on a free port, and closes it whatever
 * happens, so a failed check is reported as itself instead of leaving the port open.
 */
export async function withServer<T>(options: ServerOptions, use: (url: string) => Promise<T>): Promise<T> {
  const server = createServer({ log: () => {}, ...options });
  const { url } = await server.listen({ port: 0 });
  try {
    return await use(url);
  } finally {
    await server.close();
  }
}
