// Crash during retention: a child process purges 30 finished runs a batch at a time and is SIGKILLed in
// the middle — on PostgreSQL once rows have started to disappear, on a PGlite directory (which the
// child holds alone) once it reports its first committed batch. Afterwards only whole executions are
// left: each remaining run has all its steps, attempts, tool calls and its consolidation, no row lost
// its parent, and every consolidation's executions are there. A second purge finishes the job.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect } from "vitest";
import { type Database, openDatabase } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { consistencyProblems, snapshotTables } from "../src/testing/fault-injection.js";
import { type TestBackend, test, testBackends } from "../src/testing/index.js";
import { DAY_MS, flowRows, NOTHING, recordRun } from "./fixtures/purge-runs.js";
import { uid } from "./helpers.js";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/purge-child.ts", import.meta.url));
const RUNS = 30;
/** The child's PostgreSQL connections carry this name, so the test can wait for the server to drop them. */
const CHILD_APP = "reev_purge_child";
const STEPS = 3;

type Child = { child: ChildProcess; lines: string[]; exited: Promise<void>; line(prefix: string): Promise<void> };

function startChild(url: string, flowId: string): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, flowId, "1"], {
    cwd: PACKAGE_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let output = "";
  const waiters: { prefix: string; resolve: () => void }[] = [];
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    output += `${line}\n`;
    for (const w of waiters.filter((w) => line.startsWith(w.prefix))) w.resolve();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    lines,
    exited,
    line: (prefix) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some((l) => l.startsWith(prefix))) return resolve();
        waiters.push({ prefix, resolve });
        void exited.then(() => reject(new Error(`the child exited before printing ${prefix}; output:\n${output}`)));
      }),
  };
}

/** Every remaining run of the flow is whole, and every consolidation's executions exist. */
async function expectWholeRuns(db: Database, flowId: string, ids: readonly string[], live: string): Promise<number> {
  const p = prismaClientOf(db);
  const left = await p.executionSession.findMany({ where: { flowId }, select: { executionId: true } });
  for (const { executionId } of left) {
    expect(ids).toContain(executionId);
    expect(await p.stepSession.count({ where: { executionId } })).toBe(STEPS);
    expect(await p.stepAttempt.count({ where: { executionId } })).toBe(STEPS);
    expect(await p.toolCall.count({ where: { executionId } })).toBe(2 * STEPS);
    // The running one is not consolidated yet.
    expect(await p.consolidatedSession.count({ where: { executionId } })).toBe(executionId === live ? 0 : 1);
  }
  // No step, attempt, tool call or consolidation of a purged run is left behind.
  const gone = ids.filter((id) => !left.some((e) => e.executionId === id));
  expect(await p.stepSession.count({ where: { executionId: { in: gone } } })).toBe(0);
  expect(await p.stepAttempt.count({ where: { executionId: { in: gone } } })).toBe(0);
  expect(await p.toolCall.count({ where: { executionId: { in: gone } } })).toBe(0);
  expect(await p.consolidatedSession.count({ where: { executionId: { in: gone } } })).toBe(0);
  expect(consistencyProblems(await snapshotTables(db))).toEqual([]);
  return left.length;
}

describe.each(testBackends())("SIGKILL during a purge on $name", (backend: TestBackend) => {
  test("leaves only whole executions, and a second purge finishes", async ({ databases }) => {
    const flowId = uid("crash-flow");
    let site: { url: string; open(): Promise<Database>; close(db: Database): Promise<void>; cleanup(): void };
    if (backend.name === "pglite") {
      // A real directory (an in-memory database cannot outlive the child), on tmpfs where there is one.
      const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "reev-purge-crash-"));
      const dir = join(root, "db");
      site = {
        url: dir,
        open: () => openDatabase({ url: dir }),
        close: (db) => db.close(),
        cleanup: () => rmSync(root, { recursive: true, force: true }),
      };
    } else {
      const db = await databases.get(backend);
      if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
      const url = new URL(db.target.url);
      url.searchParams.set("application_name", CHILD_APP);
      site = { url: url.toString(), open: async () => db, close: async () => {}, cleanup: () => {} };
    }
    try {
      let db = await site.open();
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i++) ids.push(await recordRun(db.writer, { flowId, ageMs: DAY_MS + i, steps: STEPS }));
      const live = await recordRun(db.writer, { flowId, ageMs: null, steps: STEPS });
      if (backend.name === "pglite") await site.close(db);

      const child = startChild(site.url, flowId);
      if (backend.name === "pglite") {
        await child.line("BATCH");
      } else {
        // Rows disappearing: the child has committed at least one batch.
        await child.line("READY");
        const p = prismaClientOf(db);
        while ((await p.executionSession.count({ where: { flowId } })) > RUNS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      child.child.kill("SIGKILL");
      await child.exited;
      expect(child.lines, "the child finished before it was killed: nothing was interrupted").not.toContain("DONE");

      if (backend.name === "pglite") db = await site.open();
      else {
        // The server ends the dead child's session, rolling back the batch it had open and releasing
        // its locks; until then that batch's executions are still held.
        const p = prismaClientOf(db);
        for (;;) {
          const [row] = await p.$queryRaw<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${CHILD_APP}`;
          if (row?.n === 0) break;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      const left = await expectWholeRuns(db, flowId, [...ids, live], live);
      expect(left).toBeLessThan(RUNS + 1);
      expect(left).toBeGreaterThan(1);

      const rest = await db.writer.purgeExecutions({ olderThanMs: 0, flowId });
      expect(rest.deleted.executions).toBe(left - 1);
      expect(await flowRows(db, flowId)).toEqual({ ...NOTHING, executions: 1, steps: STEPS, stepAttempts: STEPS, toolCalls: 2 * STEPS });
      await site.close(db);
    } finally {
      site.cleanup();
    }
  });
});
