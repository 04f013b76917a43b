/** Every failure @reev/db reports, by what the caller can do about it. */
export const DATABASE_ERROR_CODES = [
  /** The input is wrong; `field` names it. Nothing was written. */
  "VALIDATION",
  /** The execution (or the record named) does not exist. */
  "NOT_FOUND",
  /** The write can never succeed as given: the id is taken by other data, or a committed step differs. */
  "CONFLICT",
  /**
   * Concurrent writers got in each other's way (a serialization failure, a deadlock, a lock not granted
   * in time, a step that kept changing under this write). Nothing was written; the same call can succeed
   * when repeated.
   */
  "CONTENTION",
  /** The execution is not in a state that allows the call (finished, or its transaction is not the one named). */
  "TRANSACTION_STATE",
  "TIMEOUT",
  "CONNECTION",
  "MIGRATION",
  /**
   * The database is not ready for this build of reev, and nothing was done: it was never migrated, is
   * behind, holds another application's tables, or a migration failed halfway. A `SchemaError`.
   */
  "SCHEMA",
  /** A database error none of the others describes; `cause` holds the original. */
  "INTERNAL",
] as const;

export type DatabaseErrorCode = (typeof DATABASE_ERROR_CODES)[number];

/**
 * What each code means to an HTTP client: the server answers with it, so it is decided here, once.
 * Contention and lost connections are 503 (try again), a timeout 504; TRANSACTION_STATE is 409 like
 * CONFLICT (the request clashes with the state of the resource).
 */
const HTTP_STATUS: Record<DatabaseErrorCode, number> = {
  VALIDATION: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TRANSACTION_STATE: 409,
  CONTENTION: 503,
  CONNECTION: 503,
  TIMEOUT: 504,
  MIGRATION: 500,
  // The server cannot serve until someone migrates (or replaces) its database: not a request's fault.
  SCHEMA: 503,
  INTERNAL: 500,
};

/** Whether a code is worth retrying unless the error says otherwise (a lost connection is; a refused login is not). */
const RETRYABLE_BY_DEFAULT = new Set<DatabaseErrorCode>(["CONTENTION", "CONNECTION", "TIMEOUT"]);

export type DatabaseErrorOptions = { cause?: unknown; field?: string; retryable?: boolean };

/**
 * The one error type of @reev/db: a `code` to branch on, a message that says what to do, the `cause`,
 * and whether the same call could succeed if made again (`retryable`, as Temporal's failures say).
 */
export class DatabaseError extends Error {
  override readonly name = "DatabaseError";
  readonly code: DatabaseErrorCode;
  /** The input field at fault, for VALIDATION errors (e.g. `stepIndex`, `metadata.successRate`). */
  readonly field: string | undefined;
  /**
   * True when repeating the call may succeed: contention, a lost connection, a timeout. The writer
   * already repeats its own calls a few times before reporting one; what reaches the caller then is
   * worth retrying later, not at once.
   */
  readonly retryable: boolean;

  constructor(code: DatabaseErrorCode, message: string, options: DatabaseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }

  /** The HTTP status a server answers this error with. */
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  static is(error: unknown, code?: DatabaseErrorCode): error is DatabaseError {
    return error instanceof DatabaseError && (code === undefined || error.code === code);
  }
}

export type PrismaLikeError = { name?: string; code?: string; message: string; meta?: Record<string, unknown> };

/** The driver's failure as the adapters report it: a kind, and for PostgreSQL errors the SQLSTATE. */
export type DriverCause = {
  kind?: unknown;
  code?: unknown;
  originalCode?: unknown;
  db?: unknown;
  originalMessage?: unknown;
  host?: unknown;
  port?: unknown;
  reason?: unknown;
};

const CONNECTION_LOST_KINDS = new Set(["ConnectionClosed", "SocketTimeout", "DatabaseNotReachable", "TooManyConnections"]);
/** Failures of configuration, not of the moment: the same call fails the same way until someone fixes them. */
const CONNECTION_REFUSED_KINDS = new Set(["DatabaseDoesNotExist", "DatabaseAccessDenied", "AuthenticationFailed", "TlsConnectionError"]);
const CONNECTION_LOST_PRISMA_CODES = new Set(["P1001", "P1002", "P1017"]);
const CONNECTION_REFUSED_PRISMA_CODES = new Set(["P1000", "P1003", "P1010", "P1011"]);
const NODE_CONNECTION_LOST = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE"]);
/** SQLSTATEs: admin/crash shutdown, cannot connect now; and the configuration ones. */
const SQLSTATE_CONNECTION_LOST = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const SQLSTATE_CONNECTION_REFUSED = new Set(["3D000", "28P01", "28000"]);
/** Five characters, and not one of Prisma's own codes (P1001, P2034, …). */
const SQLSTATE = /^(?!P\d{4}$)[0-9A-Z]{5}$/;
/** serialization_failure, deadlock_detected, lock_not_available: the database aborted the statement; nothing was written. */
const SQLSTATE_CONTENTION = new Set(["40001", "40P01", "55P03"]);
/** query_canceled (statement_timeout), idle_in_transaction_session_timeout, transaction_timeout. */
const SQLSTATE_TIMEOUT = new Set(["57014", "25P03", "25P04"]);

