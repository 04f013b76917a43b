/**
 * The `reev` CLI end to end: the built CLI runs as a child process on temporary PGlite directories.
 * No test depends on another's data or order: a test that records runs gets a directory of its own,
 * and the read commands share runs recorded once, before them, which they only read.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { consolidateExecution } from "@reev/orchestrator";
import { beforeAll, describe, expect, it } from "vitest";
import { formatBytes } from "../src/format.js";
import { CLI_COMMAND, type CliResult, cliEnv, executionIds, fixture, runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-");
let workspaces = 0;

type Workspace = { cwd: string; db: string; reev: (...args: string[]) => Promise<CliResult> };

/** A working directory and a database directory that no other test uses. */
function workspace(): Workspace {
  const cwd = join(temp.dir, `w${++workspaces}`);
  const db = join(cwd, "db");
  mkdirSync(cwd);
  return { cwd, db, reev: (...args: string[]) => runCli([...args, "--db", db], { cwd }) };
}

/** Rows of the `reev list` table: execution id → its columns. */
function listRows(stdout: string): Map<string, string> {
  return new Map(
    stdout
      .split("\n")
      .filter((line) => line.startsWith("exec_"))
      .map((line) => [line.split(/\s+/)[0] as string, line]),
  );
}

function expectExit(result: CliResult, code: number): void {
  expect(result.code, show(result)).toBe(code);
}

/** The first execution id of a run's summary, checked against the flow it ran. */
function onlyExecutionId(r: CliResult, flowId: string): string {
  const [executionId, ...more] = executionIds(r.stdout);
  expect(executionId, show(r)).toMatch(new RegExp(`^exec_${flowId}_`));
  expect(more, show(r)).toEqual([]);
  return executionId as string;
}

