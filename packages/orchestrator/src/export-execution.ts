import type { ConsolidatedSessionLog, DatabaseWriter, ExecutionSessionRecord, SessionLog, StoredCheckResult } from "@reev/db";

export const EXPORT_FORMATS = ["json", "jsonl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * What `reev export` writes: the execution, its committed steps and its consolidated sessions, each
 * as stored, with the `expect` verdicts where `reev show --json` has them (`checks`: the flow's on the
 * execution, each step's on the step; null when there is none).
 */
export type ExportDocument = {
  execution: ExecutionSessionRecord & { checks: StoredCheckResult | null };
  steps: (SessionLog & { checks: StoredCheckResult | null })[];
  consolidated: ConsolidatedSessionLog[];
};

/** Everything stored about one execution, read through `db.writer` (a transaction's writer too); null when it does not exist. */
export async function exportDocument(db: { writer: DatabaseWriter }, executionId: string): Promise<ExportDocument | null> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) return null;
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const consolidated = await db.writer.getConsolidatedSessionsByExecution(executionId);
  const checks = await db.writer.getChecks(executionId);
  return {
    execution: { ...execution, checks: checks.flow },
    steps: steps.map((s) => ({ ...s, checks: checks.steps.get(s.stepIndex) ?? null })),
    consolidated,
  };
}

/**
 * Everything stored about one execution, as `reev export` prints it and the server serves it: JSON
 * as one document ({ execution, steps, consolidated }), JSONL as one record a line, each with its
 * `type`. One function, so the file a user exports and the API's answer are the same bytes.
 * Null when the execution does not exist.
 */
export async function exportExecution(db: { writer: DatabaseWriter }, executionId: string, format: ExportFormat): Promise<string | null> {
  const doc = await exportDocument(db, executionId);
  if (!doc) return null;
  const { execution, steps, consolidated } = doc;
  if (format === "json") return `${JSON.stringify({ execution, steps, consolidated }, null, 2)}\n`;
  return [
    { type: "execution", ...execution },
    ...steps.map((s) => ({ type: "step", ...s })),
    ...consolidated.map((c) => ({ type: "consolidated", ...c })),
  ]
    .map((record) => `${JSON.stringify(record)}\n`)
    .join("");
}
