/**
 * `reev import`: what `reev export` wrote from one database goes into another in one transaction —
 * the same execution, steps, tool calls, status and consolidated sessions — and importing it again
 * changes nothing. The source is a real run of an example flow on PGlite; the target is every backend.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, DatabaseError } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { createPostgresDatabase, openTestDatabase, testBackends } from "@reev/db/testing";
import { exportExecution, loadFlowPlan, OrchestratorError, PingPongExecutor, ScriptedAgent } from "@reev/orchestrator";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exportCommand } from "../src/commands/export.js";
import { importCommand, readExport } from "../src/commands/import.js";
import type { CliIO } from "../src/context.js";
import { captureIO } from "./support/capture-io.js";
import { startCli } from "./support/live-cli.js";
import { assertBuilt, makeTempDir, runCli, show } from "./support/run-cli.js";

const EXAMPLE = new URL("../examples/twelve-step-rebalance.yaml", import.meta.url).pathname;

/** The export as a copy under another execution id: every place the file names it. */
function renamed<
  T extends { execution: { executionId: string }; steps: Record<string, unknown>[]; consolidated: Record<string, unknown>[] },
>(doc: T, id: string): T {
  doc.execution.executionId = id;
  for (const step of doc.steps) Object.assign(step, { executionId: id, sessionId: `${id}_step_${step.stepIndex}` });
  for (const c of doc.consolidated) c.executionId = id;
  return doc;
}

/** The file's execution stored as running, last seen alive when the file was: what an earlier import of a snapshot left. */
async function runningCopy(
  db: Database,
  e: { executionId: string; flowId: string; agent: string; prompt: string; startedAt: string; heartbeatAt: string; metadata?: unknown },
): Promise<void> {
  const { executionId, flowId, agent, prompt, startedAt, metadata, heartbeatAt } = e;
  await db.writer.createExecutionSession({
    executionId,
    flowId,
    agent,
    prompt,
    startedAt,
    heartbeatAt: new Date(heartbeatAt),
    ...(metadata ? { metadata: metadata as Record<string, unknown> } : {}),
  });
}

/** What `reev import FILE` does: read and check the file, then import it. */
const importFile = async (db: Database, file: string, io: CliIO) => importCommand(db, await readExport(file), io);

async function exported(db: Database, executionId: string, format: "json" | "jsonl", file: string): Promise<string> {
  await exportCommand(db, executionId, { format, out: file }, captureIO());
  return readFileSync(file, "utf8");
}

async function tableCounts(db: Database) {
  return {
    executions: await prismaClientOf(db).executionSession.count(),
    steps: await prismaClientOf(db).stepSession.count(),
    toolCalls: await prismaClientOf(db).toolCall.count(),
    consolidated: await prismaClientOf(db).consolidatedSession.count(),
  };
}

let source: Database;
let executionId: string;
let dir: string;
let jsonFile: string;
let jsonlFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reev-import-"));
  source = await openTestDatabase({ name: "pglite" });
  const result = await new PingPongExecutor(source).execute(await loadFlowPlan(EXAMPLE), new ScriptedAgent());
  executionId = result.executionId;
  expect(result.consolidation.status).toBe("completed");
  jsonFile = join(dir, "run.json");
  jsonlFile = join(dir, "run.jsonl");
  await exported(source, executionId, "json", jsonFile);
  await exported(source, executionId, "jsonl", jsonlFile);
});

