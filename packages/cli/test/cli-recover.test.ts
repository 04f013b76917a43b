/**
 * `reev recover` and the embedded database's directory lock, end to end: for each test, the test
 * process writes an execution left running with an open transaction (as a crash would leave it)
 * through @reev/db into a directory of its own, closes it, and the CLI child processes find and finish
 * it once its owner is gone. (Real crashes, SIGKILL at a seeded step, are in cli-interrupt.test.ts;
 * here the owner is the test process itself, alive, or a pid that has exited, written in its place.)
 * Then the test process holds such a directory open and a CLI process must refuse it, clearly,
 * without harming it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Database, openDatabase } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { describe, expect, it } from "vitest";
import { type CliResult, runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-recover-");
let crashes = 0;

const executionId = "exec_cli_recover_1";

const step = (stepId: string, toolName: string) =>
  JSON.stringify({
    stepId,
    status: "success",
    durationMs: 5,
    toolCalls: [{ toolName, input: { a: 1 }, output: { ok: true }, success: true, durationMs: 3 }],
  });

type CrashedRun = { dir: string; reev: (...args: string[]) => Promise<CliResult>; killOwner(): Promise<number>; ownerPid: number };

/** A pid that no process has any more: one that just exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid as number;

/** Writes `pid` as the crashed execution's owner: what a run whose process has exited leaves. */
const setOwnerPid = (db: Database, pid: number) =>
  prismaClientOf(db).executionSession.update({ where: { executionId }, data: { ownerPid: pid } });

/**
 * A database directory of its own, as a crash leaves it: a running execution with one committed step
 * and an open transaction holding two pending ones. Its owner is a process that has exited, or with
 * `ownerAlive` this (live) process until `killOwner` writes a dead pid in its place. Closed before any
 * CLI process opens it.
 */
async function crashedRun(options: { ownerAlive?: boolean } = {}): Promise<CrashedRun> {
  const dir = join(temp.dir, `db${++crashes}`);
  const db = await openDatabase({ url: dir });
  let ownerPid = process.pid;
  try {
    await db.writer.createExecutionSession({
      executionId,
      flowId: "cli-recover",
      agent: "scripted",
      prompt: "left open by a crash",
      // The plan's step ids, as the executor records them: the last was never reached.
      metadata: { steps: ["committed_before", "pending_swap", "pending_lend", "never_reached"] },
    });
    await db.writer.storeStepSession(executionId, 0, step("committed_before", "get_balance")); // no transaction: committed
    await db.writer.beginTransaction(executionId);
    await db.writer.storeStepSession(executionId, 1, step("pending_swap", "swap"));
    await db.writer.storeStepSession(executionId, 2, step("pending_lend", "lend"));
    const open = await db.writer.listOpenTransactions();
    expect(open.map((t) => [t.executionId, t.pendingSteps])).toEqual([[executionId, 2]]);
    if (!options.ownerAlive) {
      ownerPid = deadPid();
      await setOwnerPid(db, ownerPid);
    }
  } finally {
    await db.close();
  }
  return {
    dir,
    ownerPid,
    reev: (...args) => runCli([...args, "--db", dir], { cwd: temp.dir }),
    killOwner: async () => {
      const dead = deadPid();
      const owned = await openDatabase({ url: dir });
      try {
        await setOwnerPid(owned, dead);
      } finally {
        await owned.close();
      }
      return dead;
    },
  };
}

/** The row of the recover table: execution, owner, last heartbeat (UTC), rolled back, committed, consolidation, why. */
const row = (pid: number, consolidation: string) =>
  new RegExp(
    `^${executionId} +${pid}@${hostname()} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +2 +1 +${consolidation} +abandoned: process ${pid} on ${hostname()} exited without finishing$`,
    "m",
  );

