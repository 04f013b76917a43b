/**
 * interrupt.ts in a child process of its own, where the timing is the test's: the first signal aborts
 * the work (with the reason a stopped step records) and the command exits 128 + the signal's number
 * once its work is done; a second signal exits at once, even while the work goes on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const CHILD = fileURLToPath(new URL("./fixtures/interrupt-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

type Ended = { code: number | null; stdout: string[]; stderr: string };

/** Starts the child; `until(line)` waits for a line on stdout or stderr; `ended` resolves once it has exited. */
function start(mode: "finish" | "hang"): { child: ChildProcess; until(line: string): Promise<void>; ended: Promise<Ended> } {
  const child = spawn(process.execPath, [`--import=${TSX}`, CHILD, mode], { stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  let stderr = "";
  const waiting = new Map<string, () => void>();
  const seen: string[] = [];
  const see = (line: string) => {
    seen.push(line);
    waiting.get(line)?.();
  };
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr += `${line}\n`;
    see(line);
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    stdout.push(line);
    see(line);
  });
  const ended = new Promise<Ended>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    until: (line) => (seen.includes(line) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(line, resolve))),
    ended,
  };
}

describe("Ctrl-C and SIGTERM (interrupt.ts)", () => {
  it("the first SIGTERM aborts the work with its reason; the command then exits 143", async () => {
    const run = start("finish");
    await run.until("READY");
    run.child.kill("SIGTERM");
    const r = await run.ended;
    expect(r.stdout).toEqual(["READY", "ABORTED interrupted (SIGTERM)"]);
    expect(r.stderr).toContain("Interrupted (SIGTERM): stopping each run's current step");
    expect(r.code).toBe(143);
  });

  it("a second Ctrl-C exits at once with 130 while the work still goes on, leaving the runs to reev recover", async () => {
    const run = start("hang");
    await run.until("READY");
    run.child.kill("SIGINT");
    await run.until("ABORTED interrupted (SIGINT)");
    run.child.kill("SIGINT");
    const r = await run.ended;
    expect(r.code).toBe(130);
    expect(r.stdout).toEqual(["READY", "ABORTED interrupted (SIGINT)"]);
    expect(r.stderr).toContain('SIGINT again: exiting at once. Runs still going stay "running" until reev recover finishes them.');
  });

  it("a SIGTERM after Ctrl-C (pnpm forwards one) does not cut the stopping short: only Ctrl-C again exits at once", async () => {
    const run = start("hang");
    await run.until("READY");
    run.child.kill("SIGINT");
    await run.until("ABORTED interrupted (SIGINT)");
    run.child.kill("SIGTERM");
    await run.until("A SIGTERM came too (pnpm sends one after Ctrl-C): still stopping; Ctrl-C again exits at once.");
    run.child.kill("SIGINT");
    const r = await run.ended;
    expect(r.code).toBe(130);
    expect(r.stderr).not.toContain("SIGTERM again");
  });
});
