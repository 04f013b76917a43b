import { readFile } from "node:fs/promises";
import {
  type Database,
  type DatabaseWriter,
  formatIssuePath,
  type JsonValue,
  type StepInput,
  stepSessionId,
  ZConsolidatedSessionLog,
  ZConsolidationStatus,
  ZExecutionStatus,
  ZFinalExecutionStatus,
  ZSessionLog,
  ZStoredCheckResult,
  ZTimestamp,
} from "@reev/db";
import { errorMessage, exportDocument, OrchestratorError, plainWords, sessionMetadata } from "@reev/orchestrator";
import type { Command } from "commander";
import { z } from "zod";
import { CliError } from "../cli-error.js";
import { type CliContext, type CliIO, changedNow, withDatabase } from "../context.js";
import { type Difference, differenceWords, firstDifference } from "../first-difference.js";
import { counted } from "../format.js";
import { reevCommand, shellWord } from "../hint.js";
import { alreadyStopping, type InterruptNotices, interruptExitCode, takesOverInterrupts, withInterrupts } from "../interrupt.js";
import { type DbOptions, dbOption, examples, type MigrateOptions, migrateOption } from "../options.js";

export function registerImport(program: Command, ctx: CliContext): void {
  // Its action takes the signals over first: Ctrl-C stops the import's transaction, rolled back, and says so.
  takesOverInterrupts(program.command("import"))
    .summary("load an export into a database")
    .description(
      "Load what reev export wrote into a database, in one transaction, as it was stored: its times, checks and consolidations. Exporting it from there gives the same file; importing it again changes nothing.",
    )
    .argument("<file>", "a file written by reev export (JSON or JSONL)")
    .addOption(dbOption())
    .addOption(migrateOption())
    .addHelpText(
      "after",
      examples([
        ["reev export <executionId> --out run.json", "from the embedded database…"],
        ["reev import run.json --db postgresql://localhost/reev", "…into PostgreSQL"],
      ]),
    )
    .action(async (file: string, options: DbOptions & MigrateOptions) => {
      const { value, interrupted } = await withInterrupts(
        ctx.io,
        async (signal) => {
          try {
            const doc = await readExport(file);
            signal.throwIfAborted();
            return await withDatabase(options.db, options.migrate ? "migrate" : "write", (db) => importCommand(db, doc, ctx.io, signal));
          } catch (error) {
            // Stopped by the signal (its reason, thrown where importCommand looks): nothing was committed.
            if (signal.aborted && error === signal.reason) return undefined;
            throw error;
          }
        },
        { notices: IMPORT_NOTICES },
      );
      if (value !== undefined) {
        ctx.exitCode = value;
      } else if (interrupted) {
        ctx.io.stderr.write(`Interrupted (${interrupted}): the import is rolled back; nothing was imported. Run it again to import.\n`);
        ctx.exitCode = interruptExitCode(interrupted);
      }
    });
}

/**
 * Ctrl-C during an import: its one transaction is rolled back at the next step or batch of steps,
 * and the action says so once it is (nothing sooner: it takes a moment at most).
 */
const IMPORT_NOTICES: InterruptNotices = {
  first: () => "",
  again: (name) => `\n${name} again: exiting at once. The import had not committed: nothing was imported. Run it again to import.\n`,
  already: alreadyStopping,
};

const ZExportedExecution = z.object({
  executionId: z.string(),
  flowId: z.string(),
  agent: z.string(),
  prompt: z.string(),
  status: ZExecutionStatus,
  startedAt: ZTimestamp,
  finishedAt: ZTimestamp.nullable(),
  durationMs: z.int().nullable(),
  error: z.string().nullable(),
  metadata: z.unknown().optional(),
  // Left out by exports older than owners and heartbeats.
  owner: z.object({ host: z.string(), pid: z.int(), startedAt: ZTimestamp.nullable() }).nullable().optional(),
  heartbeatAt: ZTimestamp.nullable().optional(),
  consolidation: z.object({
    status: ZConsolidationStatus,
    error: z.string().nullable().optional(),
    updatedAt: ZTimestamp.nullable().optional(),
  }),
  // Left out by exports older than evaluations and `expect` checks.
  evaluationId: z.string().nullable().optional(),
  checks: ZStoredCheckResult.nullable().optional(),
});

/** A step as exported: as stored, with its `expect` verdict (left out by older exports). */
const ZExportedStep = ZSessionLog.extend({ checks: ZStoredCheckResult.nullable().optional() });