afterAll(async () => {
  await source?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(testBackends())("reev import into $name", (backend) => {
  // A fresh target per test: whether an import creates or finds the execution depends on nothing else.
  let target: Database;
  beforeEach(async () => {
    target = await openTestDatabase(backend);
  });
  afterEach(async () => {
    await target?.close();
  });

  it("imports an exported run whole: exporting it again gives the same document; a second import changes nothing", async () => {
    const io = captureIO();
    expect(await importFile(target, jsonFile, io)).toBe(0);
    const steps = (await source.writer.getSessionsForConsolidation(executionId)).length;
    expect(steps).toBeGreaterThan(10);
    expect(io.out()).toContain(`Imported execution ${executionId}`);
    expect(io.out()).toContain(`${steps} of ${steps} steps new, 1 consolidated session new`);
    // Byte for byte: the times it was stored with, its consolidation's and the row number included.
    expect(await exported(target, executionId, "json", join(dir, `copy-${backend.name}.json`))).toBe(readFileSync(jsonFile, "utf8"));

    const before = await tableCounts(target);
    const again = captureIO();
    expect(await importFile(target, jsonlFile, again)).toBe(0);
    expect(again.out()).toContain(`Execution ${executionId} was already in`);
    expect(again.out()).toContain(`0 of ${steps} steps new, 0 consolidated sessions new`);
    expect(await tableCounts(target)).toEqual(before);
  });

  it("an import whose signal is aborted rolls back what it wrote (the execution, before its first steps) and throws the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted (SIGINT)");
    controller.abort(reason);
    const thrown = await importCommand(target, await readExport(jsonFile), captureIO(), controller.signal).catch((e: unknown) => e);
    expect(thrown).toBe(reason);
    expect(await tableCounts(target)).toEqual({ executions: 0, steps: 0, toolCalls: 0, consolidated: 0 });
  });

  it("a run whose duration is unknown (as recovery leaves it) is imported with none, not one made up from its times", async () => {
    const doc = renamed(JSON.parse(readFileSync(jsonFile, "utf8")), `${executionId}-recovered`);
    doc.execution.durationMs = null;
    const file = join(dir, `recovered-${backend.name}.json`);
    writeFileSync(file, JSON.stringify(doc));
    expect(await importFile(target, file, captureIO())).toBe(0);
    const imported = await target.writer.getExecutionSession(`${executionId}-recovered`);
    expect(imported?.finishedAt?.toISOString()).toBe(doc.execution.finishedAt);
    expect(imported?.durationMs).toBeNull();
    // The same file again is the same finish: a no-op, not a conflict over the duration.
    expect(await importFile(target, file, captureIO())).toBe(0);
  });

  it("a file that is not an export, or names a bad field, is refused before anything is written", async () => {
    const before = await tableCounts(target);
    const doc = JSON.parse(readFileSync(jsonFile, "utf8"));
    doc.execution.executionId = "other-execution";
    doc.steps[3].stepIndex = 2.5;
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify(doc));
    const error = await importFile(target, bad, captureIO()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchestratorError);
    expect((error as OrchestratorError).path).toBe("steps[3].stepIndex");

    // A copy under another id that still names the old one somewhere: refused, naming where.
    const half = renamed(JSON.parse(readFileSync(jsonFile, "utf8")), "other-execution");
    half.steps[4]!.sessionId = `${executionId}_step_4`;
    writeFileSync(bad, JSON.stringify(half));
    const other = (await importFile(target, bad, captureIO()).catch((e: unknown) => e)) as OrchestratorError;
    expect([other.code, other.path, other.message]).toEqual([
      "INVALID_ARGUMENT",
      "steps[4].sessionId",
      `${bad} names another execution in steps[4].sessionId: "${executionId}_step_4", where execution.executionId "other-execution" makes it "other-execution_step_4". A file holds one execution: change every place it is named, or export the run again.`,
    ]);

    writeFileSync(bad, "{}");
    const empty = (await importFile(target, bad, captureIO()).catch((e: unknown) => e)) as OrchestratorError;
    expect([empty.path, empty.message]).toEqual(["execution", `${bad} is not a reev export: execution is required`]);

    writeFileSync(bad, "{ not json\nnor jsonl\n");
    expect(((await importFile(target, bad, captureIO()).catch((e: unknown) => e)) as OrchestratorError).path).toBe("line 1");

    // An export cut short is said to be one, not "line 1 is not JSON"; JSONL keeps its lines.
    const refusal = async (text: string) => {
      writeFileSync(bad, text);
      const refused = (await importFile(target, bad, captureIO()).catch((e: unknown) => e)) as OrchestratorError;
      return [refused.path, refused.message];
    };
    const pretty = readFileSync(jsonFile, "utf8");
    expect(pretty.startsWith("{\n")).toBe(true);
    const cut = ["document", `${bad} is not complete JSON: it ends before the document does (was it cut short?)`];
    expect(await refusal(pretty.slice(0, 5000))).toEqual(cut);
    expect(await refusal(JSON.stringify(JSON.parse(pretty)).slice(0, 300))).toEqual(cut);
    expect(await refusal(pretty.replace('"steps": [', '"steps": ]'))).toEqual([
      "document",
      expect.stringContaining(`${bad} is not JSON: `),
    ]);
    const jsonl = readFileSync(jsonlFile, "utf8").split("\n");
    expect(await refusal([...jsonl.slice(0, 2), "{ cut", ...jsonl.slice(3)].join("\n"))).toEqual([
      "line 3",
      expect.stringContaining(`${bad} line 3 is not JSON: `),
    ]);
    expect(((await importFile(target, join(dir, "missing.json"), captureIO()).catch((e: unknown) => e)) as OrchestratorError).path).toBe(
      "file",
    );
    expect(await tableCounts(target)).toEqual(before);
  });

  it("a step that disagrees with the stored one rolls the whole import back (CONFLICT), rows already inserted included", async () => {
    const id = `${executionId}-copy`;
    const doc = renamed(JSON.parse(readFileSync(jsonFile, "utf8")), id);
    const copyFile = join(dir, "copy.json");
    writeFileSync(copyFile, JSON.stringify(doc));
    // The target already holds this execution running, last seen alive when the file was, with a different step 2.
    await runningCopy(target, doc.execution);
    await target.writer.storeStep(id, { stepIndex: 2, content: "something else" });
    const before = await tableCounts(target);

    const error = await importFile(target, copyFile, captureIO()).catch((e: unknown) => e);
    expect(DatabaseError.is(error, "CONFLICT"), String(error)).toBe(true);
    expect((error as DatabaseError).field).toBe("steps[2].stepIndex");
    // Steps 0, 1, 3… were inserted by the same statement before step 2 was judged: all rolled back.
    expect(await tableCounts(target)).toEqual(before);
    expect((await target.writer.getExecutionSession(id))?.status).toBe("running");
  });

  it("a running copy left by an older import of a run exported while it ran is finished by the finished run's export, read back whole", async () => {
    // What reev import wrote before it refused running files: the run's first two steps, running, owned by the source's process.
    const finished = await readExport(jsonFile);
    const beat = finished.execution.heartbeatAt as Date;
    const snapshot = structuredClone(finished);
    Object.assign(snapshot.execution, {
      status: "running",
      finishedAt: null,
      durationMs: null,
      error: null,
      checks: null,
      heartbeatAt: new Date(beat.getTime() - 30_000),
      consolidation: { status: "pending", error: null, updatedAt: null },
    });
    snapshot.steps = snapshot.steps.slice(0, 2).map((step) => ({ ...step, checks: null }));
    snapshot.consolidated = [];
    expect(await importCommand(target, snapshot, captureIO())).toBe(0);
    expect((await target.writer.getExecutionSession(executionId))?.status).toBe("running");

    const io = captureIO();
    expect(await importFile(target, jsonFile, io)).toBe(0);
    const steps = finished.steps.length;
    expect(io.out()).toContain(
      `Execution ${executionId} was already in ${target.description}: ${steps - 2} of ${steps} steps new, 1 consolidated session new.`,
    );
    // Finished as the file says, its last heartbeat included: nothing here is left to look abandoned.
    expect(await exported(target, executionId, "json", join(dir, `finished-copy-${backend.name}.json`))).toBe(
      readFileSync(jsonFile, "utf8"),
    );
    expect(await target.writer.listAbandonedExecutions({ staleAfterMs: 1000, olderThanMs: 0 })).toEqual([]);
  });

  it("a run stored here as running that the file cannot be a later view of (another owner, a later heartbeat) is refused, nothing written", async () => {
    const finished = await readExport(jsonFile);
    const beat = (finished.execution.heartbeatAt as Date).getTime();
    const running = async (id: string, owner: { host: string; pid: number; startedAt: Date }, heartbeatAt: Date) => {
      const { flowId, agent, prompt, startedAt, metadata } = finished.execution;
      await target.writer.createExecutionSession({
        executionId: id,
        flowId,
        agent,
        prompt,
        startedAt,
        owner,
        heartbeatAt,
        ...(metadata ? { metadata: metadata as never } : {}),
      });
      const file = join(dir, `${id}.json`);
      writeFileSync(file, JSON.stringify(renamed(JSON.parse(readFileSync(jsonFile, "utf8")), id)));
      const before = await tableCounts(target);
      const error = await importFile(target, file, captureIO()).catch((e: unknown) => e);
      expect(await tableCounts(target)).toEqual(before);
      expect((await target.writer.getExecutionSession(id))?.status).toBe("running");
      return error;
    };
    const owner = finished.execution.owner as { host: string; pid: number; startedAt: Date };
    const later = await running(`${executionId}-later`, owner, new Date(beat + 60_000));
    expect(later).toMatchObject({ code: "CONFLICT", field: "execution.heartbeatAt" });
    expect((later as Error).message).toContain(
      "with a heartbeat later than the file's: it is recorded here, not a copy the file can finish. Nothing was imported.",
    );
    const other = await running(`${executionId}-other`, { ...owner, pid: owner.pid + 1 }, new Date(beat - 60_000));
    expect(other).toMatchObject({ code: "CONFLICT", field: "execution.owner" });
  });

  it("a file that disagrees with the stored execution (its outcome, its start, still running) or meets an open transaction is refused, nothing written", async () => {
    expect(await importFile(target, jsonFile, captureIO())).toBe(0);
    const before = await tableCounts(target);
    const refused = async (edit: (doc: Record<string, Record<string, unknown>>) => void) => {
      const doc = JSON.parse(readFileSync(jsonFile, "utf8"));
      edit(doc);
      const file = join(dir, "edited.json");
      writeFileSync(file, JSON.stringify(doc));
      return importFile(target, file, captureIO()).catch((e: unknown) => e);
    };
    const otherOutcome = await refused((d) => {
      d.execution!.status = d.execution!.status === "failed" ? "completed" : "failed";
    });
    expect(otherOutcome).toMatchObject({ code: "CONFLICT", field: "execution.status" });
    const otherStart = await refused((d) => {
      d.execution!.startedAt = "2001-01-01T00:00:00.000Z";
    });
    expect(otherStart).toMatchObject({ code: "CONFLICT", field: "execution.startedAt" });
    expect((otherStart as Error).message).toContain('but "2001-01-01T00:00:00.000Z" in the file. Nothing was imported.');
    const stillRunning = await refused((d) => {
      d.execution!.status = "running";
    });
    expect(stillRunning).toMatchObject({ code: "INVALID_ARGUMENT", path: "execution.status" });
    expect(await tableCounts(target)).toEqual(before);

    // An execution with a transaction open, last seen alive when the file was: the import's steps must not slip into it.
    const id = `${executionId}-open`;
    const doc = renamed(JSON.parse(readFileSync(jsonFile, "utf8")), id);
    await runningCopy(target, doc.execution);
    await target.writer.beginTransaction(id);
    const withOpen = await refused((d) => {
      renamed(d as never, id);
    });
    expect(DatabaseError.is(withOpen, "TRANSACTION_STATE"), String(withOpen)).toBe(true);
    expect(await prismaClientOf(target).stepSession.count({ where: { executionId: id } })).toBe(0);
  });
});