describe("reev recover", () => {
  it("leaves a run whose process is alive alone, with no age to guess; finishes it once that process is gone", {
    timeout: 120_000,
  }, async () => {
    const { dir, reev, killOwner } = await crashedRun({ ownerAlive: true });
    const r = await reev("recover");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(
      `No abandoned runs or evaluations in embedded PGlite at ${dir} (1 run is still running, owned by a live process).\n`,
    );
    // The same run, its owner gone: finished without any flag.
    const pid = await killOwner();
    const later = await reev("recover");
    expect(later.code, show(later)).toBe(0);
    expect(later.stdout).toMatch(row(pid, "completed"));
  });

  it("status and diagram of a run whose process is gone say so, as show does, and that reev recover finishes and consolidates it", {
    timeout: 120_000,
  }, async () => {
    const { dir, reev, ownerPid: pid } = await crashedRun();
    const status = await reev("status", executionId);
    expect(status.code, show(status)).toBe(0);
    expect(status.stdout, show(status)).toMatch(/^Status +⚠️ running \(abandoned\)$/m);
    const owner = (r: CliResult) => /^Owner +(.*)$/m.exec(r.stdout)?.[1];
    expect(owner(status), show(status)).toMatch(
      new RegExp(
        `^process ${pid} on ${hostname()} {3}last heartbeat: .+ {3}\\(abandoned: the run's process is gone and the run never finished; reev recover --db ${dir} finishes such runs\\)$`,
      ),
    );
    const shown = await reev("show", executionId);
    expect(owner(shown), show(shown)).toBe(owner(status));
    // Not consolidated, and never will be by itself: the hint is recover, not another look at status.
    const diagram = await reev("diagram", executionId);
    expect(diagram.code, show(diagram)).toBe(2);
    expect(diagram.stderr, show(diagram)).toContain(
      `Its process is gone: reev recover --db ${dir} finishes it and consolidates the steps it committed; then it can be drawn.\n`,
    );
    const consolidate = await reev("consolidate", executionId);
    expect(consolidate.code, show(consolidate)).toBe(2);
    expect(consolidate.stderr, show(consolidate)).toBe(
      `reev: Execution "${executionId}" is still running, but its process is gone: only a finished run is consolidated.\nreev recover --db ${dir} finishes it and consolidates the steps it committed.\n`,
    );
    // And it does: the diagram then draws it.
    expect((await reev("recover")).stdout).toMatch(row(pid, "completed"));
    const drawn = await reev("diagram", executionId);
    expect(drawn.code, show(drawn)).toBe(0);
    expect(drawn.stdout).toMatch(/^stateDiagram-v2/);
    const after = await reev("status", executionId);
    expect(after.stdout, show(after)).toMatch(/^Status +❌ failed — abandoned: /m);
    expect(owner(after), show(after)).toBeUndefined();
  });

  it("a --db with no database is refused, as reev purge refuses it: nothing is created", async () => {
    const missing = join(temp.dir, "does-not-exist");
    const r = await runCli(["recover", "--db", missing], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr, show(r)).toContain(`reev: There is no database at ${missing}: the directory does not exist.\n`);
    expect(existsSync(missing)).toBe(false);
  });

  it("--dry-run prints a table of what it would finish, and changes nothing", { timeout: 120_000 }, async () => {
    const { reev, ownerPid: pid } = await crashedRun();
    const r = await reev("recover", "--dry-run");
    expect(r.code, show(r)).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines, show(r)).toHaveLength(4);
    expect(lines[0]).toBe("Would finish 1 abandoned run as failed (a dry run: nothing changed; run again without --dry-run):");
    expect(lines[1]).toMatch(/^execution +owner +last heartbeat \(UTC\) +rolled back +committed +consolidation +why$/);
    expect(lines[3]).toMatch(row(pid, "would consolidate"));
    // The same as JSON, for scripts.
    const json = await reev("recover", "--dry-run", "--json");
    expect(json.code, show(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      dryRun: true,
      staleAfterMs: 120000,
      olderThanMs: null,
      complete: true,
      runs: [
        {
          executionId,
          flowId: "cli-recover",
          owner: { host: hostname(), pid, startedAt: expect.stringMatching(/Z$/) },
          heartbeatAt: expect.stringMatching(/Z$/),
          status: "running",
          error: `abandoned: process ${pid} on ${hostname()} exited without finishing`,
          rolledBackSteps: 2,
          committedSteps: 1,
          consolidation: { status: "would consolidate", consolidatedSessionId: null, error: null },
        },
      ],
      evaluations: [],
    });
    // Nothing changed: the same run, with its 2 pending steps, is there to finish.
    const real = await reev("recover");
    expect(real.stdout).toMatch(/^Finished 1 abandoned run as failed: open transactions rolled back, committed steps consolidated\.$/m);
    expect(real.stdout).toMatch(row(pid, "completed"));
  });

  it("--stale-after and --older-than take an age with its unit, as purge does; a bare number is refused and nothing changes", {
    timeout: 120_000,
  }, async () => {
    const { reev } = await crashedRun();
    const cases: [args: string[], message: string][] = [
      [["--older-than", "7"], 'got "7": it has no unit.'],
      [["--stale-after", "120000"], 'got "120000": it has no unit.'],
      [["--older-than", "-1d"], 'got "-1d": it is negative.'],
    ];
    for (const [args, message] of cases) {
      const r = await reev("recover", ...args);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout, show(r)).toBe("");
      const flag = args[0] as string;
      expect(r.stderr.split("\n")[0], show(r)).toBe(
        `reev: ${flag} must be a whole number and a unit (s, m, h, d or w), such as 30d or 12h; ${message}`,
      );
    }
    // Written right, out of range: the range is what to fix.
    for (const [value, message] of [
      ["0s", '--stale-after must be more than zero; got "0s".'],
      ["30d", '--stale-after can be at most 24d; got "30d".'],
    ]) {
      const r = await reev("recover", "--stale-after", value as string);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr.split("\n")[0], show(r)).toBe(`reev: ${message}`);
    }
    // Read as milliseconds, as the JSON reports them; the run refused above is still there to finish.
    const json = await reev("recover", "--dry-run", "--stale-after", "10m", "--older-than", "1h", "--json");
    expect(json.code, show(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      staleAfterMs: 600_000,
      olderThanMs: 3_600_000,
      runs: [{ executionId, status: "running" }],
    });
  });

  it("finishes the run failed with its committed steps consolidated; a second run finds nothing", { timeout: 120_000 }, async () => {
    const { reev, ownerPid: pid } = await crashedRun();
    const r = await reev("recover", "--json");
    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: false,
      runs: [{ executionId, status: "failed", rolledBackSteps: 2, committedSteps: 1, consolidation: { status: "completed" } }],
    });

    const again = await reev("recover");
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toMatch(/^No abandoned runs or evaluations in /);

    // The pending steps are gone, the committed one stays and is consolidated, the run is finished.
    const exported = await reev("export", executionId, "--format", "json");
    expect(exported.code, show(exported)).toBe(0);
    const doc = JSON.parse(exported.stdout);
    expect(doc.execution).toMatchObject({
      executionId,
      status: "failed",
      error: `abandoned: process ${pid} on ${hostname()} exited without finishing`,
      openTransaction: null,
    });
    expect(doc.steps.map((s: { stepIndex: number; stepId: string }) => [s.stepIndex, s.stepId])).toEqual([[0, "committed_before"]]);
    // Its wall time was never measured: "—" and null, not the span from its start to its last heartbeat.
    expect(doc.execution).toMatchObject({ finishedAt: doc.execution.heartbeatAt, durationMs: null });
    const shown = await reev("show", executionId);
    expect(shown.stdout, show(shown)).toMatch(/^Started {8}\S+ \S+ UTC {3}wall time: —$/m);
    // Its one recorded step succeeded: the metrics say 100%, and the Steps field says of what.
    const unrun =
      "3 of the 4 planned steps have no record (they never ran, or were rolled back): the metrics count the 1 recorded step only";
    expect(shown.stdout, show(shown)).toMatch(/^Metrics +success rate 100\.0% /m);
    const stepsField = (r: CliResult) => /^Steps +(.*)$/m.exec(r.stdout)?.[1];
    expect(stepsField(shown), show(shown)).toBe(unrun);
    const status = await reev("status", executionId);
    expect(stepsField(status), show(status)).toBe(unrun);
    // The same in JSON, as fields: a script sees the 100% is of 1 step of the 4 planned.
    for (const command of ["status", "show"]) {
      const json = await reev(command, executionId, "--json");
      expect(JSON.parse(json.stdout), show(json)).toMatchObject({
        status: "failed",
        consolidation: { metrics: { successRate: 100 } },
        recordedSteps: 1,
        plannedSteps: 4,
      });
    }
    // And the diagram, beside the one step it draws.
    const diagram = await reev("diagram", executionId);
    expect(diagram.stdout, show(diagram)).toContain(
      "    note left of step_0_committed_before\n        3 of the 4 planned steps have no record (they never ran, or were rolled back)\n    end note\n",
    );
    const listed = await reev("list");
    expect(listed.stdout, show(listed)).toMatch(new RegExp(`^${executionId} +cli-recover +❌ failed +\\S+ \\S+ +— +completed$`, "m"));
    expect(doc.consolidated.map((c: { originalSessionIds: string[] }) => c.originalSessionIds)).toEqual([[`${executionId}_step_0`]]);
  });
});

