#!/usr/bin/env node
// `pnpm reev …` and `pnpm demo`: the reev CLI of this checkout. It first builds @reev/cli and the
// packages it depends on, nothing else; turbo skips all of it when no source changed. The build is
// quiet: its output is shown only when it fails, and one that takes a while says so, so a rebuild is
// never a silent pause. The notice cannot say a rebuild is under way: on a slow machine, turbo's check
// of an unchanged build alone can take that long.
// `pnpm reev` reaches it as a bin (scripts/package.json, linked from the root), not as a script: pnpm
// 10 prints a script's header on stdout, which would spoil `pnpm reev list --json | jq`.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const SLOW_BUILD_MS = 1500;
const STILL_BUILDING_MS = 15_000;

/** The build under way, stopped if the user interrupts it. */
let building;

/** Exit code of the build, with its combined output (shown only on failure). */
function build() {
  const turbo = createRequire(import.meta.url).resolve("turbo/bin/turbo");
  const args = ["run", "build", "--filter=@reev/cli...", "--output-logs=errors-only", "--log-prefix=none"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [turbo, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    building = child;
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    const started = Date.now();
    let ticker;
    const notice = setTimeout(() => {
      process.stderr.write("reev: checking the build of @reev/cli; anything whose sources changed is rebuilt…\n");
      // A first build takes minutes on a small machine: say it is still going, so it is not taken for a hang.
      ticker = setInterval(() => {
        const seconds = Math.round((Date.now() - started) / 1000);
        process.stderr.write(`reev: still building (${seconds} s; a first build takes a few minutes)…\n`);
      }, STILL_BUILDING_MS);
    }, SLOW_BUILD_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(notice);
      clearInterval(ticker);
      resolve({ code: code ?? 1, output });
    });
  });
}

/**
 * Ctrl-C (or SIGTERM) while the build is checked: the build is stopped and the CLI never starts, so it
 * is said here, in the CLI's own words for a command interrupted while starting (its exit codes, and
 * its JSON error line with --json before any `--`). The CLI is not built yet, so the words are a copy
 * of interrupt.ts's, which cli-interrupt-startup.test.ts checks.
 */
function interruptedWhileBuilding(signal) {
  building?.kill(signal);
  const message = `Interrupted (${signal}) while reev was starting: nothing was run or recorded. Run the command again to do it.`;
  const args = process.argv.slice(2);
  const json = (args.includes("--") ? args.slice(0, args.indexOf("--")) : args).includes("--json");
  process.stderr.write(`${json ? JSON.stringify({ error: { code: "INTERRUPTED", message, field: null } }) : message}\n`);
  process.exit(signal === "SIGINT" ? 130 : 143);
}
const SIGNALS = ["SIGINT", "SIGTERM"];
for (const signal of SIGNALS) process.once(signal, interruptedWhileBuilding);
const { code, output } = await build();
for (const signal of SIGNALS) process.removeListener(signal, interruptedWhileBuilding);
if (code !== 0) {
  process.stderr.write(output);
  process.stderr.write("reev: the build failed; the output above says why.\n");
  // 1, not turbo's code: 2 means bad input to reev.
  process.exit(1);
}
// The built bin, in this process: it reads its arguments from process.argv and sets the exit code.
await import(pathToFileURL(`${root}packages/cli/dist/bin.js`).href);
