// `prisma generate` offline. Before generating, Prisma 7's CLI makes sure its native schema engine
// exists and downloads it when it does not: that fails on a machine without internet, although
// generating never runs the engine. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips
// the download; a developer who set it (say, to a real engine) keeps theirs.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ||= process.execPath;
const result = spawnSync(process.execPath, [prismaCli, "generate", "--schema", join(root, "prisma", "schema.prisma")], {
  cwd: root,
  env,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