/** What `reev export` writes (JSON), or the same records one per line (JSONL). */
const ZExport = z.object({
  execution: ZExportedExecution,
  steps: z.array(ZExportedStep),
  consolidated: z.array(ZConsolidatedSessionLog),
});
export type Export = z.infer<typeof ZExport>;

function fail(message: string, path: string, cause?: unknown): never {
  throw new OrchestratorError("INVALID_ARGUMENT", message, { path, cause });
}

/** JSONL records carry a `type`; they are gathered into the JSON document's shape. */
function fromJsonl(text: string, file: string): unknown {
  const doc: { execution?: unknown; steps: unknown[]; consolidated: unknown[] } = { steps: [], consolidated: [] };
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let record: { type?: unknown };
    try {
      record = JSON.parse(line) as { type?: unknown };
    } catch (error) {
      fail(`${file} line ${i + 1} is not JSON: ${errorMessage(error)}`, `line ${i + 1}`, error);
    }
    if (record?.type === "execution") doc.execution = record;
    else if (record?.type === "step") doc.steps.push(record);
    else if (record?.type === "consolidated") doc.consolidated.push(record);
    else fail(`${file} line ${i + 1} has no known "type" (execution, step or consolidated)`, `line ${i + 1}`);
  });
  return doc;
}

/**
 * Whether text that is not JSON was meant as one JSON document rather than JSONL: what `reev export`
 * writes as JSON opens with a line of its own ("{"), or is a single line; JSONL is a record a line.
 */
function meantAsDocument(text: string): boolean {
  const lines = text.trim().split("\n");
  // (An empty file is neither: it is said to be no reev export.)
  return Boolean(text.trim()) && (lines.length === 1 || lines[0]?.trim() === "{");
}

/** A JSON document that failed to parse: cut short (its error is at its very end), or broken. */
function notJson(text: string, file: string, error: unknown): never {
  const at = /at position (\d+)/.exec(errorMessage(error))?.[1];
  const atEnd = /end of JSON input/.test(errorMessage(error)) || (at !== undefined && Number(at) >= text.trimEnd().length);
  if (atEnd) fail(`${file} is not complete JSON: it ends before the document does (was it cut short?)`, "document", error);
  fail(`${file} is not JSON: ${errorMessage(error)}`, "document", error);
}

function parseExport(text: string, file: string): Export {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (meantAsDocument(text)) notJson(text, file, error);
    raw = fromJsonl(text, file);
  }
  // A missing field says so, instead of zod's "expected object, received undefined".
  const parsed = ZExport.safeParse(raw, { error: plainWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = formatIssuePath(issue.path);
    fail(`${file} is not a reev export: ${path || "document"} ${issue.message}`, path || "document", parsed.error);
  }
  refuseOtherExecutions(parsed.data, file);
  refuseRunning(parsed.data, file);
  return parsed.data;
}

/**
 * A run exported while it still ran is a snapshot: imported, it would stay `running` there, owned by a
 * process of another database, and be taken for abandoned (and finished as failed by reev recover)
 * whatever became of the real run. Only a finished run moves.
 */
function refuseRunning(doc: Export, file: string): void {
  const e = doc.execution;
  if (e.status !== "running") return;
  fail(
    `${file} holds execution ${e.executionId} as it was while still running (execution.status is "running"): ` +
      "a running run is not imported, as its copy would stay running here and later look abandoned. Nothing was imported. " +
      `Export it again once it has finished (${reevCommand(`status ${shellWord(e.executionId)}`, { db: false })} with the --db it was exported from tells), then import that file.`,
    "execution.status",
  );
}

/**
 * A file holds one execution: every step and consolidated session names it, and each step's
 * session id is the one the database derives from it (`{executionId}_step_{stepIndex}`). A file
 * edited to hold a copy under another id says where it still names the old one.
 */
function refuseOtherExecutions(doc: Export, file: string): void {
  const id = doc.execution.executionId;
  const other = (path: string, value: string, expected: string) =>
    fail(
      `${file} names another execution in ${path}: "${value}", where execution.executionId "${id}" makes it "${expected}". A file holds one execution: change every place it is named, or export the run again.`,
      path,
    );
  doc.steps.forEach((step, i) => {
    if (step.executionId !== id) other(`steps[${i}].executionId`, step.executionId, id);
    const sessionId = stepSessionId(id, step.stepIndex);
    if (step.sessionId !== sessionId) other(`steps[${i}].sessionId`, step.sessionId, sessionId);
  });
  doc.consolidated.forEach((c, i) => {
    if (c.executionId !== id) other(`consolidated[${i}].executionId`, c.executionId, id);
  });
}

