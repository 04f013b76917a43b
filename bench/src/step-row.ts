import { parseStepContent, type StepInput } from "@reev/db";
import { type StepRow, toStepRow, ZStepInput } from "@reev/db/internal";

/**
 * A step as the raw side stores it, prepared exactly as the writer prepares it — validated by the
 * writer's own schema, then turned into the row (session id, status, fingerprint over content,
 * fields and tool calls) by the writer's own function — so the raw side does the same client-side
 * work, and writer ÷ raw measures what the writer adds around it (Prisma's query path, its plumbing).
 */
export function stepRow(executionId: string, step: StepInput): StepRow {
  const { stepIndex, content, ...data } = ZStepInput.parse(step);
  return toStepRow(executionId, stepIndex, data, content ?? JSON.stringify({ ...step, content: undefined }));
}

/** `storeStepSession`'s row: the structured fields parsed out of the content by @reev/db's own parser. */
export function stepSessionRow(executionId: string, stepIndex: number, content: string): StepRow {
  return stepRow(executionId, { ...parseStepContent(content), stepIndex, content });
}
