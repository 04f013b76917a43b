import type { DatabaseWriter } from "@reev/db";

export const EXPORT_FORMATS = ["json", "jsonl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Everything stored about one execution, as `reev export` prints it and the server serves it: JSON
 * as one document ({ execution, steps, consolidated }), JSONL as one record a line, each with its
 * `type`. One function, so the file a user exports and the API's answer are the same bytes.
 * Null when the execution does not exist.
 */
export async function exportExecution(db: { writer: DatabaseWriter }, executionId: string, format: ExportFormat): Promise<string | null> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) return null;
  const steps = await db.writer.getSessionsForConsolidation(executionId);
  const consolidated = await db.writer.getConsolidatedSessionsByExecution(executionId);
  if (format === "json") return `${JSON.stringify({ execution, steps, consolidated }, null, 2)}\n`;
  return [
    { type: "execution", ...execution },
    ...steps.map((s) => ({ type: "step", ...s })),
    ...consolidated.map((c) => ({ type: "consolidated", ...c })),
  ]
    .map((record) => `${JSON.stringify(record)}\n`)
    .join("");
}
