import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

let cached: string | undefined;

/**
 * The official mermaid browser bundle, read from node_modules so the HTML report is
 * self-contained: it must render offline, with no CDN and no network access.
 */
export function mermaidScript(): string {
  if (cached === undefined) {
    const script = readFileSync(require.resolve("mermaid/dist/mermaid.min.js"), "utf8");
    // Inlined into a <script> element, a literal closing tag would end the script early.
    if (/<\/script/i.test(script)) throw new Error("mermaid.min.js contains </script and cannot be inlined safely");
    cached = script;
  }
  return cached;
}