describe("a directory in use by another process", () => {
  it("is refused with a clear message, and works once released", async () => {
    const { dir, reev } = await crashedRun();
    let holder: Database | undefined = await openDatabase({ url: dir });
    try {
      const r = await reev("list");
      expect(r.code, show(r)).not.toBe(0);
      expect(r.code, show(r)).not.toBe(null);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`The embedded database at ${dir} is in use by process ${process.pid}`);
      expect(r.stderr.trimEnd().split("\n").length, "one clear line, no stack trace").toBeLessThanOrEqual(2);
      // The refused process did not take or remove the holder's lock, nor break its connection.
      expect(existsSync(`${dir}.lock`)).toBe(true);
      expect((await holder.writer.getExecutionSession(executionId))?.flowId).toBe("cli-recover");
    } finally {
      await holder?.close();
      holder = undefined;
    }
    expect(existsSync(`${dir}.lock`)).toBe(false);

    const after = await reev("list");
    expect(after.code, show(after)).toBe(0);
    expect(after.stdout).toMatch(new RegExp(`^${executionId}\\s+cli-recover\\s`, "m"));
  });

  it("a stale lock left by a dead process is taken over", async () => {
    const { dir, reev } = await crashedRun();
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    writeFileSync(`${dir}.lock`, `${dead}\n2020-01-01T00:00:00.000Z\n`);
    const r = await reev("list");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(executionId);
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
