import type { StepInput } from "@reev/db";
import { parseStepContent, parseStepInput, type StepRow, toStepRow, ZStepFields } from "@reev/db/internal";

/**
 * A step as the raw side stores it, prepared exactly as the writer prepares it — validated by the
 * writer's own parser, then turned into the row (session id, status, fingerprint over content,
 * fields and tool calls) by the writer's own function — so the raw side does the same client-side
 * work, and writer ÷ raw measures what the writer adds around it (Prisma's query path, its plumbing).
 */
export function stepRow(executionId: string, step: StepInput): StepRow {
  const { stepIndex, data, content } = parseStepInput(step, "");
  return toStepRow(executionId, stepIndex, data, content);
}

/** `storeStepSession`'s row: the structured fields parsed out of the content by @reev/db's own parser. */
export function stepSessionRow(executionId: string, stepIndex: number, content: string): StepRow {
  return toStepRow(executionId, stepIndex, ZStepFields.parse(parseStepContent(content) ?? {}), content);
}
