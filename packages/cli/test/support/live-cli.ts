/**
 * A `reev` child process the test talks to while it runs: wait for a line it prints, send it a
 * signal, then collect how it ended. For the interrupt and crash tests, which act at a precise point
 * of a run instead of after it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { CLI_COMMAND, type CliResult, cliEnv } from "./run-cli.js";

export type LiveCli = {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the first stderr line matching `pattern` (past or future); rejects if the process ends first. */
  waitForLine(pattern: RegExp): Promise<string>;
  /** Resolves once the process has ended (and been reaped), with everything it printed. */
  readonly done: Promise<CliResult>;
};

/** `preload`: a module node imports first (--import), such as a fixture's module hooks; `stdin`: a pipe the test writes to. */
export type LiveCliOptions = { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; preload?: string; stdin?: boolean };

export function startCli(args: string[], options: LiveCliOptions): LiveCli {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.preload ? [`--import=${options.preload}`] : []), ...CLI_COMMAND, ...args], {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr += `${line}\n`;
    lines.push(line);
    for (const w of waiters.filter((w) => w.pattern.test(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  // A safety net only: a run that never reaches the awaited line fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout, stderr, ms: Math.round(performance.now() - started) };
      for (const w of waiters.splice(0)) w.reject(new Error(`reev ${args.join(" ")} ended before printing ${w.pattern}\n${stderr}`));
      resolve(result);
    });
  });
  return {
    child,
    pid: child.pid as number,
    done,
    waitForLine: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`reev has ended already\n${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
  };
}
