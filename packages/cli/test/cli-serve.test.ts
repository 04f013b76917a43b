import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/testing";
import { consistencyProblems, snapshotTables } from "@reev/db/testing/fault-injection";
import { describe, expect, test } from "vitest";
import { assertBuilt, CLI_COMMAND, cliEnv, makeTempDir, runCli, show } from "./support/run-cli.js";

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
  return { child, url, cwd: temp.dir, stderr: () => stderr, remove: temp.remove };
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
      // No run was started here: nothing to finish, and nothing promised.
      expect(serve.stderr()).toContain("Shutting down…\nStopped.");
    } finally {
      serve.child.kill("SIGKILL");
      serve.remove();
    }
  });

  test("another command on its embedded database is told it is reev serve, and to stop it or read through it", async () => {
    // The default database, in its working directory: made if missing, as the README's quick start needs.
    const serve = await startServe([]);
    const dir = join(serve.cwd, ".reev", "db");
    try {
      const r = await runCli(["list", "--db", dir], { cwd: serve.cwd });
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain(
        `reev: The embedded database at ${dir} is in use by process ${serve.child.pid} (reev serve). Stop it, or read the runs through that server (at the URL it printed), or use PostgreSQL`,
      );
    } finally {
      serve.child.kill("SIGKILL");
      await once(serve.child, "exit");
      serve.remove();
    }
    // It made that database: said, as every writing command says it (read once it exited: stderr is a pipe of its own).
    expect(serve.stderr()).toContain(`Database: embedded PGlite at ${dir} (new: created now)\n`);
  });

  test("--db naming a directory that does not exist is refused (exit 2), with how to make one; nothing is created", async () => {
    const temp = makeTempDir("reev-serve-missing-");
    const dir = join(temp.dir, "typo");
    try {
      const r = await runCli(["serve", "--port", "0", "--db", dir], { cwd: temp.dir });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, show(r)).toEqual({
        code: 2,
        stdout: "",
        stderr:
          `reev: There is no database at ${dir}: the directory does not exist.\n` +
          `Record a run there first (reev run <flow-file> --db ${dir}, or reev demo --db ${dir}), or point --db at an existing database.\n`,
      });
      expect(existsSync(dir)).toBe(false);
    } finally {
      temp.remove();
    }
  });

  test("--host 0.0.0.0 prints a URL a browser can open, says it listens on all interfaces, and warns without a token", async () => {
    const serve = await startServe(["--db", "memory://", "--host", "0.0.0.0"]);
    try {
      // http://0.0.0.0:… is no address to open: loopback is one of all the interfaces.
      expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${serve.url}/healthz`)).json()).toEqual({ status: "ok" });
      const exited = once(serve.child, "exit");
      serve.child.kill("SIGINT");
      expect((await exited)[0]).toBe(0);
      // Read once it exited: stderr is a pipe of its own, not ordered with the URL line on stdout.
      expect(serve.stderr()).toContain(
        "Listening on all interfaces (0.0.0.0): from another machine, open this machine's address on the same port.",
      );
      expect(serve.stderr()).toMatch(/Warning: listening on 0\.0\.0\.0 without REEV_API_TOKEN/);
    } finally {
      serve.child.kill("SIGKILL");
      serve.remove();
    }
  });

  test("--cors with a trailing slash allows that origin and says so; a value that is no origin is refused, nothing served", async () => {
    const serve = await startServe(["--db", "memory://", "--cors", "http://example.com/"]);
    try {
      const answer = await fetch(`${serve.url}/api/v1/executions`, { headers: { Origin: "http://example.com" } });
      expect(answer.headers.get("access-control-allow-origin")).toBe("http://example.com");
      const exited = once(serve.child, "exit");
      serve.child.kill("SIGTERM");
      expect((await exited)[0]).toBe(0);
      expect(serve.stderr()).toContain(
        "CORS: web pages from http://example.com may call the API (--cors http://example.com/ is taken as http://example.com: an origin has no path, not even /).\n",
      );
    } finally {
      serve.child.kill("SIGKILL");
      serve.remove();
    }
    const temp = makeTempDir("reev-serve-cors-");
    try {
      for (const bad of ["htp:/x", "http://example.com/app", "example.com", "http://example.com?x=1"]) {
        const r = await runCli(["serve", "--port", "0", "--cors", bad, "--db", join(temp.dir, "db")], { cwd: temp.dir });
        expect(r.code, show(r)).toBe(2);
        expect(r.stdout, show(r)).toBe("");
        expect(r.stderr, show(r)).toBe(
          `reev: --cors takes an origin, as a browser sends it: scheme://host[:port] with no path, such as http://localhost:5173 or https://example.com; got "${bad}".\nGive the origin of the page that calls the API, or * for any page.\n`,
        );
      }
      expect(existsSync(join(temp.dir, "db"))).toBe(false);
    } finally {
      temp.remove();
    }
  });

  test("judges runs by $REEV_STALE_AFTER_MS, as reev list does, and refuses a bad one before serving", async () => {
    const temp = makeTempDir("reev-serve-stale-");
    const dir = join(temp.dir, "db");
    try {
      // A run of this test process (alive, so never abandoned), as old as the test: past a 1 ms threshold.
      const db = await openDatabase({ url: dir });
      await db.writer.createExecutionSession({ executionId: "stale-run", flowId: "f", agent: "scripted", prompt: "p" });
      await db.close();
      const listed = await runCli(["list", "--json", "--db", dir], { cwd: temp.dir, env: cliEnv({ REEV_STALE_AFTER_MS: "1" }) });
      expect(JSON.parse(listed.stdout).executions[0], show(listed)).toMatchObject({
        executionId: "stale-run",
        stale: true,
        abandoned: false,
      });
      const serve = await startServe(["--db", dir], { REEV_STALE_AFTER_MS: "1" });
      try {
        const run = (await (await fetch(`${serve.url}/api/v1/executions/stale-run`)).json()) as Record<string, unknown>;
        expect(run).toMatchObject({ status: "running", stale: true, abandoned: false });
        expect(await (await fetch(`${serve.url}/`)).text()).toContain("… running (stale)</td>");
      } finally {
        serve.child.kill("SIGKILL");
        await once(serve.child, "exit");
        serve.remove();
      }
      const bad = await runCli(["serve", "--port", "0", "--db", dir], { cwd: temp.dir, env: cliEnv({ REEV_STALE_AFTER_MS: "2m" }) });
      expect(bad.code, show(bad)).toBe(2);
      expect(bad.stderr, show(bad)).toContain('reev: REEV_STALE_AFTER_MS must be an integer ≥ 1, got "2m".');
      expect(bad.stdout, show(bad)).toBe("");
    } finally {
      temp.remove();
    }
  });
});

