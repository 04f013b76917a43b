import { z } from "zod";
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from "./storable-text.js";

/** Ids are VARCHAR(255) columns: longer ones are rejected up front with the field's name. */
export const MAX_ID_LENGTH = 255;
/** Default cap on one step's session content (UTF-8 bytes). PostgreSQL would take up to 1 GB, but a
 * single step that large is a bug upstream, and it would be held in memory several times over. */
export const DEFAULT_MAX_CONTENT_BYTES = 16 * 1024 * 1024;
/** Default cap on a consolidated session's content. It holds every step's content, so it grows with the
 * run (10,000 steps of 2 KB are ~30 MB); the cap keeps it well inside PostgreSQL's 1 GB per value and
 * Node's largest string. */
export const DEFAULT_MAX_CONSOLIDATED_BYTES = 256 * 1024 * 1024;
export const INT32_MAX = 2_147_483_647;

// Unstorable text is refused here, naming the field, instead of failing deep in the driver or being
// stored as something else (see storable-text.ts).
export const ZText = z.string().refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
export const ZId = z
  .string()
  .min(1, "must not be empty")
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/** Execution transaction ids are UUIDs (a uuid column): any other text is refused with the field named. */
export const ZTransactionId = z.guid("must be a UUID").transform((id) => id.toLowerCase()); // as the uuid column reads back
/** Pins a write to one execution transaction (see TransactionGuard in the writer). */
export const ZTransactionGuard = z.object({ transactionId: ZTransactionId.nullable().optional() });
/** "Older than" for recovery: any age up to the range of a Date. */
export const ZAgeOptions = z.object({
  olderThanMs: z.number("must be a number of milliseconds").min(0, "must be 0 or more").max(8.64e15, "is too large").optional(),
});
/** Limits of one interactive transaction, in milliseconds. */
export const ZTransactionOptions = z.object({
  timeout: z.int("must be an integer number of milliseconds").min(1, "must be 1 or more").max(INT32_MAX, "is too large").optional(),
  maxWait: z.int("must be an integer number of milliseconds").min(1, "must be 1 or more").max(INT32_MAX, "is too large").optional(),
});
export const ZStepIndex = z.int("must be an integer").min(0, "must be 0 or more").max(INT32_MAX, "is too large");
export const ZDurationMs = z
  .int("must be an integer number of milliseconds")
  .min(0, "must be 0 or more")
  .max(INT32_MAX, "is too large (over 24 days)");
export const ZScore = z.number("must be a finite number").min(0, "must be between 0 and 1").max(1, "must be between 0 and 1");
/** Years 1–9999: what PostgreSQL's timestamps and ISO 8601's four-digit years both hold. */
export const EARLIEST_TIMESTAMP = Date.parse("0001-01-01T00:00:00.000Z");
export const LATEST_TIMESTAMP = Date.parse("9999-12-31T23:59:59.999Z");
export const ZTimestamp = z.union([z.date(), z.iso.datetime({ offset: true })]).transform((v, ctx) => {
  const date = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({ code: "custom", message: "must be a valid date" });
    return z.NEVER;
  }
  if (date.getTime() < EARLIEST_TIMESTAMP || date.getTime() > LATEST_TIMESTAMP) {
    ctx.addIssue({ code: "custom", message: "must be between the years 1 and 9999" });
    return z.NEVER;
  }
  return date;
});

/** A JSON value as PostgreSQL's jsonb stores it: finite numbers, NUL-free strings, plain containers. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
function jsonProblem(value: unknown, depth = 0): string | undefined {
  if (depth > 64) return "is nested too deeply";
  if (value === null || typeof value === "boolean") return undefined;
  if (typeof value === "string") return isStorableText(value) ? undefined : UNSTORABLE_TEXT_MESSAGE;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "must not contain NaN or Infinity";
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      const problem = isStorableText(key) ? jsonProblem(item, depth + 1) : UNSTORABLE_TEXT_MESSAGE;
      if (problem) return problem;
    }
    return undefined;
  }
  return "must be a JSON value (string, finite number, boolean, null, array or plain object)";
}
export const ZJsonValue = z.unknown().superRefine((value, ctx) => {
  const problem = jsonProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}) as unknown as z.ZodType<JsonValue>;

/** How a step ended: the one list, for the database enum, the executor and the consolidated document. */
export const STEP_STATUSES = ["success", "failed", "timed_out", "skipped"] as const;
export const ZStepStatus = z.enum(STEP_STATUSES);
export type StepStatus = z.infer<typeof ZStepStatus>;
/** A stored step's status as read back: `unknown` when its content carried none (reev's free text). */
export const ZRecordedStepStatus = z.enum([...STEP_STATUSES, "unknown"]);
export type RecordedStepStatus = z.infer<typeof ZRecordedStepStatus>;