/** Reads and checks an export file: done before any database is opened, so a bad file changes nothing. */
export async function readExport(file: string): Promise<Export> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    fail(`Cannot read ${file}: ${errorMessage(error)}`, "file", error);
  }
  return parseExport(text, file);
}

/** A stored step as storeStep takes it: the same fields give the same fingerprint, so re-imports are no-ops. */
function toStepInput(step: Export["steps"][number]): StepInput {
  return {
    stepIndex: step.stepIndex,
    content: step.content,
    stepId: step.stepId,
    status: step.status === "unknown" ? null : step.status,
    score: step.score,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    durationMs: step.durationMs,
    error: step.error,
    errorKind: step.errorKind,
    // When it was stored and committed there, not now (exports older than createdAt said only the latter).
    createdAt: step.createdAt ?? step.timestamp,
    committedAt: step.timestamp,
    toolCalls: step.toolCalls.map(({ callIndex: _, ...call }) => ({
      ...call,
      input: call.input ?? undefined,
      output: call.output ?? undefined,
    })),
    attempts: step.attempts,
  };
}

/** Steps per storeSteps call: the points where an interrupted import stops. */
const IMPORT_BATCH = 500;

/** An import runs as one transaction however large the run: allow it minutes, not seconds. */
const IMPORT_TIMEOUT_MS = 10 * 60_000;

type ImportResult = {
  steps: { stored: number; created: number };
  consolidated: number;
  created: boolean;
  /** The evaluation the run belongs to in the file, when this database holds no such evaluation. */
  unlinkedEvaluation: string | null;
};

/**
 * What the database must hold once the file is imported, as JSON: the file as parsed (dates as ISO
 * strings, what older exports left out undefined, so not compared), with the evaluation link this
 * database can keep.
 */
function expectedDocument(doc: Export, evaluationId: string | null): Export {
  const expected = JSON.parse(JSON.stringify(doc)) as Export;
  if (doc.execution.evaluationId !== undefined) expected.execution.evaluationId = evaluationId;
  return expected;
}

/** What the database holds for the execution, as `reev export` would write it, as JSON. */
async function storedDocument(w: DatabaseWriter, executionId: string): Promise<unknown> {
  return JSON.parse(JSON.stringify(await exportDocument({ writer: w }, executionId)));
}

/**
 * The part of the file a finished execution already stored must match: all of it, except the
 * consolidated sessions the file has and the database does not (a run consolidated again since it
 * was imported), which the import adds, and the consolidation status they bring.
 */
function alreadyStoredPart(expected: Export, stored: { consolidated: { consolidatedSessionId: string }[] }): Export {
  const storedIds = new Set(stored.consolidated.map((c) => c.consolidatedSessionId));
  const consolidated = expected.consolidated.filter((c) => storedIds.has(c.consolidatedSessionId));
  if (consolidated.length === expected.consolidated.length) return expected;
  const { consolidation: _, ...execution } = expected.execution;
  return { ...expected, execution: execution as Export["execution"], consolidated };
}

const FINAL_HINT =
  "A finished run is final, so it is kept as it is. If the file was changed, export the run again from the database it came from; to keep both versions, import the file into another database.";

function disagreement(db: Database, executionId: string, status: string, difference: Difference): CliError {
  return new CliError(
    "CONFLICT",
    `${db.description} already holds execution "${executionId}" (${status}), and the file differs from it: ${differenceWords(difference, "the database")}. Nothing was imported.`,
    { field: difference.path, hint: FINAL_HINT },
  );
}

/**
 * Stores the file's consolidated sessions, oldest first, as they were stored where they were made:
 * row number, creation time and the step sessions they list. The same session again is a no-op;
 * another under the same id is refused (CONFLICT).
 */
async function storeConsolidations(w: DatabaseWriter, executionId: string, sessions: Export["consolidated"], signal?: AbortSignal) {
  let created = 0;
  for (const c of [...sessions].reverse()) {
    signal?.throwIfAborted();
    const stored = await w.storeConsolidatedSession(c.consolidatedSessionId, executionId, c.consolidatedContent, sessionMetadata(c), {
      id: c.id,
      createdAt: c.timestamp,
      originalSessionIds: c.originalSessionIds,
    });
    if (stored.created) created++;
  }
  return created;
}

