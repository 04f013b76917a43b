import { setTimeout as delay } from "node:timers/promises";
import { DatabaseError, toDatabaseError } from "../errors.js";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { DEFAULT_MAX_CONSOLIDATED_BYTES, DEFAULT_MAX_CONTENT_BYTES, type ExecutionStatus } from "../schemas.js";

/** An open interactive transaction. */
export type Tx = Prisma.TransactionClient;
/** Where statements go: the client (each statement its own transaction) or an open interactive transaction. */
export type Client = PrismaClient | Tx;

export type RetryOptions = {
  /** Attempts in all, the first included (default 3; 1 turns retrying off). */
  maxAttempts?: number;
  /** The backoff before the second attempt; it doubles for each further one, up to `maxDelayMs` (defaults 20 and 500). */
  minDelayMs?: number;
  maxDelayMs?: number;
};

export type WriterOptions = {
  /** Largest step content accepted, in UTF-8 bytes. Default 16 MiB. */
  maxContentBytes?: number;
  /** Largest consolidated-session content accepted, in UTF-8 bytes. Default 256 MiB. */
  maxConsolidatedBytes?: number;
  /** Limits of each interactive transaction. PGlite queues transactions, so waiting counts too. */
  transaction?: TransactionLimits;
  /** How a call that failed for a reason a repeat can cure (contention, a lost connection, a timeout) is repeated. */
  retry?: RetryOptions;
};

export type TransactionLimits = { maxWait?: number; timeout?: number };

type ResolvedOptions = {
  maxContentBytes: number;
  maxConsolidatedBytes: number;
  transaction: TransactionLimits;
  retry: Required<RetryOptions>;
};

/**
 * What every writer operation runs over: the client, whether it is bound to an interactive
 * transaction, and the writer's options. Operations are plain functions of a context (Langfuse's
 * style), so a writer bound to a transaction is the same code with another context.
 */
export type WriterContext = {
  readonly client: Client;
  /** The client that opens interactive transactions; undefined when bound to one (writes then join it). */
  readonly root: PrismaClient | undefined;
  readonly options: ResolvedOptions;
};

const contexts = new WeakSet<WriterContext>();
const registered = (context: WriterContext): WriterContext => {
  contexts.add(context);
  return context;
};
export const isWriterContext = (value: unknown): value is WriterContext =>
  typeof value === "object" && value !== null && contexts.has(value as WriterContext);

export function writerContext(client: PrismaClient, options: WriterOptions = {}): WriterContext {
  return registered({
    client,
    root: client,
    options: {
      maxContentBytes: options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES,
      maxConsolidatedBytes: options.maxConsolidatedBytes ?? DEFAULT_MAX_CONSOLIDATED_BYTES,
      transaction: options.transaction ?? {},
      retry: {
        maxAttempts: Math.max(1, Math.floor(options.retry?.maxAttempts ?? 3)),
        minDelayMs: options.retry?.minDelayMs ?? 20,
        maxDelayMs: options.retry?.maxDelayMs ?? 500,
      },
    },
  });
}

/** The same writer, with every statement inside the interactive transaction `tx`. */
export const bindTo = (context: WriterContext, tx: Tx): WriterContext =>
  registered({ client: tx, root: undefined, options: context.options });

/** Which failures a repeat may cure. Writer operations are built to be repeated, so any retryable one. */
export type RetryPolicy = (error: DatabaseError) => boolean;
export const anyRetryable: RetryPolicy = (error) => error.retryable;
/**
 * Only failures after which PostgreSQL guarantees nothing was committed and a repeat can succeed:
 * what a transaction of the caller's own code is repeated for (a lost COMMIT reply may have committed).
 */
export const contentionOnly: RetryPolicy = (error) => error.code === "CONTENTION";

/** "Equal jitter": half the nominal backoff fixed, half random, so concurrent retries spread out. */
function backoffMs(retry: Required<RetryOptions>, failedAttempt: number): number {
  const nominal = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(nominal / 2 + Math.random() * (nominal / 2));
}

/**
 * Runs `run`, and again after a jittered backoff while it fails in a way `policy` calls curable, up
 * to the configured attempts (Trigger.dev's `$transaction` retries). Inside an interactive
 * transaction it runs once: a failed statement has aborted the transaction, so only its owner can
 * repeat it, whole.
 */
async function withRetries<T>(context: WriterContext, policy: RetryPolicy, run: () => Promise<T>): Promise<T> {
  if (!context.root) return run();
  const { retry } = context.options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= retry.maxAttempts || !DatabaseError.is(error) || !policy(error)) throw error;
      await delay(backoffMs(retry, attempt));
    }
  }
}

async function mappingErrors<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toDatabaseError(error, action);
  }
}

/**
 * Runs `fn` with the context's client: statements outside a transaction commit one by one (a single
 * statement is atomic on its own), inside one they join it. Failures become DatabaseErrors saying
 * `action`; curable ones are retried (see withRetries), so `fn` must be safe to run again.
 */
export function withClient<T>(context: WriterContext, action: string, fn: (client: Client) => Promise<T>): Promise<T> {
  return withRetries(context, anyRetryable, () => mappingErrors(action, () => fn(context.client)));
}

export type DatabaseTransactionOptions = TransactionLimits & { retry?: RetryPolicy };