export const EXECUTION_STATUSES = ["running", "completed", "failed", "timed_out", "rolled_back", "cancelled"] as const;
export const ZExecutionStatus = z.enum(EXECUTION_STATUSES);
export type ExecutionStatus = z.infer<typeof ZExecutionStatus>;
export const ZFinalExecutionStatus = z.enum(["completed", "failed", "timed_out", "rolled_back", "cancelled"]);
export type FinalExecutionStatus = z.infer<typeof ZFinalExecutionStatus>;

/** `timed_out`, as in the other enums; reev's API said "timeout", which its API edge will say again. */
export const CONSOLIDATION_STATUSES = ["pending", "in_progress", "completed", "failed", "timed_out"] as const;
export const ZConsolidationStatus = z.enum(CONSOLIDATION_STATUSES);
export type ConsolidationStatus = z.infer<typeof ZConsolidationStatus>;
/**
 * A consolidation as readers are told of it: the stored status, or `skipped` for a rolled-back run
 * never consolidated (to completion). Its steps were all undone, so the executor does not consolidate it (there is
 * nothing to), and the stored `pending` would promise a consolidation that never comes. Derived from
 * the execution's own stored status, so no column is needed and nothing is guessed.
 */
export type ShownConsolidationStatus = ConsolidationStatus | "skipped";
/** Why a rolled-back run has no consolidation: the executor says it, and so does every view. */
export const ROLLED_BACK_NOT_CONSOLIDATED = "the execution was rolled back, so it has no steps to consolidate";

export function shownConsolidation(
  executionStatus: ExecutionStatus,
  consolidation: { status: ConsolidationStatus; error?: string | null },
): { status: ShownConsolidationStatus; error: string | null } {
  // Not only `pending`: a consolidation asked for while the atomic run still ran (the API's) fails
  // on its then empty steps, and that `failed` would otherwise stand for good once the run rolls back.
  const consolidated = consolidation.status === "completed" || consolidation.status === "in_progress";
  if (executionStatus === "rolled_back" && !consolidated) return { status: "skipped", error: ROLLED_BACK_NOT_CONSOLIDATED };
  return { status: consolidation.status, error: consolidation.error ?? null };
}
export const ZConsolidationStatusOptions = z.object({
  expected: z.union([ZConsolidationStatus, z.array(ZConsolidationStatus)]).optional(),
  error: ZText.nullable().optional(),
  /** The time the status took, for one recorded elsewhere (`reev import`); left out, now. */
  updatedAt: ZTimestamp.optional(),
});

/** Whose failure an error is: the agent's, or what stood between reev and the agent (network, HTTP 5xx, rate limits). */
export const ERROR_KINDS = ["agent", "infrastructure"] as const;
export const ZErrorKind = z.enum(ERROR_KINDS);
export type ErrorKind = z.infer<typeof ZErrorKind>;

/** Attempts are numbered from 1, the first try. */
export const ZAttemptNumber = z.int("must be an integer").min(1, "must be 1 or more").max(INT32_MAX, "is too large");
/** Token counts are BIGINT columns, read back as JavaScript numbers: whole, and exact. */
export const ZTokenCount = z
  .int("must be a whole number of tokens")
  .min(0, "must be 0 or more")
  .max(Number.MAX_SAFE_INTEGER, "is too large");

/** One tool call as a step records it. */
export const ZToolCallInput = z.object({
  toolName: ZId,
  /** The attempt that made it; null when the source did not say. */
  attempt: ZAttemptNumber.nullable().optional(),
  input: ZJsonValue.optional(),
  output: ZJsonValue.optional(),
  /** Null when the source only named the tool (reev's YAML listed names). */
  success: z.boolean().nullable().optional(),
  durationMs: ZDurationMs.nullable().optional(),
  error: ZText.nullable().optional(),
});
export type ToolCallInput = z.input<typeof ZToolCallInput>;

