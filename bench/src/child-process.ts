import { spawn } from "node:child_process";
import type { CleanupScope } from "./cleanup.js";
import { msSince, now } from "./stats.js";

export type ChildRun = {
  code: number | null;
  /** From just before spawn to the exit, ms. */
  exitMs: number;
  /** From just before spawn to the first stderr line matching `watch`, ms (undefined: never seen). */
  matchMs: number | undefined;
  stdout: string;
  stderr: string;
};

type ChildOptions = { cwd?: string; env?: NodeJS.ProcessEnv; watch?: RegExp; timeoutMs?: number };

/**
 * Runs a child process and times it from the outside, as a user waits for it. A child still running
 * when the scope closes (an error elsewhere, Ctrl-C) or past its timeout is killed.
 */
export function runChild(scope: CleanupScope, command: string, args: string[], options: ChildOptions = {}): Promise<ChildRun> {
  const start = now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  scope.defer(`stop child process ${child.pid}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  let matchMs: number | undefined;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    if (matchMs !== undefined || !options.watch) return;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    if (lines.some((line) => options.watch!.test(line))) matchMs = msSince(start);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${options.timeoutMs} ms\n${stderr}`));
    }, options.timeoutMs ?? 300_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, exitMs: msSince(start), matchMs, stdout, stderr });
    });
  });
}