/**
 * The driver adapter's report: wrapped by Prisma (P2010 raw queries, some P20xx) in
 * `meta.driverAdapterError`, or the adapter's own DriverAdapterError passed through unwrapped (a
 * failure at COMMIT or ROLLBACK) with it in `cause`.
 */
export function driverCause(error: PrismaLikeError): DriverCause | undefined {
  const wrapped = (error.meta?.driverAdapterError as { cause?: DriverCause } | undefined)?.cause;
  return wrapped ?? (error.name === "DriverAdapterError" ? (error as { cause?: DriverCause }).cause : undefined);
}

type Classified = { code: DatabaseErrorCode; retryable?: boolean };

function classify(error: PrismaLikeError): Classified {
  const cause = driverCause(error);
  const kind = typeof cause?.kind === "string" ? cause.kind : undefined;
  const sqlState = [cause?.originalCode, cause?.code, error.code].find((c): c is string => typeof c === "string" && SQLSTATE.test(c));
  // Match on Prisma's code, the adapter's kind and the SQLSTATE: `meta.target` is empty with driver adapters.
  if (error.code === "P2034" || kind === "TransactionWriteConflict" || (sqlState && SQLSTATE_CONTENTION.has(sqlState))) {
    return { code: "CONTENTION" };
  }
  if (error.code === "P2002" || kind === "UniqueConstraintViolation") return { code: "CONFLICT" };
  if (error.code === "P2003" || error.code === "P2025" || kind === "ForeignKeyConstraintViolation") return { code: "NOT_FOUND" };
  // P2028: the transaction outlived its timeout, or could not start within maxWait; P2024: no pooled connection in time.
  if (
    error.code === "P2028" ||
    error.code === "P2024" ||
    kind === "TransactionAlreadyClosed" ||
    (sqlState && SQLSTATE_TIMEOUT.has(sqlState))
  ) {
    return { code: "TIMEOUT" };
  }
  if (kind === "NullConstraintViolation" || kind === "LengthMismatch" || kind === "ValueOutOfRange") return { code: "VALIDATION" };
  if ((kind && CONNECTION_REFUSED_KINDS.has(kind)) || (error.code && CONNECTION_REFUSED_PRISMA_CODES.has(error.code))) {
    return { code: "CONNECTION", retryable: false };
  }
  if (sqlState && SQLSTATE_CONNECTION_REFUSED.has(sqlState)) return { code: "CONNECTION", retryable: false };
  if ((kind && CONNECTION_LOST_KINDS.has(kind)) || (error.code && CONNECTION_LOST_PRISMA_CODES.has(error.code))) {
    return { code: "CONNECTION" };
  }
  if ((sqlState && SQLSTATE_CONNECTION_LOST.has(sqlState)) || (error.code && NODE_CONNECTION_LOST.has(error.code))) {
    return { code: "CONNECTION" };
  }
  if (error.name === "PrismaClientInitializationError") return { code: "CONNECTION", retryable: false };
  return { code: "INTERNAL" };
}

const ADVICE: Record<DatabaseErrorCode, string> = {
  VALIDATION: "fix the input and try again",
  NOT_FOUND: "create the parent record first, or check the id",
  CONFLICT: "a record with that id already exists with different data; use a new id or read the existing one",
  CONTENTION: "a concurrent transaction got in the way (a deadlock or a serialization failure); nothing was written, retry the call",
  TRANSACTION_STATE: "check the execution's transaction state",
  TIMEOUT: "the database did not answer in time; retry, or raise the timeout",
  CONNECTION: "check that the database is running and the URL is right",
  MIGRATION: "open it with `migrate: true` (what `reev migrate --db <url>` does) to deploy what is pending, or see why it cannot",
  SCHEMA: "migrate the database first: open it with `migrate: true`, or run `reev migrate --db <url>`",
  INTERNAL: "see the cause",
};

/** Where one of Prisma's codes means something narrower than its DatabaseError code says. */
const PRISMA_ADVICE: Record<string, string> = {
  P2003: "the parent record does not exist; create it first",
};

/** Drivers and Prisma put the useful sentence last, after context lines. */
export function lastLine(message: string): string {
  return message.trim().split("\n").filter(Boolean).at(-1) ?? message;
}

/**
 * Wraps whatever a database call threw into a DatabaseError, keeping the original as `cause`.
 * `action` says what was being done ("store step 3 of execution x"), so the message stands alone.
 */
export function toDatabaseError(error: unknown, action: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  if (typeof error === "object" && error !== null && "message" in error) {
    const e = error as PrismaLikeError;
    // A DatabaseError that reev's own adapter threw (a database used after close()) comes back as
    // Prisma's error with its code and words: kept as they are, with no advice of another cause's.
    if (e.name === "PrismaClientKnownRequestError" && (DATABASE_ERROR_CODES as readonly string[]).includes(e.code ?? "")) {
      return new DatabaseError(e.code as DatabaseErrorCode, `Failed to ${action}: ${lastLine(e.message)}`, {
        cause: error,
        retryable: false,
      });
    }
    const { code, retryable } = classify(e);
    const detail = lastLine(e.message);
    const advice = (e.code && PRISMA_ADVICE[e.code]) ?? ADVICE[code];
    return new DatabaseError(code, `Failed to ${action}: ${detail} (${advice})`, {
      cause: error,
      ...(retryable === undefined ? {} : { retryable }),
    });
  }
  return new DatabaseError("INTERNAL", `Failed to ${action}: ${String(error)}`, { cause: error });
}
