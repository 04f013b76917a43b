// Owners, heartbeats and abandoned executions (issue 9 §1): every execution records the process that
// created it and a heartbeat; an execution is abandoned only when that process is provably gone (on
// this host: its pid is dead, or now belongs to a process that started at another time; on another
// host: its heartbeat is stale). Recovery finishes exactly those, and never a live one. The owners of
// other hosts and dead processes are written into the rows directly: that is what such a run leaves.
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { describe, expect } from "vitest";
import {
  type Database,
  DEFAULT_STALE_AFTER_MS,
  executionLiveness,
  listExecutionsPage,
  livenessOptions,
  markedStatus,
  runMark,
} from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution } from "./helpers.js";

/** A pid no process has: one that just exited (and was reaped by spawnSync). */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid as number;

/** Rewrites an execution's owner and heartbeat, as a run elsewhere (or a dead one) leaves them. */
async function setOwner(
  db: Database,
  executionId: string,
  owner: { host?: string; pid?: number; startedAt?: Date; heartbeatAgoMs?: number },
) {
  const client = prismaClientOf(db);
  const row = await client.executionSession.findUniqueOrThrow({ where: { executionId } });
  await client.executionSession.update({
    where: { executionId },
    data: {
      ownerHost: owner.host ?? row.ownerHost,
      ownerPid: owner.pid ?? row.ownerPid,
      ownerStartedAt: owner.startedAt ?? row.ownerStartedAt,
      heartbeatAt: owner.heartbeatAgoMs === undefined ? row.heartbeatAt : new Date(Date.now() - owner.heartbeatAgoMs),
    },
  });
}

const ids = (found: { execution: { executionId: string } }[]) => found.map((f) => f.execution.executionId);

