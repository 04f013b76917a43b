// Crash: a child process writes a 50-step execution and is killed with SIGKILL at a seeded random point
// — steps committed one by one, or all inside an execution transaction — on a PGlite directory and on
// PostgreSQL. Afterwards the database opens cleanly (a PGlite directory's stale lock is taken over by
// the new opener), every step the child was told was stored is there with all its tool calls, recovery
// rolls back a transaction left open, re-running the same 50 writes leaves exactly one row per step and
// each tool call once, and the execution can be finished and consolidated (50 steps in order, the right
// originalSessionIds). Kill points come from a seeded PRNG: REEV_CRASH_SEED=<n> replays a run.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect } from "vitest";
import { type Database, openDatabase, stepSessionId } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { consistencyProblems, snapshotTables } from "../src/testing/fault-injection.js";
import { type TestBackend, test, testBackends } from "../src/testing/index.js";
import { CRASH_STEP_COUNT, crashStep, prng } from "./fixtures/crash-steps.js";
import { sleep, uid } from "./helpers.js";

// The default draws kill points after READY (nothing written) and after COMMITTED (all 50 committed)
// besides 8 mid-run steps; other seeds draw other points.
const SEED = Number(process.env.REEV_CRASH_SEED ?? 9);
const TRIALS = 10;
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
/** The child's PostgreSQL connections carry this name, so the test can wait for the server to drop them. */
const CHILD_APP = "reev_crash_child";

type Mode = "autocommit" | "transaction";
type Trial = { n: number; mode: Mode; killAfter: string; delayMs: number };

/** The lines a run of crash-writer.ts prints, in order: the test kills it right after one of them. */
function childLines(mode: Mode): string[] {
  const steps = Array.from({ length: CRASH_STEP_COUNT }, (_, i) => `STEP ${i}`);
  return mode === "transaction" ? ["READY", "BEGUN", ...steps, "COMMITTED", "DONE"] : ["READY", ...steps, "DONE"];
}

/**
 * The seeded plan: modes alternate; the kill point is drawn from the step lines, except in every fifth
 * trial, which draws from the others (before the first step, right after BEGIN or COMMIT, after the
 * end), which uniform draws over 50 steps would almost never pick; a 0–3 ms delay after the line.
 */
function plan(seed: number): Trial[] {
  const random = prng(seed);
  const pick = (xs: string[]) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: TRIALS }, (_, n) => {
    const mode: Mode = n % 2 === 0 ? "autocommit" : "transaction";
    const lines = childLines(mode);
    const killAfter = n % 5 === 4 ? pick(lines.filter((l) => !l.startsWith("STEP "))) : pick(lines.filter((l) => l.startsWith("STEP ")));
    return { n, mode, killAfter, delayMs: Math.floor(random() * 4) };
  });
}

type Killed = { lines: string[]; output: string };

/**
 * Runs crash-writer.ts and SIGKILLs it `delayMs` after it prints `killAfter` (lines are matched by
 * prefix: "STEP 7" matches "STEP 7 created"). Resolves once the process is gone and reaped, with every
 * line it printed (it may have got further than the kill point before the signal landed).
 */
function runAndKill(url: string, executionId: string, trial: Trial): Promise<Killed> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD, url, executionId, trial.mode], {
    cwd: PACKAGE_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let output = "";
  let killed = false;
  const kill = () => {
    killed = true;
    child.kill("SIGKILL");
  };
  return new Promise<Killed>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`the child never printed "${trial.killAfter}" within 30 s; output:\n${output}`));
    }, 30_000);
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      lines.push(line);
      if (!killed && (line === trial.killAfter || line.startsWith(`${trial.killAfter} `))) {
        if (trial.delayMs) setTimeout(kill, trial.delayMs);
        else kill();
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" && killed) resolve({ lines, output });
      else reject(new Error(`the child exited by itself (code ${code}, signal ${signal}); output:\n${output}`));
    });
  }).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
}

/** Where a trial runs: how the child reaches the database, and how the test opens it after the crash. */
type Site = {
  childUrl: string;
  /** The database after the crash: a new instance for a PGlite directory, the same client for PostgreSQL. */
  open(): Promise<{ db: Database; done(): Promise<void> }>;
  /** Whatever must hold right after the kill, before the database is used. */
  afterKill(childPid: number): Promise<void>;
};

