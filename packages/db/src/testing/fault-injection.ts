import {
  DriverAdapterError,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlDriverAdapterFactory,
  type SqlQuery,
  type Transaction,
} from "@prisma/driver-adapter-utils";
import type { ConsolidatedSession, ExecutionSession, StepSession, ToolCall } from "../generated/prisma/client.js";
import { type Database, prismaClientOf } from "../open-database.js";
import { stepSessionId } from "../step-rows.js";

/**
 * Fault injection for reliability tests: wraps the Prisma driver adapter (pass `injector.wrapAdapter`
 * as `openDatabase` / `openTestDatabase`'s `wrapAdapter` option) so that the N-th database statement
 * after `arm({ at: N })` fails, on its way to the real database or on its way back.
 *
 * What counts as a statement (numbered 1, 2, … from `arm`), the same way on every backend:
 * - `query`: `queryRaw` / `executeRaw` on the adapter (autocommit) or on an open transaction;
 * - `begin`: `startTransaction` (PostgreSQL's `BEGIN` is sent inside it);
 * - `commit` / `rollback`: the end of a transaction — the `COMMIT` / `ROLLBACK` statement where Prisma
 *   sends one (`@prisma/adapter-pg`), or the driver's own `commit()` / `rollback()` where the driver
 *   ends the transaction itself (PGlite's "phantom" queries). Releasing a pg connection afterwards is
 *   not a statement.
 * Not counted (and never failed): `executeScript`, savepoints (the writer does not nest Prisma
 * transactions), `getConnectionInfo`, `dispose`. Migrations run through their own adapter, unwrapped.
 *
 * Modes:
 * - `before`: the statement never reaches the database; the caller gets the injected error.
 * - `reply-lost`: the statement runs on the database and takes effect (an autocommit write stays
 *   written, a COMMIT stays committed), then the caller gets the injected error instead of the reply.
 *
 * What a fault does to the transaction it happens in: a failed `query` leaves the transaction open,
 * as any failed statement does, for its owner (Prisma) to roll back. A failed `commit` has ended the
 * transaction either way: in `before` mode the injector rolls it back (a COMMIT that never arrived is
 * a dropped connection, and the server aborts the transaction), in `reply-lost` mode it committed. A
 * failed `rollback` rolls back all the same (a dropped connection aborts the transaction too). A
 * failed `begin` leaves no transaction: in `reply-lost` mode the one that was opened is rolled back
 * and its connection released, as the server does when the client that began it disappears. The
 * injector never leaves a transaction open behind Prisma's back, so PGlite (one transaction at a time)
 * cannot hang on a transaction nobody owns.
 *
 * The injected error is a driver `ConnectionClosed` error (what a dropped connection looks like to
 * Prisma), marked so that `isInjectedFault` can tell it from a real one anywhere in a cause chain.
 *
 * One injector counts every statement of the client it wraps, whoever sends it: arm it around one
 * operation at a time. `snapshotTables` and `consistencyProblems` (below) tell what a fault left.
 */
export type FaultMode = "before" | "reply-lost";
export type StatementKind = "query" | "begin" | "commit" | "rollback";

export type ArmOptions = {
  /** Fail the `at`-th counted statement after arming (1-based). */
  at: number;
  mode: FaultMode;
  /** Only these kinds are counted (and can fail). Default: all. */
  kinds?: readonly StatementKind[];
};

export type StatementRecord = {
  n: number;
  kind: StatementKind;
  /** The first line of the SQL, for reports. */
  sql: string;
  faulted: boolean;
  /** A `query` statement whole, with its arguments, as the driver adapter received it (to EXPLAIN it, say). */
  query?: SqlQuery;
};

export type FaultReport = {
  /** Whether the armed fault fired (false: the work finished in fewer statements than `at`). */
  fired: boolean;
  /** The statement that failed, if one did. */
  fault: StatementRecord | undefined;
  /** Every counted statement since `arm`, in order (a description for failure messages). */
  statements: StatementRecord[];
};

const MARK = Symbol.for("reev.faultInjection");

/** The injected error: a dropped connection, as the driver adapters report one. */
export class InjectedFault extends DriverAdapterError {
  readonly [MARK] = true;
  readonly statement: StatementRecord;
  readonly mode: FaultMode;

  constructor(statement: StatementRecord, mode: FaultMode) {
    super({
      kind: "ConnectionClosed",
      message: `fault injected (${mode}) at statement ${statement.n} (${statement.kind}: ${statement.sql})`,
    } as ConstructorParameters<typeof DriverAdapterError>[0]);
    this.statement = statement;
    this.mode = mode;
  }
}

