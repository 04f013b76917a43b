// `pnpm build`'s last step: dist/pglite-template/ gets the migrated PGlite template for the committed
// migrations, so a new embedded database starts from it instead of paying initdb (seconds). Cheap when
// dist already holds the current one; a build cannot finish without it, since every later fresh
// database would silently be slow.
import { bundlePgliteTemplate } from "../dist/pglite-template.js";

const started = performance.now();
try {
  const { path, built } = await bundlePgliteTemplate();
  if (built) console.log(`Built the migrated PGlite template ${path} in ${Math.round(performance.now() - started)} ms`);
} catch (error) {
  console.error(`Could not build the migrated PGlite template: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