describe.each(testBackends())("crash (SIGKILL mid-run) on $name", (backend: TestBackend) => {
  let site: Site;
  const cleanup: (() => Promise<void>)[] = [];

  test.beforeAll(async ({ databases }) => {
    if (backend.name === "pglite") {
      // A real directory: the in-memory test backend cannot outlive a process. On tmpfs where there is
      // one: a killed process leaves its writes in the page cache either way, so the disk adds nothing
      // to what a SIGKILL tests but fsync latency (creating the directory: ~1.5 s instead of ~7 s).
      const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "reev-crash-"));
      cleanup.push(async () => rmSync(root, { recursive: true, force: true }));
      const dataDir = join(root, "db");
      await (await openDatabase({ url: dataDir })).close(); // create and migrate it once (~5 s)
      const lockOwner = () => Number.parseInt(readFileSync(`${dataDir}.lock`, "utf8").split("\n")[0] ?? "", 10);
      site = {
        childUrl: dataDir,
        afterKill: async (childPid) => {
          // The dead child's lock is still there: the next opener must take it over, not refuse.
          expect(lockOwner()).toBe(childPid);
        },
        open: async () => {
          const db = await openDatabase({ url: dataDir });
          expect(lockOwner()).toBe(process.pid);
          return { db, done: () => db.close() };
        },
      };
    } else {
      const db = await databases.get(backend);
      if (db.target.kind !== "postgres") throw new Error("expected a PostgreSQL test database");
      const url = new URL(db.target.url);
      url.searchParams.set("application_name", CHILD_APP);
      site = {
        childUrl: url.toString(),
        afterKill: async () => {
          // The server notices the dead client and ends its sessions (rolling back whatever was open);
          // until it has, a statement of the child's could still be running.
          for (let waited = 0; ; waited += 50) {
            const [row] = await prismaClientOf(db).$queryRaw<{ n: number }[]>`
              SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${CHILD_APP}`;
            if (row?.n === 0) break;
            if (waited > 15_000) throw new Error(`the killed child's ${row?.n} connection(s) are still open after 15 s`);
            await sleep(50);
          }
        },
        open: async () => ({ db, done: async () => {} }),
      };
    }
  });

  test.afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  test.each(plan(SEED).map((t) => [t.n, SEED, t.mode, t.killAfter, t.delayMs, t] as const))(
    "trial %i of seed %i: %s, SIGKILL after %s (+%i ms)",
    async (_n, _seed, _mode, _kill, _delay, trial) => {
      const executionId = uid(`crash${trial.n}`);
      const { lines, output } = await runAndKill(site.childUrl, executionId, trial);
      const childPid = Number(lines[0]?.split(" ")[1]);
      expect(childPid, output).toBeGreaterThan(0);
      await site.afterKill(childPid);

      const { db, done } = await site.open();
      try {
        await checkAfterCrash(db, executionId, trial, lines);
      } finally {
        await done();
      }
    },
    45_000,
  );
});

/** The execution's steps as stored: index, state, transaction, content and tool call names. */
async function storedSteps(db: Database, executionId: string) {
  return prismaClientOf(db).stepSession.findMany({
    where: { executionId },
    orderBy: { stepIndex: "asc" },
    select: {
      stepIndex: true,
      state: true,
      transactionId: true,
      content: true,
      toolCalls: { orderBy: { callIndex: "asc" }, select: { toolName: true } },
    },
  });
}

const expectedToolNames = (i: number) => crashStep(i).toolCalls!.map((t) => t.toolName);