describe("a run exported while it still runs", () => {
  it("reev export writes it as it is and says on stderr (not with --json) that reev import refuses it; reev import refuses it (exit 2), before opening any database", async () => {
    assertBuilt();
    const id = `${executionId}-running`;
    const doc = renamed(JSON.parse(readFileSync(jsonFile, "utf8")), id);
    const { flowId, agent, prompt, startedAt, metadata } = doc.execution;
    await source.writer.createExecutionSession({ executionId: id, flowId, agent, prompt, startedAt, ...(metadata ? { metadata } : {}) });
    await source.writer.storeStep(id, { stepIndex: 0, content: "first" });
    const note = `Note: execution ${id} was still running when exported, so this is a snapshot of it: reev import refuses it. To move the run, export it again once it has finished (reev status ${id} tells).\n`;
    for (const format of ["json", "jsonl"] as const) {
      const file = join(dir, `running.${format}`);
      const io = captureIO();
      expect(await exportCommand(source, id, { format, out: file }, io)).toBe(0);
      expect(io.err()).toBe(`Wrote ${file}\n${note}`);
      expect(readFileSync(file, "utf8")).toBe(await exportExecution(source, id, format));
      const quiet = captureIO();
      expect(await exportCommand(source, id, { format, out: file, json: true }, quiet)).toBe(0);
      expect(quiet.err()).toBe("");
    }
    // A finished run's export says nothing of the kind.
    const finished = captureIO();
    await exportCommand(source, executionId, { format: "json", out: join(dir, "finished.json") }, finished);
    expect(finished.err()).not.toContain("Note:");

    const refused = (await readExport(join(dir, "running.jsonl")).catch((e: unknown) => e)) as OrchestratorError;
    expect([refused.code, refused.path]).toEqual(["INVALID_ARGUMENT", "execution.status"]);
    const cwd = makeTempDir("reev-import-running-");
    try {
      const result = await runCli(["import", join(dir, "running.json")], { cwd: cwd.dir });
      expect(result.code, show(result)).toBe(2);
      expect(result.stderr).toContain(
        `holds execution ${id} as it was while still running (execution.status is "running"): a running run is not imported, as its copy would stay running here and later look abandoned. Nothing was imported. Export it again once it has finished (reev status ${id} with the --db it was exported from tells), then import that file.`,
      );
      // Refused before any database was opened: the default one was not even made.
      expect(readdirSync(cwd.dir)).toEqual([]);
    } finally {
      cwd.remove();
    }
  });
});

