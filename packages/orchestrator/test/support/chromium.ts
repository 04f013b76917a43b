import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";
import { clientBundle } from "../../src/mermaid/client-bundles.js";

const execFileAsync = promisify(execFile);

/** REEV_CHROMIUM wins so CI images that ship chromium elsewhere need no code change. */
export function chromiumPath(): string | null {
  const candidate = process.env.REEV_CHROMIUM ?? "/usr/bin/chromium";
  return existsSync(candidate) ? candidate : null;
}

/**
 * Locally a missing browser skips the rendering tests; in CI it must not, or a broken
 * image would silently turn the only real-rendering check green.
 */
export function shouldSkipChromium(): boolean {
  return chromiumPath() === null && !process.env.CI;
}

// Everything that could reach the network or keep state between runs is switched off: the
// rendering check must be hermetic and repeatable.
const QUIET_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-dev-shm-usage",
  "--hide-scrollbars",
  "--mute-audio",
];

/** Debian's Chromium driven by playwright-core; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === null)
    throw new Error("chromium not found: install Debian's chromium (apt-get install chromium) or set REEV_CHROMIUM");
  return chromium.launch({ executablePath, args: QUIET_FLAGS });
}

async function withChromium<T>(html: string, run: (binary: string, page: string, profile: string) => Promise<T>): Promise<T> {
  const binary = chromiumPath();
  if (binary === null) throw new Error("chromium not found: set REEV_CHROMIUM or install /usr/bin/chromium");
  const dir = await mkdtemp(join(tmpdir(), "reev-chromium-"));
  try {
    const page = join(dir, "page.html");
    await writeFile(page, html, "utf8");
    return await run(binary, pathToFileURL(page).href, join(dir, "profile"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loads the page headless and returns the DOM as it stands once the virtual-time budget is spent. */
export async function dumpDom(html: string, virtualTimeBudgetMs = 30_000): Promise<string> {
  return withChromium(html, async (binary, page, profile) => {
    const { stdout } = await execFileAsync(
      binary,
      [...QUIET_FLAGS, `--user-data-dir=${profile}`, `--virtual-time-budget=${virtualTimeBudgetMs}`, "--dump-dom", page],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
    );
    return stdout;
  });
}

export type MermaidRenderResult =
  /** svgText: the diagram's visible text nodes (styles left out), one per line. */
  { ok: true; svgText: string; svgLength: number } | { ok: false; error: string };

/**
 * Renders every diagram with the official mermaid bundle in one browser launch. Results travel
 * back base64-encoded in one DOM attribute, so no HTML escaping of the dump can distort them.
 */
export async function renderWithMermaid(diagrams: readonly string[]): Promise<MermaidRenderResult[]> {
  const payload = JSON.stringify(diagrams)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>mermaid render check</title></head>
<body><div id="stage"></div><div id="results" data-state="pending"></div>
<script>${clientBundle("mermaid")}</script>
<script>
(async () => {
  const diagrams = ${payload};
  const out = [];
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  for (let i = 0; i < diagrams.length; i++) {
    try {
      await mermaid.parse(diagrams[i]);
      const { svg } = await mermaid.render("diagram" + i, diagrams[i]);
      const holder = document.createElement("div");
      holder.innerHTML = svg;
      document.getElementById("stage").appendChild(holder);
      const el = holder.querySelector("svg");
      if (!el) throw new Error("render produced no <svg>");
      if (el.getAttribute("aria-roledescription") === "error") throw new Error("mermaid drew its error diagram");
      const texts = [];
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.parentElement && n.parentElement.closest("style")) continue;
        const t = n.textContent.trim();
        if (t) texts.push(t);
      }
      out.push({ ok: true, svgText: texts.join("\\n"), svgLength: svg.length });
      holder.remove();
    } catch (e) {
      out.push({ ok: false, error: String(e && e.message ? e.message : e) });
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(out));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const results = document.getElementById("results");
  results.setAttribute("data-results", btoa(bin));
  results.setAttribute("data-state", "done");
})();
</script></body></html>`;
  const dom = await dumpDom(html);
  const match = /data-results="([A-Za-z0-9+/=]*)"/.exec(dom);
  if (!match?.[1]) throw new Error(`mermaid render page did not finish; DOM tail: ${dom.slice(-500)}`);
  const results = JSON.parse(Buffer.from(match[1], "base64").toString("utf8")) as MermaidRenderResult[];
  if (results.length !== diagrams.length) throw new Error(`expected ${diagrams.length} results, got ${results.length}`);
  return results;
}