/** One attempt of a step: how it ended, when, and the usage the provider reported (null: not reported). */
export const ZStepAttemptInput = z.object({
  attempt: ZAttemptNumber,
  status: ZStepStatus,
  error: ZText.nullable().optional(),
  errorKind: ZErrorKind.nullable().optional(),
  startedAt: ZTimestamp.nullable().optional(),
  finishedAt: ZTimestamp.nullable().optional(),
  durationMs: ZDurationMs.nullable().optional(),
  model: ZId.nullable().optional(),
  inputTokens: ZTokenCount.nullable().optional(),
  outputTokens: ZTokenCount.nullable().optional(),
  cachedInputTokens: ZTokenCount.nullable().optional(),
});
export type StepAttemptInput = z.input<typeof ZStepAttemptInput>;

/** An attempt number given twice would be one row overwritten by another: refused, naming it. */
function refuseRepeatedAttempts(attempts: readonly { attempt: number }[], ctx: z.RefinementCtx): void {
  const seen = new Map<number, number>();
  attempts.forEach(({ attempt }, index) => {
    const first = seen.get(attempt);
    if (first === undefined) seen.set(attempt, index);
    else ctx.addIssue({ code: "custom", path: [index, "attempt"], message: `repeats attempts[${first}]` });
  });
}

/** The structured part of a step: everything but its index and raw content. */
export const ZStepFields = z.object({
  stepId: ZId.nullable().optional(),
  /** Either `status` or `success`; a status says more (timed out, skipped). */
  status: ZStepStatus.nullable().optional(),
  success: z.boolean().nullable().optional(),
  score: ZScore.nullable().optional(),
  startedAt: ZTimestamp.nullable().optional(),
  finishedAt: ZTimestamp.nullable().optional(),
  durationMs: ZDurationMs.nullable().optional(),
  error: ZText.nullable().optional(),
  errorKind: ZErrorKind.nullable().optional(),
  toolCalls: z.array(ZToolCallInput).optional(),
  /** Every attempt, in its own row of step_attempts. */
  attempts: z.array(ZStepAttemptInput).superRefine(refuseRepeatedAttempts).optional(),
});
export type StepFields = z.input<typeof ZStepFields>;

/** A step as `storeStep` takes it. Without `content`, the stored content is the step as JSON. */
export const ZStepInput = ZStepFields.extend({
  stepIndex: ZStepIndex,
  content: ZText.optional(),
  /**
   * When the step was stored and made visible, for a step recorded elsewhere (`reev import`): kept as
   * recorded. Left out, now. Not part of what makes two writes the same step: a retry at another time is one.
   * `committedAt` is for a step committed at once; one written into an open transaction is committed with it.
   */
  createdAt: ZTimestamp.nullable().optional(),
  committedAt: ZTimestamp.nullable().optional(),
});
export type StepInput = z.input<typeof ZStepInput>;

export const ZCreateExecutionInput = z.object({
  executionId: ZId,
  flowId: ZId,
  agent: ZId,
  prompt: ZText,
  metadata: ZJsonValue.optional(),
  startedAt: ZTimestamp.optional(),
  /** The evaluation run this execution belongs to (`reev eval`); it must exist. */
  evaluationId: ZId.nullable().optional(),
  /**
   * The process that ran it and its last sign of life, when the run was recorded elsewhere (`reev
   * import`): kept as recorded (null: unknown). Left out, the creating process owns it, as of now.
   */
  owner: z
    .object({ host: z.string().min(1).max(255), pid: z.int().min(1).max(INT32_MAX), startedAt: ZTimestamp.nullable() })
    .nullable()
    .optional(),
  heartbeatAt: ZTimestamp.nullable().optional(),
});
export type CreateExecutionInput = z.input<typeof ZCreateExecutionInput>;

export const ZFinishExecutionInput = z.object({
  status: ZFinalExecutionStatus,
  error: ZText.nullable().optional(),
  /**
   * Defaults to finishedAt − startedAt. Null: not known, and stored so (a recovered run's finish time
   * is its last sign of life, so the difference would be made up; an import keeps that null).
   */
  durationMs: ZDurationMs.nullable().optional(),
  finishedAt: ZTimestamp.optional(),
});
export type FinishExecutionInput = z.input<typeof ZFinishExecutionInput>;

/** The position after which a page of executions starts: the last row of the previous page. */
export const ZExecutionsPageKey = z.object({ startedAt: ZTimestamp, executionId: ZId });
export type ExecutionsPageKey = z.output<typeof ZExecutionsPageKey>;