/** Where the shutdown test records: a PGlite directory, and PostgreSQL when REEV_TEST_DATABASE_URL is set. */
type ShutdownBackend = { name: string; open(dir: string): Promise<{ url: string; drop(): Promise<void> }> };
const shutdownBackends: ShutdownBackend[] = [
  {
    name: "pglite",
    // Made first: reev serve refuses a --db directory that does not exist.
    open: async (dir) => {
      const url = join(dir, "db");
      await (await openDatabase({ url })).close();
      return { url, drop: async () => {} };
    },
  },
  ...(process.env.REEV_TEST_DATABASE_URL
    ? [{ name: "postgres", open: () => createPostgresDatabase(process.env.REEV_TEST_DATABASE_URL as string, { migrated: true }) }]
    : []),
];

describe.each(shutdownBackends)("reev serve on a port in use, on $name", (backend) => {
  test("says so in plain words, exits 1, and leaves nothing running or locked", async () => {
    const temp = makeTempDir("reev-serve-busy-");
    const database = await backend.open(temp.dir);
    const busy = createServer();
    try {
      busy.listen(0, "127.0.0.1");
      await once(busy, "listening");
      const port = (busy.address() as { port: number }).port;
      // runCli waits for the process to end: a listener left running would keep it alive until the timeout.
      const r = await runCli(["serve", "--port", String(port), "--db", database.url], { cwd: temp.dir, timeoutMs: 30_000 });
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain(`reev: Port ${port} on 127.0.0.1 is already in use (another reev serve?).\n`);
      expect(r.stderr).toContain("Stop what uses it, or pass --port with a free port (--port 0 picks one).");
      expect(r.stderr).not.toContain("EADDRINUSE");
      expect(r.stdout).toBe("");
      // The database was released: another command opens it at once.
      const list = await runCli(["list", "--db", database.url], { cwd: temp.dir });
      expect(list.code, show(list)).toBe(0);
    } finally {
      busy.close();
      await database.drop();
      temp.remove();
    }
  });
});

