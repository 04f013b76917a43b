/** Every failure @reev/db reports, by what the caller can do about it. */
export const DATABASE_ERROR_CODES = [
  "VALIDATION",
  "NOT_FOUND",
  "CONFLICT",
  "TRANSACTION_STATE",
  "TIMEOUT",
  "CONNECTION",
  "MIGRATION",
  /** A database error none of the others describes; `cause` holds the original. */
  "INTERNAL",
] as const;

export type DatabaseErrorCode = (typeof DATABASE_ERROR_CODES)[number];

/** The one error type of @reev/db: a `code` to branch on, a message that says what to do, the `cause`. */
export class DatabaseError extends Error {
  override readonly name = "DatabaseError";
  readonly code: DatabaseErrorCode;
  /** The input field at fault, for VALIDATION errors (e.g. `stepIndex`, `metadata.successRate`). */
  readonly field: string | undefined;

  constructor(code: DatabaseErrorCode, message: string, options: { cause?: unknown; field?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }

  static is(error: unknown, code?: DatabaseErrorCode): error is DatabaseError {
    return error instanceof DatabaseError && (code === undefined || error.code === code);
  }
}

type PrismaLikeError = { name?: string; code?: string; message: string; meta?: Record<string, unknown> };

const CONNECTION_CODES = new Set(["P1000", "P1001", "P1002", "P1003", "P1010", "P1011", "P1017"]);
const CONNECTION_KINDS = new Set([
  "DatabaseDoesNotExist",
  "DatabaseNotReachable",
  "DatabaseAccessDenied",
  "AuthenticationFailed",
  "TlsConnectionError",
  "ConnectionClosed",
  "SocketTimeout",
]);
const NODE_CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "57P01",
  "3D000",
  "28P01",
  "28000",
]);

/**
 * The driver adapter's error kind: wrapped by Prisma (P2010 raw queries, some P20xx) in
 * `meta.driverAdapterError`, or the adapter's own DriverAdapterError passed through unwrapped (a
 * failure at COMMIT or ROLLBACK) with the kind in `cause`.
 */
function driverKind(error: PrismaLikeError): string | undefined {
  const wrapped = (error.meta?.driverAdapterError as { cause?: { kind?: unknown } } | undefined)?.cause;
  const cause = wrapped ?? (error.name === "DriverAdapterError" ? (error as { cause?: { kind?: unknown } }).cause : undefined);
  return typeof cause?.kind === "string" ? cause.kind : undefined;
}

function classify(error: PrismaLikeError): DatabaseErrorCode {
  const kind = driverKind(error);
  // Match on Prisma's code and the adapter's kind: `meta.target` is empty with driver adapters.
  if (error.code === "P2002" || kind === "UniqueConstraintViolation") return "CONFLICT";
  if (error.code === "P2003" || error.code === "P2025" || kind === "ForeignKeyConstraintViolation") return "NOT_FOUND";
  if (error.code === "P2028" || kind === "TransactionAlreadyClosed") return "TIMEOUT";
  if (error.code === "P2034" || kind === "TransactionWriteConflict") return "CONFLICT";
  if (kind === "NullConstraintViolation" || kind === "LengthMismatch" || kind === "ValueOutOfRange") return "VALIDATION";
  if ((error.code && CONNECTION_CODES.has(error.code)) || (kind && CONNECTION_KINDS.has(kind))) return "CONNECTION";
  if (error.name === "PrismaClientInitializationError") return "CONNECTION";
  if (error.code && NODE_CONNECTION_CODES.has(error.code)) return "CONNECTION";
  return "INTERNAL";
}

const ADVICE: Record<DatabaseErrorCode, string> = {
  VALIDATION: "fix the input and try again",
  NOT_FOUND: "create the parent record first, or check the id",
  CONFLICT: "a record with that id already exists with different data; use a new id or read the existing one",
  TRANSACTION_STATE: "check the execution's transaction state",
  TIMEOUT: "the database did not answer in time; retry, or raise the timeout",
  CONNECTION: "check that the database is running and the URL is right",
  MIGRATION: "run `pnpm db:status` to see the migration history",
  INTERNAL: "see the cause",
};

/** Where one of Prisma's codes means something narrower than its DatabaseError code says. */
const PRISMA_ADVICE: Record<string, string> = {
  P2034: "a concurrent transaction conflicted with this one (deadlock or serialization failure); retry it",
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
    const code = classify(e);
    const detail = lastLine(e.message);
    const advice = (e.code && PRISMA_ADVICE[e.code]) ?? ADVICE[code];
    return new DatabaseError(code, `Failed to ${action}: ${detail} (${advice})`, { cause: error });
  }
  return new DatabaseError("INTERNAL", `Failed to ${action}: ${String(error)}`, { cause: error });
}
