/**
 * `pnpm reev …` from the repository root, as the README tells a new user to run it: stdout holds the
 * CLI's output and nothing else (no pnpm header, no turbo banner, no "ELIFECYCLE" line), the exit
 * code is the CLI's own, with nothing changed nothing is rebuilt, and the commands it suggests start with
 * `pnpm reev`, as the user started it.
 */
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type CliResult, cliEnv, show } from "./support/run-cli.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUILT = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

function pnpm(args: string[]): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // As a user starts it: not with the TURBO_* variables of the `pnpm test` run this suite may be in.
    const env = Object.fromEntries(Object.entries(cliEnv()).filter(([name]) => !name.startsWith("TURBO_")));
    const child = spawn("pnpm", args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started) }));
  });
}

describe("pnpm reev", () => {
  it("prints only the CLI's output: `pnpm reev list --json` is JSON from the first byte", async () => {
    const r = await pnpm(["reev", "list", "--json", "--db", "memory://"]);
    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout), show(r)).toEqual({ executions: [], more: false, nextCursor: null });
  }, 180_000);

  it("passes the CLI's exit code and errors through, and rebuilds nothing when no source changed", async () => {
    // The first call above may have built; this one must find everything current.
    const before = statSync(BUILT).mtimeMs;
    const r = await pnpm(["reev", "list", "--limit", "0"]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout, show(r)).toBe("");
    expect(r.stderr, show(r)).toBe(
      // Named as the user started it: there is no `reev` on PATH in a checkout.
      'reev: --limit must be an integer from 1 to 1000, got "0".\nRun pnpm reev list --help for its options and examples.\n',
    );
    expect(statSync(BUILT).mtimeMs, "dist/bin.js was rebuilt although no source changed").toBe(before);
  }, 180_000);

  it("names the commands it suggests as pnpm reev", async () => {
    const r = await pnpm(["reev", "show", "exec_nope", "--db", "memory://"]);
    expect(r.code, show(r)).toBe(2);
    // On memory:// no list of it would find anything: the in-memory database is this command's alone.
    expect(r.stderr, show(r)).toBe(
      'reev: No execution "exec_nope" in in-memory PGlite.\nAn in-memory database (--db memory://) lives only as long as one command: the next command finds nothing there. To keep runs, give --db a directory or a PostgreSQL URL, or try pnpm reev demo.\n',
    );
  }, 180_000);
});
