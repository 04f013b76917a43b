/**
 * Ctrl-C and SIGTERM during `reev recover`, in real child processes, on an embedded directory and on
 * PostgreSQL (when REEV_TEST_DATABASE_URL is set). Recover finishes one run at a time (its transaction,
 * then its consolidation) and a signal stops it between two: the test holds the process right after
 * the first run's progress line (test/fixtures/hold-at.mjs), signals it there, and lets it go on. With
 * --json there is no progress line: on PostgreSQL the test holds the second run's row lock instead.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { describe, expect, it } from "vitest";
import { RecoverProgress, recoverCommand, recoverNotices } from "../src/commands/recover.js";
import { Interruption } from "../src/interrupt.js";
import { captureIO } from "./support/capture-io.js";
import { startCli } from "./support/live-cli.js";
import { holdLock } from "./support/pg-lock.js";
import { cliBackends, cliEnv, runCli, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-at.mjs", import.meta.url));
const temp = cliTempDir("reev-cli-recover-interrupt-");
const RUNS = 3;
let seeded = 0;

/** A pid that no process has any more: one that just exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid as number;

/**
 * `RUNS` runs left running by a process that is gone, each with a committed step and an open
 * transaction holding a pending one, oldest first. Returns their ids.
 */
async function crashedRuns(url: string): Promise<string[]> {
  const db = await openDatabase({ url });
  const batch = ++seeded;
  try {
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const executionId = `exec_recover_int_${batch}_${i}`;
      await db.writer.createExecutionSession({
        executionId,
        flowId: "recover-interrupt",
        agent: "scripted",
        prompt: "left open",
        startedAt: new Date(Date.now() - (RUNS - i) * 60_000),
      });
      await db.writer.storeStepSession(executionId, 0, JSON.stringify({ stepId: "done", status: "success" }));
      await db.writer.beginTransaction(executionId);
      await db.writer.storeStepSession(executionId, 1, JSON.stringify({ stepId: "pending", status: "success" }));
      await prismaClientOf(db).executionSession.update({ where: { executionId }, data: { ownerPid: deadPid() } });
      ids.push(executionId);
    }
    return ids;
  } finally {
    await db.close();
  }
}

async function statuses(url: string, ids: string[]): Promise<string[]> {
  const db = await openDatabase({ url, migrate: false });
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const e = await db.writer.getExecutionSession(id);
        return `${e?.status}/${e?.consolidation.status}`;
      }),
    );
  } finally {
    await db.close();
  }
}

