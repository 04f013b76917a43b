import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { type Database, DatabaseError, type DatabaseErrorCode, type DatabaseWriter } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";

/** A unique id per call, so tests can share one database per file without seeing each other's rows. */
export function uid(prefix = "exec"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** Awaits `promise`, asserts it rejected with a DatabaseError of `code` (and `field`, when given), returns it. */
export async function expectDbError(promise: Promise<unknown>, code: DatabaseErrorCode, field?: string): Promise<DatabaseError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected the call to reject").toBeInstanceOf(DatabaseError);
  const error = caught as DatabaseError;
  expect({ code: error.code, field: error.field }).toEqual({ code, field: field ?? error.field });
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

/** Creates a running execution with default fields. */
export async function createExecution(writer: DatabaseWriter, executionId = uid()): Promise<string> {
  await writer.createExecutionSession({ executionId, flowId: "flow-test", agent: "test-agent", prompt: "test prompt" });
  return executionId;
}

/** Row counts of every table, to prove a rejected call wrote nothing. */
export async function rowCounts(db: Database): Promise<{ executions: number; steps: number; toolCalls: number; consolidated: number }> {
  const [executions, steps, toolCalls, consolidated] = await Promise.all([
    prismaClientOf(db).executionSession.count(),
    prismaClientOf(db).stepSession.count(),
    prismaClientOf(db).toolCall.count(),
    prismaClientOf(db).consolidatedSession.count(),
  ]);
  return { executions, steps, toolCalls, consolidated };
}

/** Step rows of one execution (any state), in step order: what is really in the table. */
export async function stepRows(db: Database, executionId: string) {
  return prismaClientOf(db).stepSession.findMany({
    where: { executionId },
    orderBy: { stepIndex: "asc" },
    select: { stepIndex: true, state: true, content: true, transactionId: true },
  });
}

/** Tool-call rows of one execution. */
export function toolCallCount(db: Database, executionId: string): Promise<number> {
  return prismaClientOf(db).toolCall.count({ where: { step: { executionId } } });
}

/** Committed step indexes, as consolidation sees them. */
export async function visibleSteps(writer: DatabaseWriter, executionId: string): Promise<number[]> {
  return (await writer.getSessionsForConsolidation(executionId)).map((s) => s.stepIndex);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once at least `count` statements on `db`'s PostgreSQL database (of `applicationName`'s
 * connections, when given) are waiting for a lock: the condition a test waits on to know that calls
 * it started are queued behind a lock it holds, in the order it started them.
 */
export async function lockWaiters(
  db: Database,
  count: number,
  options: { applicationName?: string; timeoutMs?: number } = {},
): Promise<void> {
  const { applicationName = null, timeoutMs = 10_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Autocommit, on a connection of its own: inside a transaction pg_stat_activity would not change.
    const [row] = await prismaClientOf(db).$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'
        AND (${applicationName}::text IS NULL OR application_name = ${applicationName}::text)`;
    if ((row?.n ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`${row?.n ?? 0} statements wait for a lock, not ${count}, after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Rejects if `promise` takes longer than `ms`: turns a would-be deadlock into a clear failure. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (is a database transaction held?)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const CHILD_SCRIPT = fileURLToPath(new URL("./fixtures/pglite-child.ts", import.meta.url));

export type Child = { process: ChildProcess; ready: Record<string, unknown>; output(): string; exited: Promise<number | null> };

/**
 * Starts test/fixtures/pglite-child.ts in its own Node process (through tsx) and waits for its READY line.
 * Rejects with the child's output if it exits or stays silent for `timeoutMs`.
 */
export function startPgliteChild(mode: "crash" | "hold", dataDir: string, executionId: string, timeoutMs = 60_000): Promise<Child> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD_SCRIPT, mode, dataDir, executionId], {
    cwd: PACKAGE_DIR,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`child ${mode} ${why}; output:\n${out}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("READY "));
      if (line) {
        clearTimeout(timer);
        resolve({ process: child, ready: JSON.parse(line.slice("READY ".length)) as Record<string, unknown>, output: () => out, exited });
      }
    });
    void exited.then((code) => fail(`exited with ${code} before READY`));
  });
}