/** Whether `error`, or anything in its `cause` chain (Prisma keeps the driver's error in `meta`), is an injected fault. */
export function isInjectedFault(error: unknown, seen = new Set<unknown>()): boolean {
  if (typeof error !== "object" || error === null || seen.has(error)) return false;
  seen.add(error);
  if ((error as Record<symbol, unknown>)[MARK] === true) return true;
  const e = error as { cause?: unknown; meta?: { driverAdapterError?: unknown } };
  return isInjectedFault(e.cause, seen) || isInjectedFault(e.meta?.driverAdapterError, seen);
}

const ROLLBACK: SqlQuery = { sql: "ROLLBACK", args: [], argTypes: [] };
const firstLine = (sql: string) => {
  const line = sql.trim().replace(/\s+/g, " ");
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
};

export class FaultInjector {
  #armed: (ArmOptions & { count: number }) | undefined;
  #statements: StatementRecord[] = [];
  #fault: StatementRecord | undefined;

  /** Pass as `wrapAdapter` to openDatabase / openTestDatabase. */
  readonly wrapAdapter = (factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory => {
    // A Proxy keeps everything the factory has (provider, adapterName, connectToShadowDb, …) and
    // replaces only connect().
    return new Proxy(factory, {
      get: (target, prop) => {
        if (prop === "connect") return async () => this.#wrapAdapter(await target.connect());
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };

  /** Counts statements from now on and fails the `at`-th one. Replaces any earlier arming. */
  /** Counts and records every statement from now on, failing none: `disarm()` reports them. */
  record(): void {
    this.#armed = { at: Number.POSITIVE_INFINITY, mode: "before", count: 0 };
    this.#statements = [];
    this.#fault = undefined;
  }

  arm(options: ArmOptions): void {
    if (!Number.isInteger(options.at) || options.at < 1) throw new Error(`arm: at must be a positive integer, got ${options.at}`);
    this.#armed = { ...options, count: 0 };
    this.#statements = [];
    this.#fault = undefined;
  }

  /** Stops counting and reports what happened since `arm`. */
  disarm(): FaultReport {
    const report = { fired: this.#fault !== undefined, fault: this.#fault, statements: this.#statements };
    this.#armed = undefined;
    this.#statements = [];
    this.#fault = undefined;
    return report;
  }

  /**
   * Numbers a statement and decides whether it fails. Returns the fault to throw, or undefined.
   * After the fault has fired nothing else fails: one fault per arming, so the caller's recovery
   * (Prisma's rollback, say) runs against a healthy database.
   */
  #next(kind: StatementKind, sql: string, query?: SqlQuery): InjectedFault | undefined {
    const armed = this.#armed;
    if (!armed || (armed.kinds && !armed.kinds.includes(kind))) return undefined;
    armed.count += 1;
    const record: StatementRecord = { n: armed.count, kind, sql: firstLine(sql), faulted: false, ...(query ? { query } : {}) };
    this.#statements.push(record);
    if (this.#fault || armed.count !== armed.at) return undefined;
    record.faulted = true;
    this.#fault = record;
    return new InjectedFault(record, armed.mode);
  }

  get #mode(): FaultMode {
    return this.#armed?.mode ?? "before";
  }

  /** queryRaw / executeRaw: `before` → not sent; `reply-lost` → sent, then the reply is dropped. */
  async #statement<T>(query: SqlQuery, run: () => Promise<T>): Promise<T> {
    const fault = this.#next("query", query.sql, query);
    if (!fault) return run();
    if (this.#mode === "reply-lost") await run();
    throw fault;
  }

  #wrapAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
    return new Proxy(adapter, {
      get: (target, prop) => {
        switch (prop) {
          case "queryRaw":
            return (q: SqlQuery) => this.#statement(q, () => target.queryRaw(q));
          case "executeRaw":
            return (q: SqlQuery) => this.#statement(q, () => target.executeRaw(q));
          case "startTransaction":
            return (isolationLevel?: IsolationLevel) => this.#begin(target, isolationLevel);
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  async #begin(adapter: SqlDriverAdapter, isolationLevel?: IsolationLevel): Promise<Transaction> {
    const fault = this.#next("begin", "BEGIN");
    if (!fault) return this.#wrapTransaction(await adapter.startTransaction(isolationLevel));
    if (this.#mode === "reply-lost") {
      // The transaction was opened, and its opener is gone: the server rolls it back and the
      // connection goes back to the pool clean.
      await endTransaction(await adapter.startTransaction(isolationLevel));
    }
    throw fault;
  }

  /**
   * A transaction's end, counted as one statement. A faulted COMMIT in `reply-lost` mode commits and
   * then fails; in `before` mode it never arrived, so the transaction is aborted. A ROLLBACK rolls
   * back whether or not its reply arrives.
   */
  async #end(kind: "commit" | "rollback", sql: string, finish: () => Promise<unknown>, abort: () => Promise<unknown>): Promise<unknown> {
    const fault = this.#next(kind, sql);
    if (!fault) return finish();
    if (kind === "rollback" || this.#mode === "reply-lost") await finish();
    else await abort();
    throw fault;
  }

  #wrapTransaction(tx: Transaction): Transaction {
    const phantom = tx.options.usePhantomQuery;
    // Where Prisma sends COMMIT / ROLLBACK itself (pg), those statements are the transaction's end;
    // commit() / rollback() then only release the connection, which is not a statement.
    const endKind = (sql: string): "commit" | "rollback" | undefined => {
      if (phantom) return undefined;
      const s = sql.trim().toUpperCase();
      return s === "COMMIT" ? "commit" : s === "ROLLBACK" ? "rollback" : undefined;
    };
    const execute = async (q: SqlQuery, via: "queryRaw" | "executeRaw"): Promise<unknown> => {
      const run = (): Promise<unknown> => (via === "queryRaw" ? tx.queryRaw(q) : tx.executeRaw(q));
      const end = endKind(q.sql);
      if (end) return this.#end(end, q.sql, run, () => tx.executeRaw(ROLLBACK));
      return this.#statement<unknown>(q, run);
    };
    return new Proxy(tx, {
      get: (target, prop) => {
        switch (prop) {
          case "queryRaw":
            return (q: SqlQuery) => execute(q, "queryRaw");
          case "executeRaw":
            return (q: SqlQuery) => execute(q, "executeRaw");
          case "commit":
            if (!phantom) break;
            return () =>
              this.#end(
                "commit",
                "COMMIT (driver)",
                () => target.commit(),
                () => target.rollback(),
              );
          case "rollback":
            if (!phantom) break;
            return () =>
              this.#end(
                "rollback",
                "ROLLBACK (driver)",
                () => target.rollback(),
                () => target.rollback(),
              );
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}

/** Rolls back and releases a transaction nobody will use. */
async function endTransaction(tx: Transaction): Promise<void> {
  if (tx.options.usePhantomQuery) {
    await tx.rollback();
    return;
  }
  try {
    await tx.executeRaw(ROLLBACK);
  } finally {
    await tx.rollback();
  }
}

export function createFaultInjector(): FaultInjector {
  return new FaultInjector();
}

// ── What a fault may and may not leave behind ────────────────────────────────────────────────────

/** Every row of the four tables, in primary-key order: compare two to prove "all or nothing". */
export type TableSnapshot = {
  executions: ExecutionSession[];
  steps: StepSession[];
  toolCalls: ToolCall[];
  consolidated: ConsolidatedSession[];
};

/** Reads every row of execution_sessions, step_sessions, tool_calls and consolidated_sessions. */
export async function snapshotTables(db: Database): Promise<TableSnapshot> {
  const prisma = prismaClientOf(db);
  // One after the other: PGlite runs one query at a time anyway, and a snapshot is not a hot path.
  const executions = await prisma.executionSession.findMany({ orderBy: { executionId: "asc" } });
  const steps = await prisma.stepSession.findMany({ orderBy: { sessionId: "asc" } });
  const toolCalls = await prisma.toolCall.findMany({ orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }, { callIndex: "asc" }] });
  const consolidated = await prisma.consolidatedSession.findMany({ orderBy: { id: "asc" } });
  return { executions, steps, toolCalls, consolidated };
}

/**
 * The invariants no write may break, half-done or not, as a list of violations (empty: consistent):
 * - a pending step belongs to its execution's open transaction; a committed one has `committedAt`;
 *   a step's id is `{executionId}_step_{stepIndex}`;
 * - an execution's open transaction has both its id and its start time, or neither; a finished
 *   execution has no open transaction and has `finishedAt` and `durationMs` (but one that recovery
 *   finished after its process died, whose wall time nobody measured); a running one has neither;
 * - every step's tool calls are numbered 0, 1, 2, … without gaps (a step never keeps half of them);
 * - a consolidated session lists committed steps of its execution, in step order; an execution whose
 *   consolidation is `completed` has at least one consolidated session.
 */
export function consistencyProblems(s: TableSnapshot): string[] {
  const problems: string[] = [];
  const executions = new Map(s.executions.map((e) => [e.executionId, e]));
  const steps = new Map(s.steps.map((st) => [st.sessionId, st]));
  for (const e of s.executions) {
    if ((e.openTransactionId === null) !== (e.transactionOpenedAt === null)) {
      problems.push(
        `execution ${e.executionId}: open transaction id ${e.openTransactionId} but opened at ${e.transactionOpenedAt?.toISOString()}`,
      );
    }
    if (e.status === "running" && (e.finishedAt !== null || e.durationMs !== null))
      problems.push(`execution ${e.executionId}: running but has finishedAt/durationMs`);
    if (e.status !== "running") {
      if (e.openTransactionId !== null)
        problems.push(`execution ${e.executionId}: finished as ${e.status} with transaction ${e.openTransactionId} open`);
      const recovered = e.status === "failed" && e.error?.startsWith("abandoned:") === true;
      if (e.finishedAt === null || (e.durationMs === null && !recovered))
        problems.push(`execution ${e.executionId}: finished as ${e.status} without finishedAt/durationMs`);
    }
    if (e.consolidationStatus === "completed" && !s.consolidated.some((c) => c.executionId === e.executionId)) {
      problems.push(`execution ${e.executionId}: consolidation completed but no consolidated session exists`);
    }
  }
  for (const st of s.steps) {
    const e = executions.get(st.executionId);
    if (!e) problems.push(`step ${st.sessionId}: execution ${st.executionId} does not exist`);
    if (st.sessionId !== stepSessionId(st.executionId, st.stepIndex))
      problems.push(`step ${st.sessionId}: id does not match step ${st.stepIndex}`);
    if (st.state === "pending" && (st.transactionId === null || st.transactionId !== e?.openTransactionId)) {
      problems.push(
        `step ${st.sessionId}: pending in transaction ${st.transactionId}, but the open transaction is ${e?.openTransactionId ?? null}`,
      );
    }
    if (st.state === "committed" && st.committedAt === null) problems.push(`step ${st.sessionId}: committed without committedAt`);
  }
  const callIndexes = new Map<string, number[]>();
  for (const t of s.toolCalls) {
    const sessionId = stepSessionId(t.executionId, t.stepIndex);
    if (!steps.has(sessionId)) problems.push(`tool call ${t.callIndex} of ${sessionId}: the step does not exist`);
    callIndexes.set(sessionId, [...(callIndexes.get(sessionId) ?? []), t.callIndex]);
  }
  for (const [sessionId, indexes] of callIndexes) {
    const sorted = [...indexes].sort((a, b) => a - b);
    if (sorted.some((n, i) => n !== i))
      problems.push(`step ${sessionId}: tool call indexes ${sorted.join(",")} are not 0…${sorted.length - 1}`);
  }
  for (const c of s.consolidated) {
    if (!executions.has(c.executionId)) problems.push(`consolidated ${c.consolidatedSessionId}: execution ${c.executionId} does not exist`);
    const ids = c.originalSessionIds;
    if (!Array.isArray(ids)) {
      problems.push(`consolidated ${c.consolidatedSessionId}: originalSessionIds is not an array`);
      continue;
    }
    let last = -1;
    for (const id of ids) {
      const st = typeof id === "string" ? steps.get(id) : undefined;
      if (!st || st.executionId !== c.executionId || st.state !== "committed") {
        problems.push(`consolidated ${c.consolidatedSessionId}: ${String(id)} is not a committed step of ${c.executionId}`);
      } else if (st.stepIndex <= last) {
        problems.push(`consolidated ${c.consolidatedSessionId}: ${id} is out of step order`);
      } else {
        last = st.stepIndex;
      }
    }
  }
  return problems;
}

/** A call's outcome as a value, so a test can look at a failure instead of catching it. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
export const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** The statements a faulted call ran, the failed one marked: what a failing assertion should print. */
export const describeReport = (r: FaultReport): string =>
  r.statements.map((s) => `${s.faulted ? "→" : ""}${s.n} ${s.kind} ${s.sql.slice(0, 60)}`).join("\n  ");