/** The consolidation's status, error and time, as the file says (a run never consolidated has none to restore). */
async function restoreConsolidation(w: DatabaseWriter, e: Export["execution"]): Promise<void> {
  const { status, error, updatedAt } = e.consolidation;
  if (status === "pending" && !updatedAt) return;
  await w.setConsolidationStatus(e.executionId, status, { error: error ?? null, ...(updatedAt ? { updatedAt } : {}) });
}

/** The file's `expect` verdicts, when it carries any (older exports do not). */
async function restoreChecks(w: DatabaseWriter, doc: Export): Promise<void> {
  const steps = doc.steps.flatMap((s) => (s.checks ? [{ stepIndex: s.stepIndex, result: s.checks }] : []));
  if (!doc.execution.checks && !steps.length) return;
  await w.recordChecks(doc.execution.executionId, { flow: doc.execution.checks ?? null, steps });
}

type RunningCopy = NonNullable<Awaited<ReturnType<DatabaseWriter["getExecutionSession"]>>>;
type Owner = { host: string; pid: number; startedAt: Date | null } | null | undefined;

const sameOwner = (a: Owner, b: Owner) =>
  (a ?? null) === (b ?? null) ||
  (a != null && b != null && a.host === b.host && a.pid === b.pid && a.startedAt?.getTime() === b.startedAt?.getTime());

/**
 * A run stored here as `running` is finished by the file only when it is a copy of the same run that
 * the file saw later: the same owner, and a last heartbeat no older than the file's (a copy imported
 * while the run ran, by a reev older than the refusal of such files). A run this database records
 * itself, its heartbeat moving on, is never finished by a file.
 */
function refuseLiveRun(db: Database, copy: RunningCopy, e: Export["execution"]): void {
  const stored = copy.heartbeatAt?.getTime();
  const later = stored === undefined || (e.heartbeatAt != null && e.heartbeatAt.getTime() >= stored);
  const owner = sameOwner(copy.owner, e.owner);
  if (owner && later) return;
  const field = owner ? "execution.heartbeatAt" : "execution.owner";
  throw new CliError(
    "CONFLICT",
    `${db.description} holds execution "${e.executionId}" as running, ${field === "execution.owner" ? "recorded by another process than the file's" : "with a heartbeat later than the file's"}: it is recorded here, not a copy the file can finish. Nothing was imported.`,
    {
      field,
      hint: `Let the run finish here (${reevCommand(`status ${shellWord(e.executionId)}`)} tells; ${reevCommand("recover")} finishes it if its process is gone), or import the file into another database.`,
    },
  );
}

/** Writes what the file holds for an execution that is not stored yet, or is a running copy of it. */
async function importRun(w: DatabaseWriter, doc: Export, evaluationId: string | null, existing: boolean, signal?: AbortSignal) {
  const e = doc.execution;
  // A running copy takes the last heartbeat the file recorded, as the finished run has it where it ran.
  if (existing && e.heartbeatAt) await w.heartbeat(e.executionId, e.heartbeatAt);
  // The same execution again is a no-op; one with other fields (flow, agent, prompt, metadata,
  // start) is a CONFLICT: the file disagrees with what is stored.
  await w.createExecutionSession({
    executionId: e.executionId,
    flowId: e.flowId,
    agent: e.agent,
    prompt: e.prompt,
    startedAt: e.startedAt,
    ...(e.metadata === undefined || e.metadata === null ? {} : { metadata: e.metadata as JsonValue }),
    // The process that ran it, not this one: `reev show` and recovery read the owner as recorded.
    ...(e.owner === undefined ? {} : { owner: e.owner }),
    ...(e.heartbeatAt === undefined ? {} : { heartbeatAt: e.heartbeatAt }),
    ...(evaluationId === null ? {} : { evaluationId }),
  });
  // A batch at a time, so that Ctrl-C rolls back between two instead of after every step is written;
  // once with none, as storeSteps then still checks the execution.
  const steps = { stored: 0, created: 0 };
  for (let from = 0; from < doc.steps.length || from === 0; from += IMPORT_BATCH) {
    signal?.throwIfAborted();
    // Committed at once, never into a transaction someone has open on this execution.
    const batch = await w.storeSteps(e.executionId, doc.steps.slice(from, from + IMPORT_BATCH).map(toStepInput), {
      transactionId: null,
    });
    steps.stored += batch.stored;
    steps.created += batch.created;
  }
  signal?.throwIfAborted();
  const final = ZFinalExecutionStatus.safeParse(e.status);
  if (final.success) {
    // Finishing again the same way is a no-op; another outcome is refused (TRANSACTION_STATE).
    await w.finishExecutionSession(e.executionId, {
      status: final.data,
      error: e.error,
      ...(e.finishedAt ? { finishedAt: e.finishedAt } : {}),
      // As exported: a duration the source did not know (a recovered run's) stays unknown.
      durationMs: e.durationMs,
    });
  }
  await restoreChecks(w, doc);
  const consolidated = await storeConsolidations(w, e.executionId, doc.consolidated, signal);
  await restoreConsolidation(w, e);
  return { steps, consolidated, created: !existing };
}

