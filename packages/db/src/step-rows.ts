import { createHash } from "node:crypto";
import type { z } from "zod";
import { type ErrorKind, type StepStatus, type ZStepFields, ZStepInput } from "./schemas.js";
import { sortedKeys } from "./sorted-keys.js";
import { validate } from "./validate.js";

/** A validated step, ready to be written: its row, its tool calls and its fingerprint. */
export type StepRow = {
  sessionId: string;
  stepIndex: number;
  content: string;
  contentSha256: string;
  stepId: string | null;
  status: StepStatus | null;
  score: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  error: string | null;
  errorKind: ErrorKind | null;
  toolCalls: ToolCallRow[];
  attempts: AttemptRow[];
  /** As recorded elsewhere (an import); null: now. Not in the fingerprint. */
  createdAt: Date | null;
  committedAt: Date | null;
};

/** When a step was stored and committed, when it was recorded elsewhere; null: now. */
export type StepTimes = { createdAt: Date | null; committedAt: Date | null };

type ToolCallRow = {
  callIndex: number;
  attempt: number | null;
  toolName: string;
  input: unknown;
  output: unknown;
  /** input / output as the consolidated document writes them; null for SQL NULL (written `null`). */
  inputJson: string | null;
  outputJson: string | null;
  success: boolean | null;
  durationMs: number | null;
  error: string | null;
};

type AttemptRow = {
  stepIndex: number;
  attempt: number;
  status: StepStatus;
  error: string | null;
  errorKind: ErrorKind | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
};

/** A tool call's JSON (keys already sorted) as the consolidated document writes it; null for SQL NULL. */
const documentJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

export const stepSessionId = (executionId: string, stepIndex: number) => `${executionId}_step_${stepIndex}`;

function stepStatusOf(fields: { status?: StepStatus | null; success?: boolean | null }): StepStatus | null {
  if (fields.status) return fields.status;
  if (fields.success === true) return "success";
  if (fields.success === false) return "failed";
  return null;
}

/** A step as `storeStep` takes it, validated (errors name `prefix` + the field). */
export function parseStepInput(step: unknown, prefix: string) {
  const { stepIndex, content, createdAt, committedAt, ...data } = validate(ZStepInput, step, prefix);
  // Without content, the step as validated is its content: unknown keys are not stored, anywhere.
  // Its times are when it was recorded, not what it says: never part of the content.
  const times: StepTimes = { createdAt: createdAt ?? null, committedAt: committedAt ?? null };
  return { stepIndex, data, content: content ?? JSON.stringify({ stepIndex, ...data }), times };
}

/** Builds the row of an already validated step. */
export function toStepRow(
  executionId: string,
  stepIndex: number,
  data: z.output<typeof ZStepFields>,
  content: string,
  times: StepTimes = { createdAt: null, committedAt: null },
): StepRow {
  const sessionId = stepSessionId(executionId, stepIndex);
  const fields = {
    stepId: data.stepId ?? null,
    status: stepStatusOf(data),
    score: data.score ?? null,
    startedAt: data.startedAt ?? null,
    finishedAt: data.finishedAt ?? null,
    durationMs: data.durationMs ?? null,
    error: data.error ?? null,
  };
  const toolCalls = (data.toolCalls ?? []).map((c, callIndex) => {
    // JSON null and "not given" are both stored as SQL NULL, as Prisma's JSON columns did. Keys are
    // sorted once, as jsonb keeps them: the same value is hashed and written in the document's form.
    const input = c.input == null ? undefined : sortedKeys(c.input);
    const output = c.output == null ? undefined : sortedKeys(c.output);
    return {
      callIndex,
      attempt: c.attempt ?? null,
      toolName: c.toolName,
      input,
      output,
      inputJson: documentJson(input),
      outputJson: documentJson(output),
      success: c.success ?? null,
      durationMs: c.durationMs ?? null,
      error: c.error ?? null,
    };
  });
  // The fingerprint covers what is stored, not only the content: the same content given again with
  // other structured fields or tool calls is a different step, not a retry. JSON is hashed with its
  // keys sorted, as jsonb keeps it: a step read back and written again (an export re-imported) is the
  // same step.
  const attempts = (data.attempts ?? []).map((a) => ({
    stepIndex,
    attempt: a.attempt,
    status: a.status,
    error: a.error ?? null,
    errorKind: a.errorKind ?? null,
    startedAt: a.startedAt ?? null,
    finishedAt: a.finishedAt ?? null,
    durationMs: a.durationMs ?? null,
    model: a.model ?? null,
    inputTokens: a.inputTokens ?? null,
    outputTokens: a.outputTokens ?? null,
    cachedInputTokens: a.cachedInputTokens ?? null,
  }));
  const errorKind = data.errorKind ?? null;
  // What attempts added (the error's kind, attempt rows, a call's attempt) is hashed only when given,
  // so a step stored before they existed keeps its fingerprint, and a re-import of it stays a no-op.
  const hashed = toolCalls.map(({ attempt, inputJson, outputJson, ...c }) => ({
    ...c,
    ...(attempt === null ? {} : { attempt }),
  }));
  const attemptsPart = errorKind === null && attempts.length === 0 ? [] : [errorKind, attempts];
  const contentSha256 = createHash("sha256")
    .update(JSON.stringify([content, fields, hashed, ...attemptsPart]))
    .digest("hex");
  return { sessionId, stepIndex, content, contentSha256, ...fields, errorKind, toolCalls, attempts, ...times };
}

/**
 * Steps as one JSON array for `jsonb_to_recordset` (the column lists are in insertStepsStatement).
 * No execution_id: the statement writes one execution's steps and takes it as its own parameter.
 */
export const stepRecords = (rows: readonly StepRow[]) =>
  JSON.stringify(
    rows.map((r) => ({
      session_id: r.sessionId,
      step_index: r.stepIndex,
      content: r.content,
      content_sha256: r.contentSha256,
      step_id: r.stepId,
      status: r.status,
      score: r.score,
      started_at: r.startedAt,
      finished_at: r.finishedAt,
      duration_ms: r.durationMs,
      error: r.error,
      error_kind: r.errorKind,
      created_at: r.createdAt,
      committed_at: r.committedAt,
    })),
  );

export const attemptRecords = (rows: readonly StepRow[]) =>
  JSON.stringify(
    rows.flatMap((r) =>
      r.attempts.map((a) => ({
        step_index: a.stepIndex,
        attempt: a.attempt,
        status: a.status,
        error: a.error,
        error_kind: a.errorKind,
        started_at: a.startedAt,
        finished_at: a.finishedAt,
        duration_ms: a.durationMs,
        model: a.model,
        input_tokens: a.inputTokens,
        output_tokens: a.outputTokens,
        cached_input_tokens: a.cachedInputTokens,
      })),
    ),
  );

export const toolCallRecords = (rows: readonly StepRow[]) =>
  JSON.stringify(
    rows.flatMap((r) =>
      r.toolCalls.map((c) => ({
        step_index: r.stepIndex,
        call_index: c.callIndex,
        attempt: c.attempt,
        tool_name: c.toolName,
        // Once, as the document's text: the statement makes the jsonb columns from it.
        input_json: c.inputJson,
        output_json: c.outputJson,
        success: c.success,
        duration_ms: c.durationMs,
        error: c.error,
      })),
    ),
  );