/** Where a real `reev import` is interrupted: the default embedded database, and PostgreSQL when REEV_TEST_DATABASE_URL is set. */
const interruptBackends: { name: string; database(): Promise<{ args: string[]; drop(): Promise<void> }> }[] = [
  { name: "the embedded database", database: async () => ({ args: [], drop: async () => {} }) },
  ...(process.env.REEV_TEST_DATABASE_URL
    ? [
        {
          name: "PostgreSQL",
          database: async () => {
            const db = await createPostgresDatabase(process.env.REEV_TEST_DATABASE_URL as string, { migrated: true });
            return { args: ["--db", db.url], drop: db.drop };
          },
        },
      ]
    : []),
];

describe.each(interruptBackends)("Ctrl-C during reev import into $name", (backend) => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} once it is importing: the transaction is rolled back, said so, nothing imported, exit ${code}`, async () => {
      assertBuilt();
      // Enough steps that the transaction takes seconds, and the signal lands in it (or before it
      // begins): with 3,000, PostgreSQL committed them before a loaded machine delivered the signal.
      const doc = JSON.parse(readFileSync(jsonFile, "utf8")) as { steps: Record<string, unknown>[]; consolidated: unknown[] };
      doc.steps = Array.from({ length: 20_000 }, (_, i) => ({
        ...doc.steps[i % doc.steps.length],
        stepIndex: i,
        sessionId: `${executionId}_step_${i}`,
      }));
      doc.consolidated = [];
      const cwd = makeTempDir("reev-import-interrupt-");
      const file = join(cwd.dir, "big.json");
      writeFileSync(file, JSON.stringify(doc));
      const database = await backend.database();
      try {
        const importing = startCli(["import", file, ...database.args], { cwd: cwd.dir, timeoutMs: 120_000 });
        await importing.waitForLine(/^Importing execution /);
        importing.child.kill(signal);
        const result = await importing.done;
        expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.split("\n").slice(1) }).toEqual({
          code,
          stdout: "",
          stderr: [`Interrupted (${signal}): the import is rolled back; nothing was imported. Run it again to import.`, ""],
        });
        const list = await runCli(["list", "--json", ...database.args], { cwd: cwd.dir });
        expect(JSON.parse(list.stdout).executions, show(list)).toEqual([]);
      } finally {
        await database.drop();
        cwd.remove();
      }
    });
  }
});
