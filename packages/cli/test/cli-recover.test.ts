/**
 * `reev recover` and the embedded database's directory lock, end to end: the test process writes an
 * execution left with an open transaction (as a crash would leave it) through @reev/db, closes the
 * directory, and the CLI child processes find and roll it back. Then the test process holds the same
 * directory open and a CLI process must refuse it, clearly, without harming it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Database, openDatabase } from "@reev/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, makeTempDir, runCli, show } from "./support/run-cli.js";

let temp: ReturnType<typeof makeTempDir>;
let dir: string;
const reev = (...args: string[]) => runCli([...args, "--db", dir], { cwd: temp.dir });

const executionId = "exec_cli_recover_1";
let transactionId: string;

const step = (stepId: string, toolName: string) =>
  JSON.stringify({
    stepId,
    status: "success",
    durationMs: 5,
    toolCalls: [{ toolName, input: { a: 1 }, output: { ok: true }, success: true, durationMs: 3 }],
  });

beforeAll(async () => {
  assertBuilt();
  temp = makeTempDir("reev-cli-recover-");
  dir = join(temp.dir, "db");
  const db = await openDatabase({ url: dir });
  try {
    await db.writer.createExecutionSession({ executionId, flowId: "cli-recover", agent: "scripted", prompt: "left open by a crash" });
    await db.writer.storeStepSession(executionId, 0, step("committed_before", "get_balance")); // no transaction: committed
    await db.writer.beginTransaction(executionId);
    await db.writer.storeStepSession(executionId, 1, step("pending_swap", "swap"));
    await db.writer.storeStepSession(executionId, 2, step("pending_lend", "lend"));
    const open = await db.writer.listOpenTransactions();
    expect(open.map((t) => [t.executionId, t.pendingSteps])).toEqual([[executionId, 2]]);
    transactionId = open[0]!.transactionId;
  } finally {
    // Closed before any CLI process opens the directory.
    await db.close();
  }
});

afterAll(() => temp?.remove());

describe("reev recover", () => {
  it("by default leaves transactions younger than an hour alone: a live run may own them", async () => {
    const r = await reev("recover");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toBe("No open transactions older than 60m00s.\n");
  });

  it("--dry-run lists the open transaction and changes nothing", async () => {
    const r = await reev("recover", "--dry-run", "--older-than", "0");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^would roll back ${executionId}: transaction ${transactionId} opened \\S+Z, 2 pending steps$`, "m"),
    );
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    // Nothing changed: the next test rolls back this same transaction with its 2 pending steps.
  });

  it("rolls the transaction back, printing the pending step count; a second run finds nothing", async () => {
    const r = await reev("recover", "--older-than", "0");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^rolled back ${executionId}: transaction ${transactionId} opened \\S+Z, 2 pending steps$`, "m"));

    const again = await reev("recover", "--older-than", "0");
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toBe("No open transactions older than 0ms.\n");

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
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    writeFileSync(`${dir}.lock`, `${dead}\n2020-01-01T00:00:00.000Z\n`);
    const r = await reev("list");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(executionId);
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