describe("reev run", () => {
  it("runs a flow that succeeds: exit 0, summary table, diagram files, plain progress lines", async () => {
    const { cwd, db, reev } = workspace();
    const r = await reev("run", fixture("succeeds.yaml"), "--out", "diagrams");
    expectExit(r, 0);

    const executionId = onlyExecutionId(r, "cli-succeeds");
    const consolidatedId = r.stdout.match(/consolidation: completed \((\S+)\)/)?.[1];
    expect(consolidatedId, show(r)).toBe(`${executionId}_consolidated_${consolidatedId?.split("_consolidated_")[1]}`);

    expect(r.stdout).toContain("✅ completed  cli-succeeds");
    expect(r.stdout).toContain("3/3 steps succeeded");
    expect(r.stdout).toContain("success rate 100.0%");
    expect(r.stdout).toContain("3 tool calls");
    // The step table: #, step, status, duration, tools, tries, score. A duration is any formatted one
    // (\S+): on a loaded machine a 10 ms step can take seconds, and formatDuration has its own tests.
    expect(r.stdout).toMatch(/^\s+#\s+step\s+status\s+duration\s+tools\s+tries\s+score\s+error$/m);
    expect(r.stdout).toMatch(/^\s+0\s+check_balance\s+✅ success\s+\S+\s+2\s+1\s+1\.00$/m);
    expect(r.stdout).toMatch(/^\s+1\s+quote_swap\s+✅ success\s+\S+\s+1\s+1\s+0\.50$/m);
    expect(r.stdout).toMatch(/^\s+2\s+summarise\s+✅ success\s+\S+\s+0\s+1\s+—$/m);

    // The diagram files it wrote, under --out (relative to the working directory), listed by absolute path.
    const mmd = join(cwd, "diagrams", `${executionId}.mmd`);
    const html = join(cwd, "diagrams", `${executionId}.html`);
    expect(r.stdout).toContain(`Diagrams:\n  ${mmd}\n  ${html}\n`);
    expect(existsSync(mmd) && existsSync(html)).toBe(true);
    const diagram = readFileSync(mmd, "utf8");
    expect(diagram.startsWith("stateDiagram-v2")).toBe(true);
    for (const step of ["check_balance", "quote_swap", "summarise"]) expect(diagram).toContain(step);
    const page = readFileSync(html, "utf8");
    expect(page).toMatch(/^<!DOCTYPE html>/i);
    expect(page).toContain("check_balance");
    expect(page).not.toMatch(/<script[^>]+src\s*=\s*["']?(https?:)?\/\//i);
    expect(page).not.toMatch(/<link[^>]+href\s*=\s*["']?(https?:)?\/\//i);

    // Progress goes to stderr, as plain lines (stderr is a pipe here): no carriage returns or ANSI codes.
    // A new directory is said to be new (a mistyped --db would start an empty database); the next run's is not.
    expect(r.stderr).toContain(`Database: embedded PGlite at ${db} (new: created now)\n`);
    const again = await reev("run", fixture("succeeds.yaml"), "--out", "diagrams");
    expectExit(again, 0);
    expect(again.stderr).toContain(`Database: embedded PGlite at ${db}\n`);
    expect(r.stderr).toContain(`▶ cli-succeeds: ${executionId} (3 steps)`);
    for (const [i, step, tools] of [
      [0, "check_balance", 2],
      [1, "quote_swap", 1],
      [2, "summarise", 0],
    ] as const) {
      expect(r.stderr).toContain(`cli-succeeds step ${i} ${step} started\n`);
      expect(r.stderr).toMatch(new RegExp(`cli-succeeds ✅ success step ${i} ${step} \\(\\S+, ${tools} tool calls?\\)\\n`));
    }
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    // Results on stdout, diagnostics on stderr: no progress leaks into the summary.
    expect(r.stdout).not.toContain("started");
  });

  it("stops at a failed critical step: exit 1, status failed, the remaining steps skipped", async () => {
    const { cwd, reev } = workspace();
    const r = await reev("run", fixture("critical-fails.yaml"), "--out", "diagrams");
    expectExit(r, 1);
    const executionId = onlyExecutionId(r, "cli-critical-fails");

    expect(r.stdout).toContain("❌ failed  cli-critical-fails");
    expect(r.stdout).toContain("1/4 steps succeeded");
    expect(r.stdout).toMatch(/error: .*critical step swap failed: Invalid parameters: slippage/);
    expect(r.stdout).toMatch(/^\s+0\s+balance\s+✅ success\s/m);
    // Retried once (2 tries), then failed.
    expect(r.stdout).toMatch(/^\s+1\s+swap\s+❌ failed\s+\S+\s+0\s+2\s+—\s+Invalid parameters: slippage$/m);
    expect(r.stdout).toMatch(/^\s+2\s+lend\s+⏭️ skipped\s+—\s+0\s+0\s+—\s+Skipped/m);
    expect(r.stdout).toMatch(/^\s+3\s+verify\s+⏭️ skipped\s+—\s+0\s+0\s+—\s+Skipped/m);
    // A failed run is still recorded, consolidated and drawn.
    expect(r.stdout).toMatch(/consolidation: completed \(/);
    expect(existsSync(join(cwd, "diagrams", `${executionId}.mmd`))).toBe(true);

    expect(r.stderr).toMatch(/cli-critical-fails step 1 swap attempt 1 failed \(Invalid parameters: slippage\); retrying in \d+ms/);
    expect(r.stderr).toMatch(/❌ failed step 1 swap \(\S+ after 2 attempts, 0 tool calls\) — Invalid parameters: slippage/);
    expect(r.stderr).toContain("⏭️ skipped step 2 lend");
    expect(r.stderr).toContain("⏭️ skipped step 3 verify");
  });

  it("a rolled-back run is not consolidated, and every view says so as reev run did: skipped, never pending", async () => {
    const { reev } = workspace();
    const r = await reev("run", fixture("atomic-rolls-back.yaml"));
    expectExit(r, 1);
    const executionId = onlyExecutionId(r, "cli-atomic-rolls-back");
    const skipped = "the execution was rolled back, so it has no steps to consolidate";
    expect(r.stdout).toContain(`consolidation: skipped — ${skipped}`);

    const list = await reev("list");
    expect(listRows(list.stdout).get(executionId), show(list)).toMatch(/rolled_back .* skipped$/);
    const status = await reev("status", executionId);
    expect(status.stdout).toContain(`Consolidation  skipped — ${skipped}`);
    const shown = await reev("show", executionId);
    expect(shown.stdout).toContain(`Consolidation  skipped — ${skipped}`);
    const json = JSON.parse((await reev("status", executionId, "--json")).stdout);
    expect(json.consolidation).toMatchObject({ status: "skipped", error: skipped, consolidatedSessionId: null });
    const listed = JSON.parse((await reev("list", "--json")).stdout).executions;
    expect(listed.find((e: { executionId: string }) => e.executionId === executionId).consolidation.status).toBe("skipped");

    // Nothing to consolidate: refused as bad input, and nothing changes.
    const consolidate = await reev("consolidate", executionId);
    expectExit(consolidate, 2);
    expect(consolidate.stderr).toContain("was rolled back: every step was undone, so there is nothing to consolidate");
    expect((await reev("status", executionId)).stdout).toContain(`Consolidation  skipped — ${skipped}`);
  });

  it("runs several files at once, repeated: every execution is recorded", async () => {
    const { cwd, reev } = workspace();
    const r = await reev(
      "run",
      fixture("succeeds.yaml"),
      fixture("also-succeeds.json"),
      "--concurrency",
      "2",
      "--repeat",
      "3",
      "--out",
      "diagrams",
    );
    expectExit(r, 0);
    const ids = executionIds(r.stdout);
    expect(ids, show(r)).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    // Summaries in task order: each file's repeats together.
    expect(ids.map((id) => id.replace(/_\d+_[0-9a-f]+$/, ""))).toEqual([
      ...Array(3).fill("exec_cli-succeeds"),
      ...Array(3).fill("exec_cli-also-succeeds"),
    ]);
    expect(r.stdout.match(/\.html$/gm)).toHaveLength(6);
    // What the twelve files came to, said once after their list: the bytes on disk, counted here anew.
    const dir = join(cwd, "diagrams");
    const bytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    expect(r.stdout).toContain(`.html\nDiagrams: 12 files, ${formatBytes(bytes)} in ${dir} (reev run --no-diagrams writes none).\n`);
    // The last line sums the runs up.
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("6 runs: 6 completed, 0 failed");

    const list = await reev("list");
    expectExit(list, 0);
    const rows = listRows(list.stdout);
    expect([...rows.keys()].sort(), show(list)).toEqual([...ids].sort());
    for (const id of ids) expect(rows.get(id)).toMatch(/✅ completed .* completed$/);
  });

  it("--no-diagrams consolidates each run but writes no diagram, and says how to draw one later", async () => {
    const { cwd, db, reev } = workspace();
    const r = await reev("run", fixture("succeeds.yaml"), "--repeat", "2", "--no-diagrams", "--out", "diagrams");
    expectExit(r, 0);
    expect(r.stdout.match(/consolidation: completed \(/g), show(r)).toHaveLength(2);
    expect(existsSync(join(cwd, "diagrams"))).toBe(false);
    expect(r.stdout).not.toContain("Diagrams:");
    expect(r.stdout).toContain(`\nNo diagrams written (--no-diagrams): reev diagram <executionId> --out run.html --db ${db} draws one.\n`);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("2 runs: 2 completed, 0 failed");
    // The line's command draws the run it names, from what was stored.
    const [id] = executionIds(r.stdout);
    const drawn = await reev("diagram", id as string, "--out", "run.html");
    expectExit(drawn, 0);
    expect(readFileSync(join(cwd, "run.html"), "utf8")).toMatch(/^<!DOCTYPE html>/i);
  });
});

describe("inspecting recorded runs", () => {
  // Recorded once for these tests, which only read: a run that succeeded, one that failed, then six more.
  let recorded: Workspace;
  const reev = (...args: string[]) => recorded.reev(...args);
  let succeeded: { executionId: string; consolidatedId: string };
  let failed: string;
  let first: CliResult;
  let repeated: CliResult;

  beforeAll(async () => {
    recorded = workspace();
    first = await reev("run", fixture("succeeds.yaml"), "--out", "diagrams");
    expectExit(first, 0);
    const executionId = onlyExecutionId(first, "cli-succeeds");
    succeeded = { executionId, consolidatedId: first.stdout.match(/consolidation: completed \((\S+)\)/)?.[1] as string };
    const second = await reev("run", fixture("critical-fails.yaml"), "--out", "diagrams");
    expectExit(second, 1);
    failed = onlyExecutionId(second, "cli-critical-fails");
    repeated = await reev("run", fixture("succeeds.yaml"), fixture("also-succeeds.json"), "--repeat", "3", "--out", "diagrams");
    expectExit(repeated, 0);
    expect(executionIds(repeated.stdout), show(repeated)).toHaveLength(6);
  });

  it("reev run --repeat numbers each flow's runs in its progress and its summaries, as reev eval does", () => {
    for (const run of [1, 2, 3]) {
      expect(repeated.stderr, show(repeated)).toMatch(new RegExp(`^▶ cli-succeeds run ${run}: exec_cli-succeeds_`, "m"));
      expect(repeated.stderr, show(repeated)).toMatch(new RegExp(`^ {2}cli-succeeds run ${run} ✅ success step 0 check_balance `, "m"));
      expect(repeated.stdout, show(repeated)).toMatch(new RegExp(`^✅ completed {2}cli-succeeds run ${run} {2}exec_cli-succeeds_`, "m"));
    }
    expect(repeated.stderr).not.toContain("run 4");
    // One run of a flow is not numbered.
    expect(first.stderr, show(first)).toMatch(/^▶ cli-succeeds: exec_/m);
    expect(first.stderr).toMatch(/^ {2}cli-succeeds ✅ success step 0 /m);
    expect(first.stdout).toMatch(/^✅ completed {2}cli-succeeds {2}exec_/m);
  });

  it("reev run takes a directory of flow files, as reev eval does", async () => {
    const { cwd } = workspace();
    const r = await runCli(["run", fixture("eval-v1"), "--db", "memory://", "--out", "diagrams"], { cwd });
    expectExit(r, 0);
    expect(
      executionIds(r.stdout).map((id) => id.split("_")[1]),
      show(r),
    ).toEqual(["eval-alpha", "eval-beta", "eval-gamma"]);
    expect(r.stdout).toMatch(/^3 runs: 3 completed, 0 failed$/m);
  });

  it("reev list prints a table, newest first; --status, --limit and --offset select rows", async () => {
    const all = await reev("list");
    expectExit(all, 0);
    expect(listRows(all.stdout).size, show(all)).toBe(8);
    expect(listRows(all.stdout).get(failed)).toMatch(/cli-critical-fails\s+❌ failed\s/);
    const lines = all.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^execution\s+flow\s+status\s+started \(UTC\)\s+duration\s+consolidation$/);
    expect(lines[1]).toMatch(/^[─ ]+$/);
    // The first run recorded is the oldest.
    expect(lines.at(-1)?.startsWith(succeeded.executionId)).toBe(true);

    const failedOnly = await reev("list", "--status", "failed");
    expectExit(failedOnly, 0);
    expect([...listRows(failedOnly.stdout).keys()]).toEqual([failed]);

    // 7 completed runs; the 7th, newest first, is this file's first.
    const page = await reev("list", "--status", "completed", "--limit", "2", "--offset", "6");
    expectExit(page, 0);
    expect([...listRows(page.stdout).keys()]).toEqual([succeeded.executionId]);
  });

  it("reev show prints the execution and its steps table", async () => {
    const r = await reev("show", failed);
    expectExit(r, 0);
    expect(r.stdout).toContain(`Execution      ${failed}\n`);
    expect(r.stdout).toMatch(/^Flow\s+cli-critical-fails\s+agent: scripted$/m);
    expect(r.stdout).toMatch(/^Status\s+❌ failed — .*critical step swap failed/m);
    // The same time format as reev list's table, with UTC said: no ISO "T…Z" in text.
    expect(r.stdout).toMatch(/^Started {8}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {3}wall time: \S+$/m);
    expect(r.stdout).toMatch(/last heartbeat: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    // Every label in one column, Consolidation (the longest) included.
    expect(r.stdout).toMatch(new RegExp(`^Consolidation  completed ${failed}_consolidated_\\d+$`, "m"));
    // No step has a score: the average is unknown, never the success rate in disguise.
    expect(r.stdout).toMatch(
      /^Metrics {8}success rate 25\.0% · avg score — · 1 tool calls? · steps time \S+ · tokens in — \/ out — · cost —/m,
    );
    expect(r.stdout).toMatch(/^#\s+step\s+status\s+duration\s+attempts\s+tool calls\s+score\s+error$/m);
    expect(r.stdout).toMatch(/^0\s+balance\s+✅ success\s+\S+\s+1\s+get_balance\s+—$/m);
    expect(r.stdout).toMatch(/^1\s+swap\s+❌ failed\s+\S+\s+2\s+—\s+—\s+Invalid parameters: slippage$/m);
    // Both attempts of the retried step, each with its error.
    expect(r.stdout).toMatch(/^ {2}step 1 attempt 1: ❌ failed in \S+ — Invalid parameters: slippage$/m);
    expect(r.stdout).toMatch(/^ {2}step 1 attempt 2: ❌ failed in \S+ — Invalid parameters: slippage$/m);
    expect(r.stdout).toMatch(/^2\s+lend\s+⏭️ skipped/m);
    expect(r.stdout).toMatch(/^3\s+verify\s+⏭️ skipped/m);
  });

  it("reev status prints the run's status and its consolidation's as aligned text", async () => {
    const r = await reev("status", failed);
    expectExit(r, 0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines, show(r)).toHaveLength(5);
    expect(lines[0]).toBe(`Execution      ${failed}`);
    expect(lines[1]).toMatch(/^Status {9}❌ failed — Stopped: critical step swap failed: Invalid parameters: slippage$/);
    // Times as every table prints them (utcTime), with UTC said: JSON alone keeps ISO 8601.
    expect(lines[2]).toMatch(
      new RegExp(`^Consolidation  completed  ${failed}_consolidated_\\d+  \\(updated \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\)$`),
    );
    expect(lines[3]).toMatch(
      /^Metrics {8}success rate 25\.0% · avg score — · 1 tool call(s)? · steps time \d+(ms|\.\d\ds) · tokens in — \/ out — · cost —$/,
    );
    // Why, as the consolidation stored it: the scripted steps reported no usage.
    expect(lines[4]).toBe(`${" ".repeat(15)}Cost is unknown (—): the agent reported no token usage.`);
  });

  it("reev status --json: the execution and its consolidation in full, under the documented names", async () => {
    const r = await reev("status", succeeded.executionId, "--json");
    expectExit(r, 0);
    const status = JSON.parse(r.stdout);
    expect(Object.keys(status)).toEqual([
      "executionId",
      "flowId",
      "agent",
      "prompt",
      "status",
      "error",
      "startedAt",
      "finishedAt",
      "durationMs",
      "openTransaction",
      "consolidation",
      "owner",
      "heartbeatAt",
      "stale",
      "abandoned",
      "recordedSteps",
      "plannedSteps",
    ]);
    expect(status).toMatchObject({
      executionId: succeeded.executionId,
      flowId: "cli-succeeds",
      agent: "scripted",
      status: "completed",
      error: null,
      openTransaction: null,
      // The run finished: whoever ran it, it is neither stale nor abandoned.
      owner: { host: expect.any(String), pid: expect.any(Number), startedAt: expect.stringMatching(/Z$/) },
      stale: false,
      abandoned: false,
      consolidation: {
        status: "completed",
        error: null,
        consolidatedSessionId: succeeded.consolidatedId,
        metrics: { successRate: 100, totalTools: 3 },
      },
      // A whole run: every planned step recorded.
      recordedSteps: 3,
      plannedSteps: 3,
    });
    // Scores 1 and 0.5 were recorded; the last step has none and does not count toward the mean.
    expect(status.consolidation.metrics.avgScore).toBeCloseTo((1 + 0.5) / 2, 5);
    expect(status.consolidation.metrics.executionDurationMs).toBeGreaterThanOrEqual(0);
    // Why the cost is null, as the text says it under the metrics: the stored reasons, and their words.
    expect(Object.keys(status.consolidation.metrics)).toEqual([
      "successRate",
      "avgScore",
      "totalTools",
      "executionDurationMs",
      "totalInputTokens",
      "totalOutputTokens",
      "costUsd",
      "costUnknown",
      "costUnknownReason",
    ]);
    expect(status.consolidation.metrics).toMatchObject({
      costUsd: null,
      costUnknown: [{ reason: "no_usage", reported: "none" }],
      costUnknownReason: "the agent reported no token usage",
    });
    for (const at of [status.startedAt, status.finishedAt, status.consolidation.updatedAt]) expect(at).toMatch(/^\d{4}-\d\d-\d\dT.+Z$/);
    expect(status.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("reev list --json and reev show --json: the same execution fields; show adds the steps", async () => {
    const list = await reev("list", "--status", "failed", "--json");
    expectExit(list, 0);
    const { executions } = JSON.parse(list.stdout);
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({
      executionId: failed,
      flowId: "cli-critical-fails",
      status: "failed",
      consolidation: { status: "completed", error: null },
    });
    const shown = await reev("show", failed, "--json");
    expectExit(shown, 0);
    const doc = JSON.parse(shown.stdout);
    // Everything list says about it, show says too (its consolidation in full).
    const { consolidation, ...execution } = executions[0];
    expect(doc).toMatchObject({ ...execution, consolidation: { ...consolidation, consolidatedSessionId: expect.any(String) } });
    expect(doc.steps.map((s: { stepIndex: number; stepId: string; status: string }) => [s.stepIndex, s.stepId, s.status])).toEqual([
      [0, "balance", "success"],
      [1, "swap", "failed"],
      [2, "lend", "skipped"],
      [3, "verify", "skipped"],
    ]);
    expect(doc.steps[1]).toMatchObject({ error: "Invalid parameters: slippage", score: null, toolCalls: [] });
    expect(doc.steps[0].toolCalls).toEqual([
      expect.objectContaining({ toolName: "get_balance", success: true, error: null, durationMs: expect.any(Number) }),
    ]);

    // Nothing to list is still a document.
    const none = await reev("list", "--status", "rolled_back", "--json");
    expect(JSON.parse(none.stdout)).toEqual({ executions: [], more: false, nextCursor: null });
  });

  it("reev diagram prints Mermaid for an execution id, and writes HTML for a consolidated id", async () => {
    const mmd = await reev("diagram", succeeded.executionId);
    expectExit(mmd, 0);
    expect(mmd.stdout.startsWith("stateDiagram-v2\n")).toBe(true);
    // The same diagram `reev run` wrote.
    expect(mmd.stdout).toBe(readFileSync(join(recorded.cwd, "diagrams", `${succeeded.executionId}.mmd`), "utf8"));
    expect(mmd.stderr).toBe("");

    const out = join(recorded.cwd, "by-consolidated-id.html");
    const html = await reev("diagram", succeeded.consolidatedId, "--format", "html", "--out", out);
    expectExit(html, 0);
    expect(html.stdout).toBe("");
    expect(html.stderr).toContain(`Wrote ${out}`);
    const page = readFileSync(out, "utf8");
    expect(page).toBe(readFileSync(join(recorded.cwd, "diagrams", `${succeeded.executionId}.html`), "utf8"));
    expect(page).not.toMatch(/<script[^>]+src\s*=\s*["']?(https?:)?\/\//i);

    // With --json, stderr carries the error's JSON line and nothing else: no "Wrote …" there.
    for (const [command, quiet] of [
      ["diagram", join(recorded.cwd, "quiet.mmd")],
      ["export", join(recorded.cwd, "quiet.json")],
    ] as const) {
      const r = await reev(command, succeeded.executionId, "--out", quiet, "--json");
      expectExit(r, 0);
      expect({ stdout: r.stdout, stderr: r.stderr }, command).toEqual({ stdout: "", stderr: "" });
      expect(existsSync(quiet)).toBe(true);
      rmSync(quiet);
    }
  });

  it("--out's extension picks the format when --format is not given, and one that contradicts --format is refused", async () => {
    const file = (name: string) => join(recorded.cwd, "by-extension", name);
    const byName = await reev("diagram", succeeded.executionId, "--out", file("run.html"));
    expectExit(byName, 0);
    expect(readFileSync(file("run.html"), "utf8")).toBe(
      readFileSync(join(recorded.cwd, "diagrams", `${succeeded.executionId}.html`), "utf8"),
    );
    const lines = await reev("export", succeeded.executionId, "--out", file("run.jsonl"));
    expectExit(lines, 0);
    const records = readFileSync(file("run.jsonl"), "utf8").trimEnd().split("\n");
    expect(records.length).toBeGreaterThan(1);
    for (const record of records) expect(() => JSON.parse(record)).not.toThrow();
    // Mermaid source is text.
    const plain = await reev("diagram", succeeded.executionId, "--out", file("run.txt"));
    expectExit(plain, 0);
    expect(readFileSync(file("run.txt"), "utf8").startsWith("stateDiagram-v2\n")).toBe(true);
    // An extension the command writes nothing for is refused before anything is written, naming what it writes.
    const picture = await reev("diagram", succeeded.executionId, "--out", file("run.svg"));
    expectExit(picture, 2);
    expect(picture.stderr).toContain(
      `--out ${file("run.svg")}: reev diagram writes mmd (.mmd, .mermaid, .txt) or html (.html, .htm), not .svg files. Name the file for one of them, or give --format to write that format into ${file("run.svg")} anyway.`,
    );
    expect(existsSync(file("run.svg"))).toBe(false);
    // A directory is refused before anything runs: the file's name is what is missing.
    const folder = await reev("export", succeeded.executionId, "--out", join(recorded.cwd, "by-extension"));
    expectExit(folder, 2);
    expect(folder.stderr).toContain(
      `--out ${join(recorded.cwd, "by-extension")} is a directory. --out takes the name of the file to write, not of a directory: add a file name to it.`,
    );
    // --format says what goes into it.
    expectExit(await reev("diagram", succeeded.executionId, "--format", "mmd", "--out", file("run.mermaid.md")), 0);
    expect(readFileSync(file("run.mermaid.md"), "utf8").startsWith("stateDiagram-v2\n")).toBe(true);

    const refused = await reev("diagram", succeeded.executionId, "--format", "mmd", "--out", file("wrong.html"));
    expectExit(refused, 2);
    expect(refused.stderr).toContain(
      `--out ${file("wrong.html")} is a .html file, but --format is mmd: leave out --format to write html, or give --out a name that fits mmd.`,
    );
    expect(existsSync(file("wrong.html"))).toBe(false);
  });

  it("a reader that stops early (reev diagram … | head) ends it quietly: no EPIPE stack trace, exit 0", async () => {
    // The HTML page (~MBs, the diagram library inlined) is far larger than a pipe holds: writing
    // carries on after the reader is gone, as with `| head -c 100`.
    const child = spawn(process.execPath, [...CLI_COMMAND, "diagram", succeeded.executionId, "--format", "html", "--db", recorded.db], {
      cwd: recorded.cwd,
      env: cliEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8"))));
    child.stdout.destroy();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s])),
    );
    expect(first).toMatch(/^<!DOCTYPE html>/i);
    expect(stderr).toBe("");
    expect([code, signal]).toEqual([0, null]);
  });

  it("reev export --format json prints the execution, its steps and consolidated sessions", async () => {
    const r = await reev("export", failed, "--format", "json");
    expectExit(r, 0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).sort()).toEqual(["consolidated", "execution", "steps"]);
    expect(doc.execution).toMatchObject({
      executionId: failed,
      flowId: "cli-critical-fails",
      status: "failed",
      agent: "scripted",
      openTransaction: null,
    });
    expect(doc.steps.map((s: { stepIndex: number; stepId: string; status: string }) => [s.stepIndex, s.stepId, s.status])).toEqual([
      [0, "balance", "success"],
      [1, "swap", "failed"],
      [2, "lend", "skipped"],
      [3, "verify", "skipped"],
    ]);
    expect(doc.steps[0].toolCalls.map((t: { toolName: string }) => t.toolName)).toEqual(["get_balance"]);
    expect(doc.consolidated).toHaveLength(1);
    expect(doc.consolidated[0].consolidatedSessionId).toMatch(new RegExp(`^${failed}_consolidated_\\d+$`));
    // The consolidated content is reev's JSON shape.
    const content = JSON.parse(doc.consolidated[0].consolidatedContent);
    expect(content).toMatchObject({
      execution_id: failed,
      total_sessions: 4,
      metadata: { successful_steps: 1, failed_steps: 1, total_steps: 4 },
    });
  });

  it("reev export --format jsonl prints one record a line: the execution, then the steps in order", async () => {
    const r = await reev("export", succeeded.executionId, "--format", "jsonl");
    expectExit(r, 0);
    expect(r.stdout.endsWith("\n")).toBe(true);
    const records = r.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.map((x) => x.type)).toEqual(["execution", "step", "step", "step", "consolidated"]);
    expect(records[0]).toMatchObject({ executionId: succeeded.executionId, status: "completed" });
    expect(records.slice(1, 4).map((s) => [s.stepIndex, s.stepId])).toEqual([
      [0, "check_balance"],
      [1, "quote_swap"],
      [2, "summarise"],
    ]);
    expect(records[4]).toMatchObject({ consolidatedSessionId: succeeded.consolidatedId });
  });

  it("an id selected short of its end, or only its middle, is answered with the ids that contain it", async () => {
    const cut = failed.slice(0, -7);
    const one = await reev("show", cut);
    expectExit(one, 2);
    expect(one.stderr).toBe(
      `reev: No execution "${cut}" in embedded PGlite at ${recorded.db}. Did you mean ${failed}?\nRun reev list --db ${recorded.db} to see the recorded executions.\n`,
    );
    // Four runs of cli-succeeds (and none of cli-also-succeeds): the newest three are named, as reev list orders them.
    const newest = [...listRows((await reev("list")).stdout).keys()].filter((id) => id.includes("cli-succeeds"));
    expect(newest).toHaveLength(4);
    const several = await reev("status", "CLI-SUCCEEDS");
    expectExit(several, 2);
    expect(several.stderr).toContain(`4 execution ids contain it; the newest 3: ${newest.slice(0, 3).join(", ")}.\n`);
    // Two characters would match nearly every id: nothing is suggested.
    expect((await reev("show", "li")).stderr).toBe(
      `reev: No execution "li" in embedded PGlite at ${recorded.db}.\nRun reev list --db ${recorded.db} to see the recorded executions.\n`,
    );
  });

  it("unknown ids and formats are bad input: exit 2", async () => {
    for (const args of [
      ["show", "exec_nope"],
      ["diagram", "exec_nope", "--format", "html"],
    ]) {
      const r = await reev(...args);
      expectExit(r, 2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `reev: No execution "exec_nope" in embedded PGlite at ${recorded.db}.\nRun reev list --db ${recorded.db} to see the recorded executions.\n`,
      );
      // The same for scripts: the code, the words, the field.
      const json = await reev(...args, "--json");
      expectExit(json, 2);
      expect(JSON.parse(json.stderr)).toEqual({
        error: {
          code: "NOT_FOUND",
          message: `No execution "exec_nope" in embedded PGlite at ${recorded.db}. Run reev list --db ${recorded.db} to see the recorded executions.`,
          field: "executionId",
        },
      });
    }
    const format = await reev("export", failed, "--format", "xml");
    expectExit(format, 2);
    expect(format.stderr).toContain('Unknown export format "xml"');
  });
});

describe("the terminal and the diagram show a step alike", () => {
  it("the same glyph for every status, unknown included, and the same duration", async () => {
    const { db, reev } = workspace();
    // A step stored without a status (only text) reads back as "unknown": the two views used to
    // disagree on its glyph (? and ❔), and on how to write 4477 ms (4.48s and 4477ms).
    const executionId = "exec_cli-views_1";
    const database = await openDatabase({ url: db });
    try {
      await database.writer.createExecutionSession({ executionId, flowId: "cli-views", agent: "scripted", prompt: "two views" });
      await database.writer.storeStep(executionId, { stepIndex: 0, stepId: "mystery", content: "no status here", durationMs: 4477 });
      await database.writer.storeStep(executionId, { stepIndex: 1, stepId: "known", content: "ok", status: "success", durationMs: 61_250 });
      await consolidateExecution(database, executionId);
    } finally {
      await database.close();
    }

    const shown = await reev("show", executionId);
    expectExit(shown, 0);
    const diagram = await reev("diagram", executionId);
    expectExit(diagram, 0);
    for (const [index, stepId, status, label, duration] of [
      [0, "mystery", "unknown", "UNKNOWN", "4.48s"],
      [1, "known", "success", "SUCCESS", "1m01s"],
    ] as const) {
      const row = new RegExp(`^${index}\\s+${stepId}\\s+(\\S+) ${status}\\s+(\\S+)\\s`, "m").exec(shown.stdout);
      expect(row, show(shown)).not.toBeNull();
      const [, glyph, shownDuration] = row as RegExpExecArray;
      expect(shownDuration).toBe(duration);
      expect(diagram.stdout, show(diagram)).toContain(`state "${glyph} Step ${index} · ${stepId}" as step_${index}_${stepId}\n`);
      expect(diagram.stdout, show(diagram)).toContain(`step_${index}_${stepId} : ${label} · ${duration}\n`);
    }
    expect(shown.stdout).toMatch(/^0\s+mystery\s+❔ unknown\s/m);
  });
});

describe("help", () => {
  it("long descriptions are wrapped by commander, evenly: no short line in the middle of a paragraph", async () => {
    for (const command of ["purge", "recover"]) {
      const r = await runCli(["help", command], { cwd: temp.dir });
      expectExit(r, 0);
      // The paragraph between "Usage:" and "Options:".
      const paragraph = r.stdout.split("\n\n")[1]?.split("\n") ?? [];
      expect(paragraph.length, show(r)).toBeGreaterThan(2);
      for (const line of paragraph.slice(0, -1)) expect(line.length, `${command}: "${line}"`).toBeGreaterThan(60);
    }
  });
});
