/**
 * Ctrl-C while `reev run` is still starting (loading its modules, a second or more): said, exit 130,
 * nothing recorded. A real child process and a real SIGINT; module hooks hold the loading of the CLI's
 * main module and say when, so the signal lands at that point by a condition, not by a guess of time.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLI_COMMAND, cliEnv, fixture } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-main-module.mjs", import.meta.url));

const temp = cliTempDir("reev-cli-interrupt-startup-");

const words = (signal: string) =>
  `Interrupted (${signal}) while reev was starting: nothing was run or recorded. Run the command again to do it.`;

describe("Ctrl-C while reev is starting", () => {
  for (const [signal, code, json] of [
    ["SIGINT", 130, false],
    ["SIGTERM", 143, false],
    ["SIGINT", 130, true],
  ] as const) {
    it(`${signal}${json ? " with --json" : ""}: says it was interrupted, that nothing was run or recorded and to run again; exits ${code}`, async () => {
      const db = join(temp.dir, `db-${signal}-${json}`);
      const args = ["run", fixture("succeeds.yaml"), "--db", db, ...(json ? ["--json"] : [])];
      const child = spawn(process.execPath, [`--import=${HOLD}`, ...CLI_COMMAND, ...args], {
        cwd: temp.dir,
        env: cliEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      // A safety net only: a process the signal did not end fails the test instead of hanging it.
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      const lines: string[] = [];
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("close", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal })),
      );
      await new Promise<void>((resolve) =>
        createInterface({ input: child.stderr }).on("line", (line) => {
          lines.push(line);
          if (line === "LOADING reev main module") resolve();
        }),
      );
      child.kill(signal);
      const result = await ended;
      clearTimeout(timer);
      expect({ ...result, stdout, stderr: lines }).toEqual({
        code,
        signal: null,
        stdout: "",
        stderr: [
          "LOADING reev main module",
          // With --json, the one JSON error line a script reads, as for any other error.
          json ? JSON.stringify({ error: { code: "INTERRUPTED", message: words(signal), field: null } }) : words(signal),
        ],
      });
      expect(existsSync(db)).toBe(false);
    });
  }
});
