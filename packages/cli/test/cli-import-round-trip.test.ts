/**
 * `reev export` → `reev import` into another database → `reev export` there gives the very same file,
 * byte for byte, both ways between PGlite and PostgreSQL (when REEV_TEST_DATABASE_URL is set): the
 * `expect` verdicts, every stored time (steps' commits, the consolidation's), the consolidated
 * session's row number, attempts, tool calls and tokens all come through. The run is a real one of a
 * flow with checks (one failing), a retried step, a failed step and tokens on every attempt.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { openTestDatabase, type TestBackend, testBackends } from "@reev/db/testing";
import { consolidateExecution, loadFlowPlan, PingPongExecutor, ScriptedAgent } from "@reev/orchestrator";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "../src/cli-error.js";
import { exportCommand } from "../src/commands/export.js";
import { importCommand, readExport } from "../src/commands/import.js";
import { showCommand } from "../src/commands/show.js";
import { captureIO } from "./support/capture-io.js";

const FLOW = new URL("./fixtures/import-round-trip.yaml", import.meta.url).pathname;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reev-round-trip-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let files = 0;
async function exported(db: Database, executionId: string, format: "json" | "jsonl" = "json"): Promise<{ file: string; text: string }> {
  const file = join(dir, `export-${++files}.${format}`);
  await exportCommand(db, executionId, { format, out: file }, captureIO());
  return { file, text: readFileSync(file, "utf8") };
}

async function imported(db: Database, file: string): Promise<{ code: number; out: string }> {
  const io = captureIO();
  const code = await importCommand(db, await readExport(file), io);
  return { code, out: io.out() };
}

const refusal = (db: Database, file: string) => imported(db, file).catch((e: unknown) => e);

async function showJson(db: Database, executionId: string): Promise<unknown> {
  const io = captureIO();
  await showCommand(db, executionId, { json: true }, io);
  return JSON.parse(io.out());
}

async function tableCounts(db: Database) {
  const client = prismaClientOf(db);
  return {
    executions: await client.executionSession.count(),
    steps: await client.stepSession.count(),
    attempts: await client.stepAttempt.count(),
    toolCalls: await client.toolCall.count(),
    consolidated: await client.consolidatedSession.count(),
  };
}

async function record(db: Database, flow = FLOW, options: { evaluationId?: string } = {}): Promise<string> {
  const result = await new PingPongExecutor(db).execute(await loadFlowPlan(flow), new ScriptedAgent(), options);
  expect(result.consolidation.status).toBe("completed");
  return result.executionId;
}

/** Both ways between the two backends; PGlite into PGlite without PostgreSQL. */
const backends = testBackends();
const directions: { from: TestBackend; to: TestBackend }[] =
  backends.length > 1
    ? [
        { from: backends[0]!, to: backends[1]! },
        { from: backends[1]!, to: backends[0]! },
      ]
    : [{ from: backends[0]!, to: backends[0]! }];

