import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * The browser bundles the report inlines and the viewer serves, resolved from this package's own
 * dependencies (under pnpm another package cannot resolve them), so nothing is ever fetched from a
 * CDN. Each is a single-file UMD/IIFE build that sets one global: `mermaid`, `Panzoom`.
 */
export const CLIENT_BUNDLES = {
  mermaid: { path: require.resolve("mermaid/dist/mermaid.min.js"), global: "mermaid" },
  panzoom: { path: require.resolve("@panzoom/panzoom/dist/panzoom.min.js"), global: "Panzoom" },
} as const;

export type ClientBundleName = keyof typeof CLIENT_BUNDLES;

const cache = new Map<ClientBundleName, string>();

/** A bundle's source, checked once to be safe inside an inline <script> element. */
export function clientBundle(name: ClientBundleName): string {
  let script = cache.get(name);
  if (script === undefined) {
    script = readFileSync(CLIENT_BUNDLES[name].path, "utf8");
    // Inlined into a <script> element, a literal closing tag would end the script early.
    if (/<\/script/i.test(script)) throw new Error(`${CLIENT_BUNDLES[name].path} contains </script and cannot be inlined safely`);
    cache.set(name, script);
  }
  return script;
}
