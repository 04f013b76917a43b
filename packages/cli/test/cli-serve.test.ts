import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, test } from "vitest";
import { assertBuilt, CLI_COMMAND, cliEnv, makeTempDir } from "./support/run-cli.js";

/** Starts `reev serve`, waits for the URL line it prints, and returns it with the child. */
async function startServe(args: string[], env: Record<string, string> = {}) {
  assertBuilt();
  const temp = makeTempDir("reev-serve-");
  const child = spawn(process.execPath, [...CLI_COMMAND, "serve", "--port", "0", ...args], { cwd: temp.dir, env: cliEnv(env) });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      const match = /reev serve: (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`reev serve exited (${code}) before printing its URL:\n${stderr}`)));
  });
  return { child, url, stderr: () => stderr, remove: temp.remove };
}

describe("reev serve", () => {
  test("prints its URL, answers, and on SIGTERM shuts down and exits 0", async () => {
    const serve = await startServe(["--db", "memory://"]);
    try {
      expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${serve.url}/healthz`)).json()).toEqual({ status: "ok" });
      const list = (await (await fetch(`${serve.url}/api/v1/executions`)).json()) as { data: unknown[] };
      expect(list.data).toEqual([]);
      expect(serve.stderr()).toContain("Write routes (POST) are disabled: set REEV_API_TOKEN to enable them.");
      const exited = once(serve.child, "exit");
      serve.child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(serve.stderr()).toContain("Stopped.");
    } finally {
      serve.child.kill("SIGKILL");
      serve.remove();
    }
  });

  test("--host 0.0.0.0 without a token warns that anyone can read the runs", async () => {
    const serve = await startServe(["--db", "memory://", "--host", "0.0.0.0"]);
    try {
      expect(serve.stderr()).toMatch(/Warning: listening on 0\.0\.0\.0 without REEV_API_TOKEN/);
      const exited = once(serve.child, "exit");
      serve.child.kill("SIGINT");
      expect((await exited)[0]).toBe(0);
    } finally {
      serve.child.kill("SIGKILL");
      serve.remove();
    }
  });
});