async function checkAfterCrash(db: Database, executionId: string, trial: Trial, lines: string[]): Promise<void> {
  const w = db.writer;
  const context = `lines printed: ${lines.length ? `${lines[0]} … ${lines.at(-1)}` : "none"}`;
  expect(consistencyProblems(await snapshotTables(db)), context).toEqual([]);

  // 1. What the killed process left: a prefix of the steps, each whole (all of its tool calls), and
  //    at least every step it was told was stored.
  const printed = lines.filter((l) => l.startsWith("STEP ")).length;
  const execution = await w.getExecutionSession(executionId);
  expect(execution, context).toMatchObject({ executionId, status: "running" });
  const left = await storedSteps(db, executionId);
  expect(
    left.map((s) => s.stepIndex),
    context,
  ).toEqual(Array.from({ length: left.length }, (_, i) => i));
  expect(left.length, context).toBeGreaterThanOrEqual(printed);
  for (const s of left) {
    expect({ step: s.stepIndex, content: s.content, tools: s.toolCalls.map((t) => t.toolName) }, context).toEqual({
      step: s.stepIndex,
      content: crashStep(s.stepIndex).content,
      tools: expectedToolNames(s.stepIndex),
    });
  }

  const open = execution!.openTransaction;
  if (trial.mode === "autocommit") {
    expect(open, context).toBeNull();
    expect(new Set(left.map((s) => s.state)), context).toEqual(new Set(left.length ? ["committed"] : []));
  } else if (open) {
    // Killed inside the transaction: its steps are all pending in it, invisible to consolidation.
    expect(lines.includes("COMMITTED"), context).toBe(false);
    const begun = lines.find((l) => l.startsWith("BEGUN "));
    if (begun) expect(open.transactionId).toBe(begun.slice("BEGUN ".length));
    expect(
      left.every((s) => s.state === "pending" && s.transactionId === open.transactionId),
      context,
    ).toBe(true);
    expect(await w.getSessionsForConsolidation(executionId)).toEqual([]);
  } else {
    // Killed before the transaction began (nothing stored) or after it committed (all 50 visible).
    expect(left.length === 0 || (left.length === CRASH_STEP_COUNT && left.every((s) => s.state === "committed")), context).toBe(true);
  }

  // 2. Recovery rolls back exactly the transaction the dead process left open, and nothing else.
  const recovered = await w.recoverOpenTransactions({ olderThanMs: 0 });
  expect(recovered, context).toEqual(
    open ? [{ executionId, transactionId: open.transactionId, openedAt: open.openedAt, pendingSteps: left.length }] : [],
  );
  const survivors = new Set((await storedSteps(db, executionId)).map((s) => s.stepIndex));
  expect(survivors.size, context).toBe(open ? 0 : left.length);

  // 3. The same 50 writes again: the surviving steps are no-ops, the rest are created, once each.
  const guard = trial.mode === "transaction" ? { transactionId: await w.beginTransaction(executionId) } : {};
  const created: boolean[] = [];
  for (let i = 0; i < CRASH_STEP_COUNT; i++) created.push((await w.storeStep(executionId, crashStep(i), guard)).created);
  expect(created, context).toEqual(Array.from({ length: CRASH_STEP_COUNT }, (_, i) => !survivors.has(i)));
  if (guard.transactionId) await w.commitTransaction(executionId, guard);

  const final = await storedSteps(db, executionId);
  expect(final.map((s) => [s.stepIndex, s.state, s.content, s.toolCalls.map((t) => t.toolName)])).toEqual(
    Array.from({ length: CRASH_STEP_COUNT }, (_, i) => [i, "committed", crashStep(i).content, expectedToolNames(i)]),
  );
  const toolCalls = await prismaClientOf(db).toolCall.count({ where: { step: { executionId } } });
  expect(toolCalls).toBe(Array.from({ length: CRASH_STEP_COUNT }, (_, i) => expectedToolNames(i).length).reduce((a, b) => a + b, 0));

  // 4. It finishes, and consolidates: the 50 steps in order, with their tool calls, under their ids.
  await w.finishExecutionSession(executionId, { status: "completed" });
  const sessions = await w.getSessionsForConsolidation(executionId);
  expect(sessions.map((s) => [s.stepIndex, s.sessionId, s.content, s.toolCalls.map((t) => t.toolName)])).toEqual(
    Array.from({ length: CRASH_STEP_COUNT }, (_, i) => [i, stepSessionId(executionId, i), crashStep(i).content, expectedToolNames(i)]),
  );
  const consolidatedId = `${executionId}_consolidated`;
  await w.storeConsolidatedSession(consolidatedId, executionId, JSON.stringify({ steps: sessions.length }), {
    totalTools: toolCalls,
    successRate: (sessions.filter((s) => s.status === "success").length / sessions.length) * 100,
  });
  expect(await w.getConsolidatedSessionsByExecution(executionId)).toMatchObject([
    { consolidatedSessionId: consolidatedId, originalSessionIds: sessions.map((s) => s.sessionId), totalTools: toolCalls },
  ]);
  expect(await w.getExecutionSession(executionId)).toMatchObject({ status: "completed", openTransaction: null });
  expect(consistencyProblems(await snapshotTables(db))).toEqual([]);
}
