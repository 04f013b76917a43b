/**
 * `reev recover` and the embedded database's directory lock, end to end: for each test, the test
 * process writes an execution left with an open transaction (as a crash would leave it) through
 * @reev/db into a directory of its own, closes it, and the CLI child processes find and roll it back.
 * Then the test process holds such a directory open and a CLI process must refuse it, clearly,
 * without harming it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Database, openDatabase } from "@reev/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, type CliResult, makeTempDir, runCli, show } from "./support/run-cli.js";

let temp: ReturnType<typeof makeTempDir>;
let crashes = 0;

const executionId = "exec_cli_recover_1";

const step = (stepId: string, toolName: string) =>
  JSON.stringify({
    stepId,
    status: "success",
    durationMs: 5,
    toolCalls: [{ toolName, input: { a: 1 }, output: { ok: true }, success: true, durationMs: 3 }],
  });

/**
 * A database directory of its own, as a crash leaves it: an execution with one committed step and an
 * open transaction holding two pending ones. Closed before any CLI process opens it.
 */
async function crashedRun(): Promise<{ dir: string; transactionId: string; reev: (...args: string[]) => Promise<CliResult> }> {
  const dir = join(temp.dir, `db${++crashes}`);
  const db = await openDatabase({ url: dir });
  try {
    await db.writer.createExecutionSession({ executionId, flowId: "cli-recover", agent: "scripted", prompt: "left open by a crash" });
    await db.writer.storeStepSession(executionId, 0, step("committed_before", "get_balance")); // no transaction: committed
    await db.writer.beginTransaction(executionId);
    await db.writer.storeStepSession(executionId, 1, step("pending_swap", "swap"));
    await db.writer.storeStepSession(executionId, 2, step("pending_lend", "lend"));
    const open = await db.writer.listOpenTransactions();
    expect(open.map((t) => [t.executionId, t.pendingSteps])).toEqual([[executionId, 2]]);
    return { dir, transactionId: open[0]!.transactionId, reev: (...args) => runCli([...args, "--db", dir], { cwd: temp.dir }) };
  } finally {
    await db.close();
  }
}

beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-recover-");
});

afterAll(() => temp?.remove());

/** The row of the recover table for the crashed execution: execution, transaction, opened (UTC), pending steps. */
const row = (transactionId: string) => new RegExp(`^${executionId} +${transactionId} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +2$`, "m");

describe("reev recover", () => {
  it("by default leaves transactions younger than an hour alone: a live run may own them", async () => {
    const { dir, transactionId, reev } = await crashedRun();
    const r = await reev("recover");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe(`No open transactions older than 60m00s in embedded PGlite at ${dir}.\n`);
    // Still open: an explicit age rolls back the same transaction.
    const later = await reev("recover", "--older-than", "0");
    expect(later.stdout).toMatch(row(transactionId));
  });

  it("--dry-run prints a table of what it would roll back, and changes nothing", async () => {
    const { transactionId, reev } = await crashedRun();
    const r = await reev("recover", "--dry-run", "--older-than", "0");
    expect(r.code, show(r)).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines, show(r)).toHaveLength(4);
    expect(lines[0]).toBe("Would roll back 1 open transaction (a dry run: nothing changed; run again without --dry-run to roll back):");
    expect(lines[1]).toMatch(/^execution +transaction +opened \(UTC\) +pending steps$/);
    expect(lines[3]).toMatch(row(transactionId));
    // The same as JSON, for scripts.
    const json = await reev("recover", "--dry-run", "--older-than", "0", "--json");
    expect(json.code, show(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      dryRun: true,
      olderThanMs: 0,
      transactions: [{ executionId, transactionId, openedAt: expect.stringMatching(/Z$/), pendingSteps: 2 }],
    });
    // Nothing changed: the same transaction, with its 2 pending steps, is there to roll back.
    const real = await reev("recover", "--older-than", "0");
    expect(real.stdout).toMatch(/^Rolled back 1 open transaction: their pending steps are gone, the committed steps stay\.$/m);
    expect(real.stdout).toMatch(row(transactionId));
  });

  it("rolls the transaction back, printing the pending step count; a second run finds nothing", async () => {
    const { transactionId, reev } = await crashedRun();
    const r = await reev("recover", "--older-than", "0", "--json");
    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: false, transactions: [{ executionId, transactionId, pendingSteps: 2 }] });

    const again = await reev("recover", "--older-than", "0");
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toMatch(/^No open transactions older than 0ms in /);
    expect(JSON.parse((await reev("recover", "--older-than", "0", "--json")).stdout).transactions).toEqual([]);

    // The pending steps are gone, the committed one stays, the execution is no longer in a transaction.
    const exported = await reev("export", executionId, "--format", "json");
    expect(exported.code, show(exported)).toBe(0);
    const doc = JSON.parse(exported.stdout);
    expect(doc.execution).toMatchObject({ executionId, openTransaction: null });
    expect(doc.steps.map((s: { stepIndex: number; stepId: string }) => [s.stepIndex, s.stepId])).toEqual([[0, "committed_before"]]);
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
