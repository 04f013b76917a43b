import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Database, ExecutionSessionRecord } from "@reev/db";
import { OrchestratorError, parseConsolidatedContent, renderFlowDiagram, renderHtmlPage } from "@reev/orchestrator";
import type { CliIO } from "../context.js";
import { requireExecution } from "./inspect.js";

/** Accepts a consolidated id, or an execution id (its newest consolidated session), and reads its execution too. */
async function consolidatedContent(db: Database, id: string): Promise<{ content: string; execution: ExecutionSessionRecord }> {
  const direct = await db.writer.getConsolidatedSession(id);
  if (direct !== null) return { content: direct, execution: await requireExecution(db, parseConsolidatedContent(direct).execution_id) };
  const execution = await requireExecution(db, id);
  const newest = (await db.writer.getConsolidatedSessionsByExecution(id))[0];
  if (!newest) throw new OrchestratorError("NOT_FOUND", `Execution "${id}" has no consolidated session yet (see reev status ${id})`);
  return { content: newest.consolidatedContent, execution };
}

async function emit(text: string, out: string | undefined, io: CliIO): Promise<void> {
  if (out) {
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, text);
    io.stderr.write(`Wrote ${out}\n`);
  } else {
    io.stdout.write(text);
  }
}

export async function diagramCommand(
  db: Database,
  id: string,
  options: { format: string; out: string | undefined },
  io: CliIO,
): Promise<number> {
  if (options.format !== "mmd" && options.format !== "html") {
    throw new OrchestratorError("INVALID_ARGUMENT", `Unknown diagram format "${options.format}": use mmd or html`, { path: "--format" });
  }
  const { content, execution } = await consolidatedContent(db, id);
  await emit(options.format === "mmd" ? `${renderFlowDiagram(content)}\n` : renderHtmlPage(content, { execution }), options.out, io);
  return 0;
}

/** Everything stored about one execution: JSON as one document, JSONL as one record per line. */
export async function exportCommand(
  db: Database,
  executionId: string,
  options: { format: string; out: string | undefined },
  io: CliIO,
): Promise<number> {
  if (options.format !== "json" && options.format !== "jsonl") {
    throw new OrchestratorError("INVALID_ARGUMENT", `Unknown export format "${options.format}": use json or jsonl`, { path: "--format" });
  }
  const execution = await requireExecution(db, executionId);
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const consolidated = await db.writer.getConsolidatedSessionsByExecution(executionId);
  const text =
    options.format === "json"
      ? `${JSON.stringify({ execution, steps, consolidated }, null, 2)}\n`
      : [
          { type: "execution", ...execution },
          ...steps.map((s) => ({ type: "step", ...s })),
          ...consolidated.map((c) => ({ type: "consolidated", ...c })),
        ]
          .map((record) => `${JSON.stringify(record)}\n`)
          .join("");
  await emit(text, options.out, io);
  return 0;
}
