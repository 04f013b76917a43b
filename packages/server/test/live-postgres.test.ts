import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test, testBackends } from "@reev/db/testing";
import pg from "pg";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { LISTENER_APPLICATION_NAME } from "../src/live/postgres-listener.js";
import { readEvents, stepIndexes } from "./support/sse.js";

const CHILD = fileURLToPath(new URL("./fixtures/run-flow-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const postgres = testBackends().filter((b) => b.name === "postgres");

/** Starts a run of `steps` steps in a child process, recording into the database at `url`. */
function runInChild(url: string, executionId: string, steps: number, delayMs: number) {
  const child = spawn(process.execPath, [`--import=${TSX}`, CHILD, url, executionId, String(steps), String(delayMs)], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  return { exited: once(child, "exit") as Promise<[number | null]>, kill: () => child.kill("SIGKILL") };
}

async function listenerPids(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
      [LISTENER_APPLICATION_NAME],
    );
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

// A suite of its own even when skipped: a file that registers none fails vitest's run ("No test suite
// found"), and `pnpm test` without REEV_TEST_DATABASE_URL must pass on PGlite alone.
describe.skipIf(postgres.length === 0)("live across processes (PostgreSQL only: set REEV_TEST_DATABASE_URL)", () => {
  describe.each(postgres)("on $name", (backend) => {
    test.override({ backend });

    test("a run in another process streams its events in order, through NOTIFY; the LISTEN connection killed mid-run reconnects and catches up", async ({
      db,
    }) => {
      if (db.target.kind !== "postgres") throw new Error("a PostgreSQL test database was expected");
      const url = db.target.url;
      // Heartbeats ten minutes apart: only a notification can move these streams along in time.
      const server = createServer({ db, heartbeatMs: 600_000, reconnectMs: 50, log: () => {} });
      const { url: base } = await server.listen({ port: 0 });
      const executionId = `child-${Date.now()}`;
      const child = runInChild(url, executionId, 6, 700);
      try {
        await expect.poll(async () => (await fetch(`${base}/api/v1/executions/${executionId}`)).status, { timeout: 60_000 }).toBe(200);
        const [before] = await listenerPids(url);
        expect(before).toEqual(expect.any(Number));
        let killed = false;
        const events = await readEvents(await fetch(`${base}/api/v1/executions/${executionId}/events`), (event, all) => {
          if (!killed && event.event === "step") {
            killed = true;
            // Cut the server's LISTEN connection after the first step.
            void (async () => {
              const client = new pg.Client({ connectionString: url });
              await client.connect();
              await client.query("SELECT pg_terminate_backend($1)", [before]);
              await client.end();
            })();
          }
          return all.at(-1)?.event === "end";
        });
        expect(killed).toBe(true);
        expect(stepIndexes(events)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(
          events
            .filter((e) => e.event === "status")
            .map((e) => JSON.parse(e.data).status)
            .at(-1),
        ).toBe("completed");
        expect(events.at(-1)?.event).toBe("end");
        // The listener is back, on a new connection.
        await expect.poll(async () => (await listenerPids(url)).filter((pid) => pid !== before).length, { timeout: 30_000 }).toBe(1);
        expect((await child.exited)[0]).toBe(0);
      } finally {
        child.kill();
        await server.close();
      }
    }, 180_000);

    test("a heartbeat announces nothing; a step, a finish and a start each announce their execution", async ({ db }) => {
      if (db.target.kind !== "postgres") throw new Error("a PostgreSQL test database was expected");
      const listener = new pg.Client({ connectionString: db.target.url });
      const heard: string[] = [];
      listener.on("notification", (message) => heard.push(message.payload ?? ""));
      await listener.connect();
      try {
        await listener.query("LISTEN reev_changes");
        const id = `heartbeat-${Date.now()}`;
        await db.writer.createExecutionSession({ executionId: id, flowId: "heartbeats", agent: "test", prompt: "beat" });
        await expect.poll(() => heard.length, { timeout: 10_000 }).toBe(1);
        expect(await db.writer.heartbeat(id)).toBe(true);
        expect(await db.writer.heartbeat(id)).toBe(true);
        // Notifications arrive in commit order: had the heartbeats announced, theirs would come before the step's.
        await db.writer.storeStep(id, { stepIndex: 0, content: "{}" });
        await expect.poll(() => heard.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
        expect(heard).toEqual([id, id]);
        await db.writer.finishExecutionSession(id, { status: "completed", durationMs: 5 });
        await expect.poll(() => heard.length, { timeout: 10_000 }).toBe(3);
      } finally {
        await listener.end();
      }
    });
  });
});