/**
 * `reev import FILE`: loads what `reev export` wrote (from another database, say the embedded one
 * into PostgreSQL) in ONE transaction — the execution, every step with its tool calls, attempts and
 * `expect` verdicts, its final status and its consolidated sessions, each with the times it was
 * stored — so an import is all there or not at all, and exporting the run again from here writes
 * the very same file. The transaction reads the run back before it commits and rolls back when that
 * is not what the file says.
 *
 * The evaluation the run belongs to is linked when this database holds it; else the run is imported
 * without the link, and the output says so (evaluations are not exported, and a link must point at one).
 * Importing the same file again changes nothing; a file that disagrees with a finished run already
 * stored is refused, naming the first field that differs.
 */
export async function importCommand(db: Database, doc: Export, io: CliIO, signal?: AbortSignal): Promise<number> {
  const e = doc.execution;
  io.stderr.write(
    `Importing execution ${e.executionId} into ${db.description}${changedNow(db)}: ${counted(doc.steps.length, "step")}, ${counted(doc.consolidated.length, "consolidated session")}…\n`,
  );
  const result = await db.writer.withDatabaseTransaction(
    async (w): Promise<ImportResult> => {
      const existing = await w.getExecutionSession(e.executionId);
      const linked = e.evaluationId ? await w.getEvaluationRun(e.evaluationId) : null;
      const evaluationId = linked ? linked.id : null;
      const unlinkedEvaluation = e.evaluationId && !linked ? e.evaluationId : null;
      const expected = expectedDocument(doc, evaluationId);
      let written: Omit<ImportResult, "unlinkedEvaluation">;
      if (existing && existing.status !== "running") {
        // Final there: the file must say what is stored, and then only a newer consolidation is added.
        const stored = (await storedDocument(w, e.executionId)) as Export;
        const difference = firstDifference(alreadyStoredPart(expected, stored), stored);
        if (difference) throw disagreement(db, e.executionId, existing.status, difference);
        const known = new Set(stored.consolidated.map((c) => c.consolidatedSessionId));
        const added = doc.consolidated.filter((c) => !known.has(c.consolidatedSessionId));
        const steps = { stored: doc.steps.length, created: 0 };
        if (!added.length) return { steps, consolidated: 0, created: false, unlinkedEvaluation };
        written = { steps, consolidated: await storeConsolidations(w, e.executionId, added, signal), created: false };
        await restoreConsolidation(w, e);
      } else {
        if (existing) refuseLiveRun(db, existing, e);
        written = await importRun(w, doc, evaluationId, existing !== null, signal);
      }
      // Read back in the same transaction: what commits is exactly what the file says, or nothing.
      const difference = firstDifference(expected, await storedDocument(w, e.executionId));
      if (difference) {
        throw new CliError(
          "CONFLICT",
          `Importing the file would not leave ${db.description} holding what it says: ${differenceWords(difference, "the database")}. Nothing was imported.`,
          {
            field: difference.path,
            hint: "The file was changed after reev export wrote it, or this database records the same execution itself: export the run again from the database it came from, or import the file into another database.",
          },
        );
      }
      return { ...written, unlinkedEvaluation };
    },
    { timeout: IMPORT_TIMEOUT_MS },
  );
  io.stdout.write(
    `${result.created ? "Imported execution" : "Execution"} ${e.executionId} ${result.created ? "into" : "was already in"} ${db.description}: ` +
      `${result.steps.created} of ${counted(result.steps.stored, "step")} new, ${counted(result.consolidated, "consolidated session")} new.\n`,
  );
  if (result.unlinkedEvaluation) {
    io.stdout.write(
      `It belongs to evaluation ${result.unlinkedEvaluation}, which ${db.description} does not hold: it is stored without that link ` +
        `(evaluationId null), so that evaluation's reports and reev compare there do not count it. Evaluations are not exported; ` +
        `to keep the link, import the run into the database that holds the evaluation.\n`,
    );
  }
  return 0;
}
