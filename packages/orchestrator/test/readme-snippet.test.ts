import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));
/**
 * Inside this package, so the snippet's `@reev/orchestrator` resolves to the built package by
 * self-reference and `@reev/db` through its dependencies, exactly as in a user's project; git-ignored.
 */
const WORKDIR = fileURLToPath(new URL("../test-artifacts/readme-snippet/", import.meta.url));
const FLOW = fileURLToPath(new URL("./fixtures/flows/jup-multiply-usdc.yaml", import.meta.url));

/** The first TypeScript block under the README's "Using the packages" heading. */
function readmeSnippet(): string {
  const readme = readFileSync(README, "utf8");
  const section = readme.slice(readme.indexOf("## Using the packages"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error('README.md has no ```ts block under "## Using the packages"');
  return match[1];
}

describe("the README's Using the packages snippet", () => {
  // Two child processes (tsc, then the snippet with a fresh embedded database): seconds on a quiet
  // machine, more on a busy one.
  it("typechecks against the built packages and runs as written, on the embedded database", { timeout: 240_000 }, async () => {
    rmSync(WORKDIR, { recursive: true, force: true });
    mkdirSync(WORKDIR, { recursive: true });
    writeFileSync(join(WORKDIR, "snippet.mts"), readmeSnippet());
    copyFileSync(FLOW, join(WORKDIR, "flow.yaml"));

    // The types a user's editor would check it against: strict, Node's module resolution.
    const tsc = require.resolve("typescript/bin/tsc");
    const typecheck = run(
      process.execPath,
      [tsc, "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--target", "es2022"].concat([
        "--lib",
        "es2022,esnext.disposable",
        "--types",
        "node",
        "snippet.mts",
      ]),
      { cwd: WORKDIR },
    );
    await expect(typecheck).resolves.toBeDefined();

    const { stdout } = await run(process.execPath, [require.resolve("tsx/cli"), "snippet.mts"], {
      cwd: WORKDIR,
      env: { ...process.env, REEV_DATABASE_URL: "" },
    });
    // The fixture's four scripted steps all succeed; the diagram draws them in order.
    expect(stdout).toMatch(/^completed stateDiagram-v2\n/);
    expect(stdout).toMatch(/balance_check[\s\S]*swap_sol_to_usdc[\s\S]*lend_usdc[\s\S]*positions_check/);
    expect(existsSync(join(WORKDIR, ".reev", "db"))).toBe(true);
  });
});