describe.each(cliBackends(() => temp.dir))("Ctrl-C during reev recover on $name", (backend) => {
  const database = cliDatabase(backend, temp);

  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} after the first run: that run is finished and consolidated, the others left; it says so, exits ${code}; recover again finishes the rest`, async () => {
      const ids = await crashedRuns(database.url);
      const recover = startCli(["recover", "--db", database.url], {
        cwd: temp.dir,
        env: cliEnv({ REEV_TEST_HOLD_STDERR: "^Finished exec_" }),
        preload: HOLD,
        stdin: true,
      });
      const first = await recover.waitForLine(/^Finished exec_/);
      recover.child.kill(signal);
      recover.child.stdin?.write("go on\n");
      const r = await recover.done;
      expect(r.code, show(r)).toBe(code);
      expect(first).toBe(`Finished ${ids[0]} as failed; consolidation completed (1 of ${RUNS}).`);
      // Heard once the first run is finished and said: no run is under way, and only the same signal again exits at once.
      expect(r.stderr, show(r)).toContain(
        `\nInterrupted (${signal}): stopping before the next run: the 1 finished stay finished, the other runs are left as they are. ${signal === "SIGINT" ? "Press Ctrl-C again" : "Send SIGTERM again"} to exit at once.\n`,
      );
      expect(r.stdout, show(r)).toMatch(
        /^Finished 1 abandoned run as failed: open transactions rolled back, committed steps consolidated.\n/,
      );
      expect(r.stdout, show(r)).toContain(`\n${ids[0]} `);
      expect(r.stdout, show(r)).not.toContain(ids[1] as string);
      expect(
        r.stdout.endsWith(
          `Interrupted (${signal}): finished 1 of ${RUNS} abandoned runs (above), 2 runs left untouched, and no evaluation was looked at. Run reev recover --db ${database.url} again to finish the rest.\n`,
        ),
        show(r),
      ).toBe(true);
      expect(await statuses(database.url, ids)).toEqual(["failed/completed", "running/pending", "running/pending"]);

      const again = await runCli(["recover", "--db", database.url], { cwd: temp.dir });
      expect(again.code, show(again)).toBe(0);
      expect(again.stdout, show(again)).toMatch(/^Finished 2 abandoned runs as failed/);
      expect(await statuses(database.url, ids)).toEqual(["failed/completed", "failed/completed", "failed/completed"]);
    });
  }

  it("a signal before the first run is reached: the notice says no run is under way and nothing is changed, as the last line does", async () => {
    const ids = await crashedRuns(database.url);
    const progress = new RecoverProgress();
    const notices = recoverNotices(false, false, progress);
    // Before the runs are even listed.
    expect(notices.first("SIGTERM")).toBe(
      "\nInterrupted (SIGTERM): no run is under way yet: stopping before any is finished, so nothing is changed. Send SIGTERM again to exit at once.\n",
    );
    const db = await openDatabase({ url: database.url });
    try {
      const controller = new AbortController();
      controller.abort(new Interruption("SIGINT"));
      const io = captureIO();
      await recoverCommand(db, { staleAfterMs: 120_000, dryRun: false }, { json: false, signal: controller.signal, progress }, io);
      expect(notices.first("SIGINT")).toBe(
        `\nInterrupted (SIGINT): no run is under way yet: stopping before any is finished, so nothing is changed (the ${RUNS} abandoned runs found are left as they are). Press Ctrl-C again to exit at once.\n`,
      );
      expect(io.out()).toContain("Interrupted (SIGINT) before any run was finished: nothing was changed.");
    } finally {
      await db.close();
    }
    expect(await statuses(database.url, ids)).toEqual(["running/pending", "running/pending", "running/pending"]);
    expect((await runCli(["recover", "--db", database.url], { cwd: temp.dir })).code).toBe(0);
  });

  it.skipIf(backend.name !== "PostgreSQL")(
    "SIGINT while the first run waits for its row: the notice names it as the run under way, finished before stopping",
    async () => {
      const ids = await crashedRuns(database.url);
      const lock = await holdLock(database.url, "SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [ids[0]]);
      const recover = startCli(["recover", "--db", database.url], { cwd: temp.dir });
      try {
        await Promise.race([lock.blocking(), recover.done.then((r) => Promise.reject(new Error(`recover ended first\n${show(r)}`)))]);
        recover.child.kill("SIGINT");
        await recover.waitForLine(/^Interrupted \(SIGINT\)/);
      } finally {
        await lock.release();
      }
      const r = await recover.done;
      expect(r.code, show(r)).toBe(130);
      expect(r.stderr, show(r)).toContain(
        `\nInterrupted (SIGINT): finishing run ${ids[0]}, under way (rolled back, finished as failed and consolidated), then stopping; the other runs are left as they are. Press Ctrl-C again to exit at once.\n`,
      );
      expect(await statuses(database.url, ids)).toEqual(["failed/completed", "running/pending", "running/pending"]);
      expect((await runCli(["recover", "--db", database.url], { cwd: temp.dir })).code).toBe(0);
    },
  );

  it.skipIf(backend.name !== "PostgreSQL")(
    "--json, SIGTERM while the second run waits for its row: the report holds what was finished, complete: false, and stderr one INTERRUPTED line",
    async () => {
      const ids = await crashedRuns(database.url);
      const lock = await holdLock(database.url, "SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [ids[1]]);
      const recover = startCli(["recover", "--json", "--db", database.url], { cwd: temp.dir });
      try {
        // Rejects, with what it printed, if the process ends without waiting on the lock.
        await Promise.race([lock.blocking(), recover.done.then((r) => Promise.reject(new Error(`recover ended first\n${show(r)}`)))]);
        recover.child.kill("SIGTERM");
      } finally {
        await lock.release();
      }
      const r = await recover.done;
      expect(r.code, show(r)).toBe(143);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ dryRun: false, complete: false, evaluations: [] });
      expect(report.runs.map((run: { executionId: string }) => run.executionId)).toEqual(ids.slice(0, 2));
      expect(r.stderr.split("\n"), show(r)).toEqual([
        JSON.stringify({
          error: {
            code: "INTERRUPTED",
            message: `Interrupted (SIGTERM): finished 2 of ${RUNS} abandoned runs (above), 1 run left untouched, and no evaluation was looked at. Run reev recover --db ${database.url} again to finish the rest.`,
            field: null,
          },
        }),
        "",
      ]);
      expect(await statuses(database.url, ids)).toEqual(["failed/completed", "failed/completed", "running/pending"]);
      expect((await runCli(["recover", "--db", database.url], { cwd: temp.dir })).code).toBe(0);
    },
  );
});
