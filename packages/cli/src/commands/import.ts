import { readFile } from "node:fs/promises";
import {
  type Database,
  formatIssuePath,
  type JsonValue,
  type StepInput,
  ZConsolidatedSessionLog,
  ZExecutionStatus,
  ZFinalExecutionStatus,
  ZSessionLog,
} from "@reev/db";
import { errorMessage, OrchestratorError, plainWords, sessionMetadata } from "@reev/orchestrator";
import type { Command } from "commander";
import { z } from "zod";
import { type CliContext, type CliIO, changedNow, withDatabase } from "../context.js";
import { counted } from "../format.js";
import { alreadyStopping, type InterruptNotices, interruptExitCode, takesOverInterrupts, withInterrupts } from "../interrupt.js";
import { type DbOptions, dbOption, examples, type MigrateOptions, migrateOption } from "../options.js";

export function registerImport(program: Command, ctx: CliContext): void {
  // Its action takes the signals over first: Ctrl-C stops the import's transaction, rolled back, and says so.
  takesOverInterrupts(program.command("import"))
    .summary("load an export into a database")
    .description("Load what reev export wrote into a database, in one transaction. Importing it again changes nothing.")
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
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.int().nullable(),
  error: z.string().nullable(),
  metadata: z.unknown().optional(),
  // Left out by exports older than owners and heartbeats.
  owner: z.object({ host: z.string(), pid: z.int(), startedAt: z.string().nullable() }).nullable().optional(),
  heartbeatAt: z.string().nullable().optional(),
  consolidation: z.object({ status: z.string() }),
});

/** What `reev export` writes (JSON), or the same records one per line (JSONL). */
const ZExport = z.object({
  execution: ZExportedExecution,
  steps: z.array(ZSessionLog),
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
  return parsed.data;
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

/**
 * `reev import FILE`: loads what `reev export` wrote (from another database, say the embedded one
 * into PostgreSQL) in ONE transaction — the execution, every step with its tool calls (storeSteps),
 * its final status and its consolidated sessions — so an import is all there or not at all.
 * Importing the same file again changes nothing; a file that disagrees with what is stored is refused.
 */
export async function importCommand(db: Database, doc: Export, io: CliIO, signal?: AbortSignal): Promise<number> {
  const e = doc.execution;
  io.stderr.write(
    `Importing execution ${e.executionId} into ${db.description}${changedNow(db)}: ${counted(doc.steps.length, "step")}, ${counted(doc.consolidated.length, "consolidated session")}…\n`,
  );
  const result = await db.writer.withDatabaseTransaction(
    async (w) => {
      const existing = await w.getExecutionSession(e.executionId);
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
      } else if (existing && existing.status !== "running") {
        fail(
          `${db.description} holds execution "${e.executionId}" as ${existing.status}; the file says it is still running`,
          "execution.status",
        );
      }
      let consolidated = 0;
      for (const c of [...doc.consolidated].reverse()) {
        signal?.throwIfAborted();
        // The same session again is a no-op; another under the same id is refused (CONFLICT).
        const { created } = await w.storeConsolidatedSession(
          c.consolidatedSessionId,
          e.executionId,
          c.consolidatedContent,
          sessionMetadata(c),
        );
        if (created) consolidated++;
      }
      if (doc.consolidated.length && e.consolidation.status === "completed") await w.setConsolidationStatus(e.executionId, "completed");
      return { steps, consolidated, created: !existing };
    },
    { timeout: IMPORT_TIMEOUT_MS },
  );
  io.stdout.write(
    `${result.created ? "Imported execution" : "Execution"} ${e.executionId} ${result.created ? "into" : "was already in"} ${db.description}: ` +
      `${result.steps.created} of ${counted(result.steps.stored, "step")} new, ${counted(result.consolidated, "consolidated session")} new.\n`,
  );
  return 0;
}
