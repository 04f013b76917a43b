// PGlite in a directory, the default embedded backend: it persists across close and reopen, one opener
// at a time (in this process or another), and a process killed mid-transaction leaves a stale lock that
// is taken over and pending steps that are recovered. The tests share one directory (creating a PGlite
// directory costs ~5 s); each works on executions of its own.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { createExecution, expectDbError, startPgliteChild, stepRows, toolCallCount, uid, visibleSteps } from "./helpers.js";

const lockOwner = (dataDir: string) => Number.parseInt(readFileSync(`${dataDir}.lock`, "utf8").split("\n")[0] ?? "", 10);

describe("PGlite directory", () => {
  let cwd: string;
  let dataDir: string;
  let savedUrl: string | undefined;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "reev-pglite-dir-"));
    dataDir = join(cwd, ".reev", "db");
    savedUrl = process.env.REEV_DATABASE_URL;
    delete process.env.REEV_DATABASE_URL;
  });
  afterAll(() => {
    if (savedUrl !== undefined) process.env.REEV_DATABASE_URL = savedUrl;
    rmSync(cwd, { recursive: true, force: true });
  });

  it("the default .reev/db persists across close and reopen; a second open in this process is refused", async () => {
    const id = uid("persist");
    const db = await openDatabase({ cwd });
    try {
      expect(db.target).toEqual({ kind: "pglite-dir", dataDir });
      expect(db.description).toContain(dataDir);
      await createExecution(db.writer, id);
      await db.writer.storeStepSession(id, 0, "survives a restart");
      await db.writer.beginTransaction(id);
      await db.writer.storeStepSession(id, 1, "pending survives too");

      expect(lockOwner(dataDir)).toBe(process.pid);
      const error = await expectDbError(openDatabase({ url: dataDir }), "CONNECTION");
      // In a program's words (reev's --db means nothing there), with what to do instead.
      expect(error.message).toBe(
        `The embedded database at ${dataDir} is already open in this process: use the Database you opened, or close it (db.close()) before opening it again.`,
      );
      // However the directory is spelled, it is the same directory and the same lock.
      await expectDbError(openDatabase({ url: `${dataDir}/` }), "CONNECTION");
      await expectDbError(openDatabase({ url: join(dataDir, "..", "..", ".reev", "db") }), "CONNECTION");
      // The refused open disturbed neither the open database nor its lock.
      expect(await visibleSteps(db.writer, id)).toEqual([0]);
      expect(lockOwner(dataDir)).toBe(process.pid);
    } finally {
      await db.close();
      await db.close(); // idempotent
    }
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const again = await openDatabase({ url: `file:${dataDir}` });
    try {
      expect(await visibleSteps(again.writer, id)).toEqual([0]);
      expect((await again.writer.listOpenTransactions()).filter((o) => o.executionId === id)).toMatchObject([{ pendingSteps: 1 }]);
      await again.writer.commitTransaction(id);
      expect((await again.writer.getSessionsForConsolidation(id)).map((s) => s.content)).toEqual([
        "survives a restart",
        "pending survives too",
      ]);
    } finally {
      await again.close();
    }
  });

  it("a second process holding the directory → a clear CONNECTION error, and the directory is intact afterwards", async () => {
    const id = uid("held");
    const child = await startPgliteChild("hold", dataDir, id);
    const childPid = child.ready.pid as number;
    try {
      const error = await expectDbError(openDatabase({ url: dataDir }), "CONNECTION");
      expect(error.message).toContain(`in use by process ${childPid}`);
      expect(error.message).toContain(dataDir);
      expect(error.message).toMatch(/Wait for it to end or stop it/);
      // Our failed attempt left the child's lock alone.
      expect(lockOwner(dataDir)).toBe(childPid);
    } finally {
      child.process.stdin?.write("close\n");
      expect(await child.exited).toBe(0);
    }
    expect(child.output()).toContain("CLOSED");
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const db = await openDatabase({ url: dataDir });
    try {
      expect(await db.writer.getExecutionSession(id)).toMatchObject({ executionId: id, flowId: "child-flow" });
      expect(await db.writer.getSessionsForConsolidation(id)).toMatchObject([{ stepIndex: 0, stepId: "s0", status: "success" }]);
      expect(
        await prismaClientOf(db).$queryRaw<
          { ok: number }[]
        >`SELECT count(*)::int AS ok FROM _prisma_migrations WHERE finished_at IS NOT NULL`,
      ).not.toEqual([{ ok: 0 }]);
    } finally {
      await db.close();
    }
  });

  it("a process killed with SIGKILL mid-transaction: the stale lock is taken over and its pending steps recovered", async () => {
    const id = uid("crash");
    const child = await startPgliteChild("crash", dataDir, id);
    const childPid = child.ready.pid as number;
    const transactionId = child.ready.transactionId as string;
    expect(transactionId).toMatch(/^[0-9a-f-]{36}$/);
    child.process.kill("SIGKILL");
    await child.exited;
    expect(lockOwner(dataDir)).toBe(childPid); // the stale lock of a dead process

    const db = await openDatabase({ url: dataDir });
    try {
      expect(lockOwner(dataDir)).toBe(process.pid); // taken over
      // What the killed process wrote is all there: step 0 committed, steps 1 and 2 pending with 3 tool calls.
      expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state, r.transactionId])).toEqual([
        [0, "committed", null],
        [1, "pending", transactionId],
        [2, "pending", transactionId],
      ]);
      expect(await toolCallCount(db, id)).toBe(3);
      expect(await visibleSteps(db.writer, id)).toEqual([0]);
      const mine = <T extends { executionId: string }>(list: T[]) => list.filter((o) => o.executionId === id);
      expect(mine(await db.writer.listOpenTransactions())).toEqual([
        { executionId: id, transactionId, openedAt: expect.any(Date), pendingSteps: 2 },
      ]);
      expect(mine(await db.writer.recoverOpenTransactions({ olderThanMs: 60 * 60_000 }))).toEqual([]);

      const recovered = mine(await db.writer.recoverOpenTransactions({ olderThanMs: 0 }));
      expect(recovered).toEqual([{ executionId: id, transactionId, openedAt: expect.any(Date), pendingSteps: 2 }]);
      expect((await stepRows(db, id)).map((r) => r.stepIndex)).toEqual([0]);
      expect(await toolCallCount(db, id)).toBe(0);
      expect(mine(await db.writer.listOpenTransactions())).toEqual([]);

      await db.writer.beginTransaction(id);
      await db.writer.storeStepSession(id, 1, "step_id: s1\nsuccess: true\n");
      await db.writer.commitTransaction(id);
      expect(await visibleSteps(db.writer, id)).toEqual([0, 1]);
    } finally {
      await db.close();
    }
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