describe.each(directions)("reev export from $from.name → reev import into $to.name → reev export", ({ from, to }) => {
  let source: Database;
  let target: Database;
  beforeEach(async () => {
    source = await openTestDatabase(from);
    target = await openTestDatabase(to);
    // The target already holds a run of its own: its row numbers are not the source's.
    await record(target);
  });
  afterEach(async () => {
    await source?.close();
    await target?.close();
  });

  it(`from ${from.name} into ${to.name}: the same file byte for byte (JSON and JSONL), the same reev show --json; importing again changes nothing`, async () => {
    const id = await record(source);
    const first = await exported(source, id);
    const doc = JSON.parse(first.text);
    // What the run must carry for the round trip to prove anything.
    expect(doc.execution).toMatchObject({ status: "failed", checks: { passed: true } });
    expect(doc.steps.map((s: { status: string }) => s.status)).toEqual(["success", "success", "failed"]);
    expect(doc.steps.map((s: { checks: { passed: boolean } | null }) => s.checks?.passed ?? null)).toEqual([true, false, null]);
    expect(doc.steps[0].attempts.map((a: { status: string; inputTokens: number }) => [a.status, a.inputTokens])).toEqual([
      ["failed", 100],
      ["success", 120],
    ]);
    expect(doc.steps[0].toolCalls.map((t: { attempt: number; success: boolean }) => [t.attempt, t.success])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(doc.consolidated).toHaveLength(1);
    expect(doc.consolidated[0].totalInputTokens).toBe(470);

    const before = await tableCounts(target);
    const done = await imported(target, first.file);
    expect(done.out).toBe(`Imported execution ${id} into ${target.description}: 3 of 3 steps new, 1 consolidated session new.\n`);
    const second = await exported(target, id);
    expect(second.text).toBe(first.text);
    expect((await exported(target, id, "jsonl")).text).toBe((await exported(source, id, "jsonl")).text);
    expect(await showJson(target, id)).toEqual(await showJson(source, id));

    const after = await tableCounts(target);
    expect(after).toEqual({
      executions: before.executions + 1,
      steps: before.steps + 3,
      attempts: before.attempts + 4,
      toolCalls: before.toolCalls + 3,
      consolidated: before.consolidated + 1,
    });
    for (const file of [first.file, (await exported(source, id, "jsonl")).file]) {
      const again = await imported(target, file);
      expect(again.out).toBe(`Execution ${id} was already in ${target.description}: 0 of 3 steps new, 0 consolidated sessions new.\n`);
      expect(await tableCounts(target)).toEqual(after);
    }
    expect((await exported(target, id)).text).toBe(first.text);
  });

  it(`from ${from.name} into ${to.name}: a run consolidated again since it was imported brings its new consolidation, and stays the same file`, async () => {
    const id = await record(source);
    await imported(target, (await exported(source, id)).file);
    await consolidateExecution(source, id, { consolidatedSessionId: `${id}_again` });
    const newer = await exported(source, id);
    expect(JSON.parse(newer.text).consolidated).toHaveLength(2);
    const done = await imported(target, newer.file);
    expect(done.out).toBe(`Execution ${id} was already in ${target.description}: 0 of 3 steps new, 1 consolidated session new.\n`);
    expect((await exported(target, id)).text).toBe(newer.text);
  });

  it(`from ${from.name} into ${to.name}: a file that differs from the finished run stored is refused, naming the field and what to do; nothing changes`, async () => {
    const id = await record(source);
    const { file, text } = await exported(source, id);
    await imported(target, file);
    const before = await tableCounts(target);
    type Doc = {
      execution: { status: string };
      steps: { timestamp: string; checks: { passed: boolean } }[];
    };
    const edited = (edit: (doc: Doc) => void) => {
      const doc = JSON.parse(text);
      edit(doc);
      const path = join(dir, `edited-${++files}.json`);
      writeFileSync(path, JSON.stringify(doc, null, 2));
      return path;
    };
    const doc = JSON.parse(text);
    const later = new Date(Date.parse(doc.steps[1].timestamp) + 1).toISOString();
    const timeRefused = await refusal(
      target,
      edited((d) => {
        d.steps[1]!.timestamp = later;
      }),
    );
    expect(timeRefused).toBeInstanceOf(CliError);
    expect(timeRefused).toMatchObject({
      code: "CONFLICT",
      field: "steps[1].timestamp",
      message: `${target.description} already holds execution "${id}" (failed), and the file differs from it: steps[1].timestamp is "${doc.steps[1].timestamp}" in the database but "${later}" in the file. Nothing was imported.`,
      hint: expect.stringContaining("export the run again from the database it came from"),
    });
    const checkRefused = await refusal(
      target,
      edited((d) => {
        d.steps[1]!.checks.passed = true;
      }),
    );
    expect(checkRefused).toMatchObject({ code: "CONFLICT", field: "steps[1].checks.passed" });
    const outcomeRefused = await refusal(
      target,
      edited((d) => {
        d.execution.status = "completed";
      }),
    );
    expect(outcomeRefused).toMatchObject({ code: "CONFLICT", field: "execution.status" });
    expect((outcomeRefused as Error).message).toContain(`execution.status is "failed" in the database but "completed" in the file`);
    expect(await tableCounts(target)).toEqual(before);
    expect((await exported(target, id)).text).toBe(text);
  });

  it(`from ${from.name} into ${to.name}: a file written before checks and createdAt were exported still imports, its times kept`, async () => {
    const id = await record(source);
    const { text } = await exported(source, id);
    const old = JSON.parse(text);
    delete old.execution.checks;
    for (const step of old.steps) {
      delete step.checks;
      delete step.createdAt;
    }
    const file = join(dir, `old-${++files}.json`);
    writeFileSync(file, JSON.stringify(old, null, 2));
    expect((await imported(target, file)).code).toBe(0);
    const copy = JSON.parse((await exported(target, id)).text);
    expect(copy.execution.checks).toBeNull();
    expect(copy.steps.map((s: { checks: unknown }) => s.checks)).toEqual([null, null, null]);
    expect(copy.steps.map((s: { timestamp: string; createdAt: string }) => [s.timestamp, s.createdAt])).toEqual(
      old.steps.map((s: { timestamp: string }) => [s.timestamp, s.timestamp]),
    );
    expect(copy.execution.consolidation).toEqual(old.execution.consolidation);
    expect(copy.consolidated).toEqual(old.consolidated);
    // The same old file again: a no-op, not a disagreement over what it does not say.
    expect((await imported(target, file)).out).toContain("was already in");
  });

  it(`from ${from.name} into ${to.name}: a run of an evaluation the target does not hold is imported without the link, and says so; with the evaluation there it keeps it`, async () => {
    const evaluationId = `eval_round_trip_${from.name}_${to.name}`;
    await source.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: {} });
    const id = await record(source, FLOW, { evaluationId });
    const { file, text } = await exported(source, id);
    expect(JSON.parse(text).execution.evaluationId).toBe(evaluationId);

    const done = await imported(target, file);
    expect(done.out.split("\n")[1]).toBe(
      `It belongs to evaluation ${evaluationId}, which ${target.description} does not hold: it is stored without that link (evaluationId null), so that evaluation's reports and reev compare there do not count it. Evaluations are not exported; to keep the link, import the run into the database that holds the evaluation.`,
    );
    expect((await target.writer.getExecutionSession(id))?.evaluationId).toBeNull();
    expect((await exported(target, id)).text).toBe(text.replace(`"evaluationId": "${evaluationId}"`, `"evaluationId": null`));
    // Again: a no-op that says the same.
    const again = await imported(target, file);
    expect(again.out).toContain("was already in");
    expect(again.out).toContain(`It belongs to evaluation ${evaluationId}`);

    const holder = await openTestDatabase(to);
    try {
      await holder.writer.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: {} });
      const linked = await imported(holder, file);
      expect(linked.out).not.toContain("It belongs to evaluation");
      expect((await exported(holder, id)).text).toBe(text);
    } finally {
      await holder.close();
    }
  });
});