export const ZListExecutionsInput = z.object({
  status: ZExecutionStatus.optional(),
  flowId: ZId.optional(),
  limit: z.int().min(1).max(1000).default(50),
  offset: z.int().min(0).default(0),
  /** Only rows strictly after this key, newest first: a page that never repeats or skips a row however many are inserted meanwhile. */
  after: ZExecutionsPageKey.optional(),
});
export type ListExecutionsInput = z.input<typeof ZListExecutionsInput>;

/** The seed's ConsolidationMetadata: every metric optional, each validated when present. */
export const ZConsolidationMetadata = z.object({
  avgScore: ZScore.nullable().optional(),
  totalTools: z.int("must be an integer").min(0, "must be 0 or more").max(INT32_MAX).nullable().optional(),
  /** A percentage, 0–100. */
  successRate: z
    .number("must be a finite number")
    .min(0, "must be between 0 and 100")
    .max(100, "must be between 0 and 100")
    .nullable()
    .optional(),
  executionDurationMs: ZDurationMs.nullable().optional(),
  /** Token sums over every recorded attempt; null unless every attempt reported the count. */
  totalInputTokens: ZTokenCount.nullable().optional(),
  totalOutputTokens: ZTokenCount.nullable().optional(),
  /** US dollars: the attempts' tokens priced by a price table; null without one, or when one attempt cannot be priced. */
  costUsd: z.number("must be a finite number").min(0, "must be 0 or more").nullable().optional(),
});
export type ConsolidationMetadata = z.infer<typeof ZConsolidationMetadata>;

export const ZToolCallLog = z.object({
  callIndex: z.int(),
  /** The attempt that made the call; null when the source did not say. Absent from older exports. */
  attempt: z.int().nullable().default(null),
  toolName: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  success: z.boolean().nullable(),
  durationMs: z.int().nullable(),
  error: z.string().nullable(),
});
export type ToolCallLog = z.infer<typeof ZToolCallLog>;

/** One recorded attempt of a step, as it is read back. */
export const ZAttemptLog = z.object({
  attempt: z.int(),
  status: ZStepStatus,
  error: z.string().nullable(),
  errorKind: ZErrorKind.nullable(),
  startedAt: ZTimestamp.nullable(),
  finishedAt: ZTimestamp.nullable(),
  durationMs: z.int().nullable(),
  model: z.string().nullable(),
  inputTokens: z.int().nullable(),
  outputTokens: z.int().nullable(),
  cachedInputTokens: z.int().nullable(),
});
export type AttemptLog = z.output<typeof ZAttemptLog>;

/** One committed step session, as consolidation reads it. Dates are Dates (JSON's strings parse into them). */
export const ZSessionLog = z.object({
  sessionId: z.string(),
  executionId: z.string(),
  stepIndex: z.int(),
  content: z.string(),
  /** When the step became visible (committed). */
  timestamp: ZTimestamp,
  /** When it was stored (before its commit, for a step written in an execution transaction). Absent from older exports. */
  createdAt: ZTimestamp.optional(),
  /** The step's outcome; `unknown` when its content carried none. */
  status: ZRecordedStepStatus,
  stepId: z.string().nullable(),
  success: z.boolean().nullable(),
  score: z.number().nullable(),
  startedAt: ZTimestamp.nullable(),
  finishedAt: ZTimestamp.nullable(),
  durationMs: z.int().nullable(),
  error: z.string().nullable(),
  /** Whose failure `error` is; null when not recorded. Absent from older exports. */
  errorKind: ZErrorKind.nullable().default(null),
  toolCalls: z.array(ZToolCallLog),
  /** Every recorded attempt, in order; empty when the step's source recorded none (the seed's text content). */
  attempts: z.array(ZAttemptLog).default([]),
});
export type SessionLog = z.output<typeof ZSessionLog>;

export const ZConsolidatedSessionLog = z.object({
  id: z.int(),
  consolidatedSessionId: z.string(),
  executionId: z.string(),
  consolidatedContent: z.string(),
  originalSessionIds: z.array(z.string()),
  avgScore: z.number().nullable(),
  totalTools: z.int().nullable(),
  successRate: z.number().nullable(),
  executionDurationMs: z.int().nullable(),
  totalInputTokens: z.int().nullable().default(null),
  totalOutputTokens: z.int().nullable().default(null),
  costUsd: z.number().nullable().default(null),
  /** created_at. */
  timestamp: ZTimestamp,
});
export type ConsolidatedSessionLog = z.output<typeof ZConsolidatedSessionLog>;
