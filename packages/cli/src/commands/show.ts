import type { Database, SessionLog } from "@reev/db";
import { attemptsText, consolidationReport, formatDuration, runVerdict, runVerdictText } from "@reev/orchestrator";
import type { Command } from "commander";
import { checksCell, failedCheckLines } from "../check-lines.js";
import { type CliContext, type CliIO, writeJson } from "../context.js";
import { costNoteFields, executionStatusLabel, formatScore, metricsLine, statusLabel, unrunStepsField, utcStamp } from "../format.js";
import { executionWithConsolidationJson, stepJson } from "../json-views.js";
import { ownerField, runMark } from "../liveness.js";
import { clip, renderFields, renderTable } from "../text-table.js";
import { registerExecutionView, requireExecution } from "./execution-view.js";

export function registerShow(program: Command, ctx: CliContext): void {
  registerExecutionView(program, ctx, {
    name: "show",
    summary: "show one execution and its steps",
    description: "Show one execution: its status, consolidation, metrics and committed steps.",
    examples: [
      ["reev show exec_jup-multiply-usdc_1718000000000_ab12", "the run and a table of its steps"],
      ["reev show <executionId> --json", "the same as JSON, tool calls' input and output included"],
    ],
    print: showCommand,
  });
}

/** `reev show`: aligned fields and a table of the committed steps, or the same as JSON. */
export async function showCommand(db: Database, executionId: string, options: { json: boolean }, io: CliIO): Promise<number> {
  const e = await requireExecution(db, executionId);
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const status = await consolidationReport(db, e);
  const checks = await db.writer.getChecks(executionId);
  // Every check of the run, the flow's and each step's: a step's failed check fails the run.
  const verdict = runVerdict(checks, (i) => steps.find((s) => s.stepIndex === i)?.stepId);
  if (options.json) {
    writeJson(io, {
      ...executionWithConsolidationJson(e, status),
      // The flow's own verdict, as it always was; the whole run's is allChecks.
      checks: checks.flow,
      allChecks: verdict,
      steps: steps.map((s) => ({ ...stepJson(s), checks: checks.steps.get(s.stepIndex) ?? null })),
    });
    return 0;
  }
  const mark = runMark(e);
  // One column of labels, however long the longest one present ("Open transaction", "Consolidation").
  const field = (name: string, value: string): [string, string] => [name, value];
  const fields = [
    field("Execution", e.executionId),
    field("Flow", `${e.flowId}   agent: ${e.agent}`),
    field("Prompt", clip(e.prompt, 100)),
    field("Status", `${executionStatusLabel(e.status, mark, verdict)}${e.error ? ` — ${e.error}` : ""}`),
    field("Started", `${utcStamp(e.startedAt)}   wall time: ${formatDuration(e.durationMs)}`),
    ...ownerField(e, mark),
    ...(e.openTransaction
      ? [
          field(
            "Open transaction",
            `${e.openTransaction.transactionId} since ${utcStamp(e.openTransaction.openedAt)} (pending steps are not shown)`,
          ),
        ]
      : []),
    field(
      "Consolidation",
      `${status.status}${status.consolidatedSessionId ? ` ${status.consolidatedSessionId}` : ""}${status.error ? ` — ${status.error}` : ""}`,
    ),
    ...(status.metadata ? [field("Metrics", metricsLine(status.metadata))] : []),
    ...costNoteFields(e.executionId, status.costGaps),
    ...unrunStepsField(e, status.recordedSteps),
    ...(verdict ? [field("Checks", runVerdictText(verdict))] : []),
  ];
  const lines = [renderFields(fields), ...(checks.flow ? failedCheckLines("  flow", checks.flow) : []), "", ""];
  // The checks column only for runs whose flow had expect blocks: other runs read as they always did.
  const withChecks = checks.steps.size > 0;
  const rows = steps.map((s) => {
    const retried = s.attempts.length > 1;
    return [
      String(s.stepIndex),
      s.stepId ?? "—",
      statusLabel(s.status),
      formatDuration(s.durationMs),
      attemptsText(s.attempts.length || undefined, s.status),
      runsOf(
        s.toolCalls.map((t) => `${t.success === false ? "✗" : ""}${t.toolName}${retried && t.attempt !== null ? `#${t.attempt}` : ""}`),
      ) || "—",
      formatScore(s.score),
      ...(withChecks ? [checksCell(checks.steps.get(s.stepIndex))] : []),
      clip(errorText(s), 60),
    ];
  });
  const retries = steps.flatMap(retryLines);
  const stepFailures = steps.flatMap((s) => failedCheckLines(`step ${s.stepIndex} ${s.stepId ?? ""}`, checks.steps.get(s.stepIndex)));
  const header = ["#", "step", "status", "duration", "attempts", "tool calls", "score", ...(withChecks ? ["checks"] : []), "error"];
  io.stdout.write(
    `${lines.join("\n")}${steps.length ? renderTable(header, rows, new Set([0, 3, 4, 6])) : "No committed steps."}\n${stepFailures.map((line) => `${line}\n`).join("")}`,
  );
  if (retries.length) io.stdout.write(`\nRetries (tool calls are marked #attempt):\n${retries.join("\n")}\n`);
  return 0;
}

/**
 * Tool-call labels in order, a run of the same one said once with its count ("get_balance ×3"): a step
 * that made 50,000 calls was one 650,000-character line.
 */
export function runsOf(labels: readonly string[]): string {
  const runs: { label: string; count: number }[] = [];
  for (const label of labels) {
    const last = runs.at(-1);
    if (last?.label === label) last.count++;
    else runs.push({ label, count: 1 });
  }
  return runs.map(({ label, count }) => (count > 1 ? `${label} ×${count}` : label)).join(", ");
}

const errorText = (s: SessionLog) => (s.error === null ? "" : `${s.errorKind === "infrastructure" ? "[infrastructure] " : ""}${s.error}`);

/** Each attempt of a retried step on its own line: how it ended, how long it took, and its error. */
function retryLines(s: SessionLog): string[] {
  if (s.attempts.length < 2) return [];
  return s.attempts.map(
    (a) =>
      `  step ${s.stepIndex} attempt ${a.attempt}: ${statusLabel(a.status)} in ${formatDuration(a.durationMs)}${a.error ? ` — ${a.errorKind === "infrastructure" ? "[infrastructure] " : ""}${clip(a.error, 80)}` : ""}`,
  );
}