describe("reev serve --host that is no address of this machine", () => {
  test.each([
    ["0.0.0.0.0", "--host 0.0.0.0.0 is no name or address this machine can resolve."],
    ["localhots", "--host localhots is no name or address this machine can resolve. Did you mean localhost?"],
    // TEST-NET-1: documentation's range, never an address of this machine.
    ["192.0.2.1", "--host 192.0.2.1 is not an address of this machine, so nothing can listen on it."],
  ])("%s: says so, names what to pass, and exits 2", async (host, message) => {
    const temp = makeTempDir("reev-serve-host-");
    try {
      const r = await runCli(["serve", "--host", host, "--db", "memory://"], { cwd: temp.dir, timeoutMs: 30_000 });
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain(`reev: ${message}\n`);
      expect(r.stderr).toContain("127.0.0.1 (this machine only, the default), 0.0.0.0 (every interface)");
      expect(r.stderr).not.toMatch(/getaddrinfo|EADDRNOTAVAIL/);
    } finally {
      temp.remove();
    }
  });
});

/** Four steps of one tool call each; step 1 takes long enough to be the one under way when the server is stopped. */
const SHUTDOWN_FLOW = {
  flowId: "serve-shutdown",
  prompt: "stop the server while I run",
  steps: [200, 3000, 200, 200].map((delayMs, i) => ({
    stepId: `s${i}`,
    prompt: `step ${i}`,
    requiredTools: ["tool"],
    script: [{ delayMs, toolCalls: [{ toolName: "tool", input: { step: i }, output: { ok: true }, durationMs: 5 }] }],
  })),
};

describe.each(shutdownBackends)("reev serve shutting down during a live run on $name", (backend) => {
  test("SIGTERM: the step under way finishes and is recorded, the run is failed with 'server shutting down', streams end, exit 0, nothing half-written", async () => {
    const temp = makeTempDir("reev-serve-shutdown-");
    const database = await backend.open(temp.dir);
    const token = "shutdown-test-token";
    // A PGlite directory is created by its first open; a PostgreSQL test database comes migrated.
    if (backend.name === "pglite") await (await openDatabase({ url: database.url })).close();
    const serve = await startServe(["--db", database.url], { REEV_API_TOKEN: token });
    try {
      const started = await fetch(`${serve.url}/api/v1/executions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ flow: SHUTDOWN_FLOW }),
      });
      expect(started.status).toBe(202);
      const { execution_id: id } = (await started.json()) as { execution_id: string };
      // A viewer follows the run: its stream must end when the server stops.
      const events = await fetch(`${serve.url}/api/v1/executions/${id}/events`);
      expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/);
      let received = "";
      const decoder = new TextDecoder();
      const reader = events.body!.getReader();
      const streamed = (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
          received += decoder.decode(chunk.value, { stream: true });
        return received;
      })();
      // Step 0 is stored and the viewer has been told (its event reached the stream): step 1 (three
      // seconds long) is under way. Waiting on the API's count alone raced the stream's relay of it.
      await expect
        .poll(
          async () =>
            ((await (await fetch(`${serve.url}/api/v1/executions/${id}`)).json()) as { step_counts: { total: number } }).step_counts.total,
          {
            timeout: 30_000,
          },
        )
        .toBe(1);
      await expect.poll(() => received, { timeout: 30_000 }).toContain("event: step");
      const exited = once(serve.child, "exit") as Promise<[number | null]>;
      serve.child.kill("SIGTERM");
      // The stream ends (the server ends it before waiting for the run); then the process exits 0.
      expect(await streamed).toContain("event: step");
      const [code] = await exited;
      expect(code, serve.stderr()).toBe(0);
      expect(serve.stderr()).toContain(
        "Shutting down: finishing the current step of the 1 run started here… Send SIGTERM again to exit at once.\n",
      );
      expect(serve.stderr()).toContain("Stopped.");

      // What is stored: the step under way finished and recorded, the rest skipped, the run failed.
      const db = await openDatabase({ url: database.url });
      try {
        const execution = await db.writer.getExecutionSession(id);
        expect(execution).toMatchObject({ status: "failed", error: "Stopped: server shutting down", openTransaction: null });
        const steps = await db.writer.getSessionsForConsolidation(id);
        expect(steps.map((s) => [s.stepIndex, s.status, s.toolCalls.length])).toEqual([
          [0, "success", 1],
          [1, "success", 1],
          [2, "skipped", 0],
          [3, "skipped", 0],
        ]);
        expect(steps.slice(2).every((s) => s.error?.includes("server shutting down"))).toBe(true);
        expect(execution?.consolidation.status).toBe("completed");
        expect(consistencyProblems(await snapshotTables(db))).toEqual([]);
      } finally {
        await db.close();
      }
    } finally {
      serve.child.kill("SIGKILL");
      await database.drop();
      serve.remove();
    }
  }, 120_000);
});