/**
 * Runs `fn` in one interactive transaction — all of it commits, or none of it — with a context bound
 * to it. Nested calls (a context already bound) join the outer transaction instead of opening one.
 * Failures become DatabaseErrors saying `action`; the whole transaction is repeated while `retry`
 * (default: any retryable failure) allows, so `fn` must be safe to run again.
 */
export function databaseTransaction<T>(
  context: WriterContext,
  action: string,
  fn: (bound: WriterContext) => Promise<T>,
  options: DatabaseTransactionOptions = {},
): Promise<T> {
  const root = context.root;
  if (!root) return mappingErrors(action, () => fn(context));
  const { retry = anyRetryable, ...limits } = options;
  return withRetries(context, retry, () =>
    mappingErrors(action, () => root.$transaction((tx) => fn(bindTo(context, tx)), { ...context.options.transaction, ...limits })),
  );
}

/**
 * Keeps the caller's own errors apart from the database's: whatever a function the caller passed in
 * (a transaction body, a consolidation builder) throws that is not a DatabaseError comes back
 * unchanged, after the rollback, instead of as an INTERNAL database failure.
 */
export function callerErrors() {
  let own: { error: unknown } | undefined;
  return {
    /** Runs the caller's function, remembering an error of its own. */
    call<T>(fn: () => T): T {
      own = undefined;
      try {
        const result = fn();
        if (result instanceof Promise) {
          return result.catch((error: unknown) => {
            if (!DatabaseError.is(error)) own = { error };
            throw error;
          }) as T;
        }
        return result;
      } catch (error) {
        if (!DatabaseError.is(error)) own = { error };
        throw error;
      }
    },
    /** The caller's own error if that is what ended the call, else `error`. */
    unwrap(error: unknown): unknown {
      return own ? own.error : error;
    },
  };
}

// ── The execution row: lock and guards ──────────────────────────────────────────────────────────

/** What a write needs to know about its execution, read under the row lock. */
export type ExecutionState = { execution_id: string; open_transaction_id: string | null; status: ExecutionStatus };
export type TransactionOutcome = "committed" | "rolled_back";
export type LockedExecution = ExecutionState & {
  started_at: Date;
  last_transaction_id: string | null;
  last_transaction_outcome: TransactionOutcome | null;
};

/**
 * Pins a write to one execution transaction: the call fails with TRANSACTION_STATE unless exactly
 * that transaction is still open. A caller that began a transaction (an atomic run) passes the id
 * `beginTransaction` returned, so a transaction recovered or ended by someone else meanwhile can
 * never turn its later steps into committed ones. `transactionId: null` says the opposite: commit
 * this write at once, and fail rather than let it join a transaction someone else has open.
 */
export type TransactionGuard = { transactionId?: string | null };

/**
 * Locks the execution row for the rest of the transaction (`SELECT … FOR UPDATE`): writes to one
 * execution are serialised, different executions proceed in parallel. NOT_FOUND if there is none.
 */
export async function lockExecution(tx: Client, executionId: string): Promise<LockedExecution> {
  const rows = await tx.$queryRaw<LockedExecution[]>`
    SELECT execution_id, open_transaction_id::text AS open_transaction_id, status::text AS status, started_at,
      last_transaction_id::text AS last_transaction_id, last_transaction_outcome::text AS last_transaction_outcome
    FROM execution_sessions WHERE execution_id = ${executionId} FOR UPDATE`;
  const row = rows[0];
  if (!row) throw missingExecution(executionId);
  return row;
}

export function missingExecution(executionId: string): DatabaseError {
  return new DatabaseError("NOT_FOUND", `Execution "${executionId}" does not exist: create it with createExecutionSession first`, {
    field: "executionId",
  });
}

/** Only a running execution changes: a finished one's record is final. */
export function requireRunning(locked: ExecutionState): void {
  if (locked.status !== "running") {
    throw new DatabaseError(
      "TRANSACTION_STATE",
      `Execution "${locked.execution_id}" already finished as ${locked.status}: its record is final`,
      {
        field: "executionId",
      },
    );
  }
}

export function checkGuard(locked: ExecutionState, guard: TransactionGuard): void {
  if (guard.transactionId === null && locked.open_transaction_id !== null) {
    throw new DatabaseError(
      "TRANSACTION_STATE",
      `Execution "${locked.execution_id}" has an open transaction: this write was to commit at once`,
      {
        field: "transactionId",
      },
    );
  }
  if (guard.transactionId !== undefined && guard.transactionId !== null && locked.open_transaction_id !== guard.transactionId) {
    throw new DatabaseError(
      "TRANSACTION_STATE",
      `Transaction ${guard.transactionId} of execution "${locked.execution_id}" is no longer open (ended or recovered elsewhere)`,
      { field: "transactionId" },
    );
  }
}

/** Refuses content over `cap` UTF-8 bytes before it reaches the database. */
export function checkSize(content: string, field: string, cap: number): void {
  checkBytes(Buffer.byteLength(content, "utf8"), field, cap);
}

/** checkSize for content measured elsewhere (by the database, which assembled it). */
export function checkBytes(bytes: number, field: string, cap: number): void {
  if (bytes > cap) throw new DatabaseError("VALIDATION", `Invalid input: ${field} is ${bytes} bytes, over the ${cap}-byte cap`, { field });
}