describe.each(testBackends())("abandoned executions on $name", (backend) => {
  test.override({ backend });

  test("an execution records its creator as owner, and a heartbeat that moves only while it runs", async ({ db }) => {
    const before = Date.now();
    const id = await createExecution(db.writer);
    const created = await db.writer.getExecutionSession(id);
    expect(created?.owner).toMatchObject({ host: hostname(), pid: process.pid });
    // The process's own start, not the execution's: within a few seconds of Node's own idea of it.
    const nodeStart = Date.now() - process.uptime() * 1000;
    expect(Math.abs((created?.owner?.startedAt?.getTime() ?? 0) - nodeStart)).toBeLessThan(5_000);
    expect(created?.heartbeatAt?.getTime()).toBeGreaterThanOrEqual(before - 1_000);

    await setOwner(db, id, { heartbeatAgoMs: 60_000 });
    expect(await db.writer.heartbeat(id)).toBe(true);
    const beat = (await db.writer.getExecutionSession(id))?.heartbeatAt?.getTime() ?? 0;
    expect(beat).toBeGreaterThan(Date.now() - 30_000);

    await db.writer.finishExecutionSession(id, { status: "completed" });
    await setOwner(db, id, { heartbeatAgoMs: 60_000 });
    expect(await db.writer.heartbeat(id), "a finished execution's heartbeat stays put").toBe(false);
  });

  test("a run of a live process is never abandoned, however old its heartbeat", async ({ db }) => {
    const id = await createExecution(db.writer);
    await setOwner(db, id, { heartbeatAgoMs: 24 * 3600_000 });
    const execution = (await db.writer.getExecutionSession(id))!;
    expect(executionLiveness(execution, { staleAfterMs: 1_000 })).toMatchObject({ abandoned: false, stale: true });
    expect(ids(await db.writer.recoverAbandonedExecutions({ staleAfterMs: 1_000, olderThanMs: 0 }))).not.toContain(id);
    expect(await db.writer.getExecutionSession(id)).toMatchObject({ status: "running", error: null });
    await db.writer.finishExecutionSession(id, { status: "completed" });
  });

  test("same host, dead pid: a dry run lists it and changes nothing; recovery rolls back, finishes it failed, keeps the committed steps", async ({
    db,
  }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, { stepIndex: 0, stepId: "kept", status: "success" }, { transactionId: null });
    await db.writer.beginTransaction(id);
    await db.writer.storeStep(id, { stepIndex: 1, stepId: "pending", status: "success" });
    await db.writer.storeStep(id, { stepIndex: 2, stepId: "pending too", status: "success" });
    const pid = deadPid();
    await setOwner(db, id, { pid, heartbeatAgoMs: 5_000 });
    const heartbeatAt = (await db.writer.getExecutionSession(id))?.heartbeatAt;
    const reason = `abandoned: process ${pid} on ${hostname()} exited without finishing`;

    const listed = (await db.writer.listAbandonedExecutions()).find((f) => f.execution.executionId === id);
    expect(listed).toMatchObject({ reason, pendingSteps: 2, committedSteps: 1, execution: { status: "running" } });
    expect(await db.writer.getExecutionSession(id)).toMatchObject({ status: "running", openTransaction: expect.anything() });

    const recovered = (await db.writer.recoverAbandonedExecutions()).find((f) => f.execution.executionId === id);
    expect(recovered).toMatchObject({ reason, pendingSteps: 2, committedSteps: 1 });
    const finished = await db.writer.getExecutionSession(id);
    // Finished when it was last alive, not when someone noticed; how long it ran nobody measured.
    expect(finished).toMatchObject({ status: "failed", error: reason, openTransaction: null, finishedAt: heartbeatAt, durationMs: null });
    expect((await db.writer.getSessionsForConsolidation(id)).map((s) => s.stepId)).toEqual(["kept"]);
    expect(ids(await db.writer.listAbandonedExecutions()), "finished: not abandoned any more").not.toContain(id);
  });

  test("same host, a pid that now belongs to another process start: abandoned", async ({ db }) => {
    const id = await createExecution(db.writer);
    const mine = (await db.writer.getExecutionSession(id))!.owner!;
    await setOwner(db, id, { startedAt: new Date(mine.startedAt!.getTime() - 3600_000) });
    expect(ids(await db.writer.recoverAbandonedExecutions())).toContain(id);
    expect(await db.writer.getExecutionSession(id)).toMatchObject({
      status: "failed",
      error: `abandoned: process ${process.pid} on ${hostname()} exited without finishing`,
    });
  });

  test("another host: live while its heartbeat is fresh, abandoned once it is stale", async ({ db }) => {
    const id = await createExecution(db.writer);
    await setOwner(db, id, { host: "elsewhere.example", pid: 4242, heartbeatAgoMs: 30_000 });
    expect(ids(await db.writer.recoverAbandonedExecutions({ staleAfterMs: 60_000 }))).not.toContain(id);
    expect((await db.writer.getExecutionSession(id))?.status).toBe("running");

    await setOwner(db, id, { heartbeatAgoMs: 90_000 });
    const recovered = await db.writer.recoverAbandonedExecutions({ staleAfterMs: 60_000 });
    expect(recovered.find((f) => f.execution.executionId === id)?.reason).toBe(
      "abandoned: process 4242 on elsewhere.example sent no heartbeat for over 1 min",
    );
    expect((await db.writer.getExecutionSession(id))?.status).toBe("failed");
  });

  test("a list's summary rows carry the owner and heartbeat, so a list marks a run whose process is gone", async ({ db }) => {
    const id = await createExecution(db.writer);
    const summary = async () => (await listExecutionsPage(db, { q: id })).executions.find((e) => e.executionId === id)!;
    expect(runMark(await summary())).toBeUndefined();
    expect(markedStatus(await summary())).toBe("running");
    await setOwner(db, id, { host: "elsewhere.example", pid: 4242, heartbeatAgoMs: 90_000 });
    // Silent past the threshold on another host: stale, and so abandoned; within it, only stale here.
    expect(await summary()).toMatchObject({ owner: { host: "elsewhere.example", pid: 4242 } });
    expect(runMark(await summary(), { staleAfterMs: 60_000 })).toBe("abandoned");
    expect(markedStatus(await summary())).toBe("running");
    await setOwner(db, id, { host: hostname(), pid: process.pid, heartbeatAgoMs: 90_000 });
    expect(runMark(await summary(), { staleAfterMs: 60_000 })).toBe("stale");
    await setOwner(db, id, { pid: deadPid() });
    expect(markedStatus(await summary())).toBe("running (abandoned)");
    // A finished run has no mark, whatever its owner.
    await db.writer.finishExecutionSession(id, { status: "failed", error: "test over" });
    expect(markedStatus(await summary())).toBe("failed");
  });

  test("no owner recorded (an older reev's run): abandoned only when older than olderThanMs", async ({ db }) => {
    const id = await createExecution(db.writer);
    await prismaClientOf(db).executionSession.update({
      where: { executionId: id },
      data: { ownerHost: null, ownerPid: null, ownerStartedAt: null, heartbeatAt: null, startedAt: new Date(Date.now() - 7200_000) },
    });
    expect(ids(await db.writer.recoverAbandonedExecutions())).not.toContain(id);
    expect(ids(await db.writer.recoverAbandonedExecutions({ olderThanMs: 3 * 3600_000 }))).not.toContain(id);
    expect(ids(await db.writer.recoverAbandonedExecutions({ olderThanMs: 3600_000 }))).toContain(id);
    expect((await db.writer.getExecutionSession(id))?.error).toMatch(/^abandoned: no owner recorded, and no sign of life for 120 min$/);
  });

  test("bad options are refused naming the field", async ({ db }) => {
    await expect(db.writer.listAbandonedExecutions({ staleAfterMs: -1 })).rejects.toMatchObject({
      code: "VALIDATION",
      field: "options.staleAfterMs",
    });
  });
});

describe("livenessOptions: the threshold a long-lived reader judges every run by", () => {
  test("left out, the default; given, checked once, naming staleAfterMs", () => {
    expect(livenessOptions()).toEqual({ staleAfterMs: DEFAULT_STALE_AFTER_MS });
    expect(livenessOptions(5_000)).toEqual({ staleAfterMs: 5_000 });
    for (const bad of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      let caught: unknown;
      try {
        livenessOptions(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(bad)).toMatchObject({ code: "VALIDATION", field: "staleAfterMs" });
    }
  });
});
