import { z } from "zod";
import { currentProcessOwner, localOwnerState, type RecordedOwner } from "../process-owner.js";
import { INT32_MAX, ZId } from "../schemas.js";
import { validate } from "../validate.js";
import { databaseTransaction, lockExecution, type WriterContext, withClient } from "./context.js";
import { closeTransaction, deletePending } from "./execution-transactions.js";
import { type ExecutionSessionRecord, toExecutionRecord } from "./executions.js";

// A running execution whose process is gone stays `running` forever unless someone finishes it. This
// module decides, from the owner an execution records (host, pid, process start) and its heartbeat,
// whether that process is provably gone, and finishes such executions. A live run is never touched:
// on this host its process is looked up; on another host only a heartbeat older than `staleAfterMs`
// counts, and it is checked again under the row lock, so a run that beat meanwhile is left alone.

/** How often a running execution's owner refreshes its heartbeat while an agent thinks. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A heartbeat older than this is stale: twelve missed beats, well past a slow step write or a GC pause. */
export const DEFAULT_STALE_AFTER_MS = 2 * 60_000;

export const ZAbandonedOptions = z.object({
  /** A heartbeat older than this is stale; on another host, stale means abandoned. */
  staleAfterMs: z.int("must be an integer number of milliseconds").min(1, "must be 1 or more").max(INT32_MAX, "is too large").optional(),
  /**
   * Executions with no recorded owner (written before owners were) cannot be proven gone: they count
   * as abandoned only when their last sign of life is older than this. Left out: never.
   */
  olderThanMs: z.int("must be an integer number of milliseconds").min(0, "must be 0 or more").max(8.64e15, "is too large").optional(),
});
export type AbandonedOptions = z.input<typeof ZAbandonedOptions>;
/** The threshold a view judges a running run by: every view of one process must use the same one. */
export type LivenessOptions = Pick<AbandonedOptions, "staleAfterMs">;

/**
 * The threshold a long-lived reader (`reev serve`) judges every run by, checked once when it starts:
 * VALIDATION naming `staleAfterMs` unless a whole number from 1 to 2³¹−1 ms; left out, the default.
 */
export function livenessOptions(staleAfterMs?: number): Required<LivenessOptions> {
  const checked = validate(ZAbandonedOptions.pick({ staleAfterMs: true }), { staleAfterMs }, "");
  return { staleAfterMs: checked.staleAfterMs ?? DEFAULT_STALE_AFTER_MS };
}

/** What is known of a running execution's owner. */
export type Liveness = {
  /** Abandoned: its owner is provably gone (or, unowned, silent for longer than `olderThanMs`). */
  abandoned: boolean;
  /** Its last sign of life (heartbeat, else start) is older than `staleAfterMs`. */
  stale: boolean;
  /** In words: why it is abandoned, or why it is not. */
  reason: string;
};

/** What liveness is judged from: an execution's or an evaluation's status, owner and heartbeat. */
export type OwnedRun = {
  status: string;
  owner: RecordedOwner | null;
  heartbeatAt: Date | null;
  startedAt: Date;
};

export const lastSignOfLife = (e: Pick<OwnedRun, "heartbeatAt" | "startedAt">) => e.heartbeatAt ?? e.startedAt;

/** "2 min", "45 s": a silence or a threshold, in words (whole units, rounded down). */
function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min` : `${Math.floor(ms / 1000)} s`;
}

/** Whether a running execution's (or evaluation's) owner is gone. Pure but for looking up local processes. */
export function executionLiveness(e: OwnedRun, options: AbandonedOptions & { now?: Date } = {}): Liveness {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const silentMs = (options.now ?? new Date()).getTime() - lastSignOfLife(e).getTime();
  const stale = e.status === "running" && silentMs > staleAfterMs;
  if (e.status !== "running") return { abandoned: false, stale: false, reason: `finished as ${e.status}` };
  const { owner } = e;
  if (!owner) {
    const abandoned = options.olderThanMs !== undefined && silentMs >= options.olderThanMs;
    return { abandoned, stale, reason: `abandoned: no owner recorded, and no sign of life for ${minutes(Math.max(0, silentMs))}` };
  }
  const who = `process ${owner.pid} on ${owner.host}`;
  if (owner.host === currentProcessOwner().host) {
    const state = localOwnerState(owner);
    return state === "gone"
      ? { abandoned: true, stale, reason: `abandoned: ${who} exited without finishing` }
      : { abandoned: false, stale, reason: `${who} is still running` };
  }
  return stale
    ? { abandoned: true, stale, reason: `abandoned: ${who} sent no heartbeat for over ${minutes(staleAfterMs)}` }
    : { abandoned: false, stale, reason: `${who} sent a heartbeat within ${minutes(staleAfterMs)}` };
}

/** The two flags every JSON view of a run carries (`reev list --json`, the API): both false once it finished. */
export function livenessFlags(e: OwnedRun, options: LivenessOptions = {}): { stale: boolean; abandoned: boolean } {
  const { stale, abandoned } = executionLiveness(e, options);
  return { stale, abandoned };
}

/** How a list marks a running execution (or evaluation) whose owner may be gone; undefined when live or finished. */
export type RunMark = "abandoned" | "stale" | undefined;

/**
 * The mark every list shows beside `running` (the CLI's tables, the viewer's lists, the API's flags),
 * so no list shows a run whose process is gone as plainly running. Abandoned outranks stale.
 */
export function runMark(e: OwnedRun, options: LivenessOptions = {}): RunMark {
  const { abandoned, stale } = executionLiveness(e, options);
  return abandoned ? "abandoned" : stale ? "stale" : undefined;
}

/** A status with its mark, as lists show it: "running (abandoned)", "running (stale)", else the status. */
export const markedStatus = (e: OwnedRun, mark: RunMark = runMark(e)): string => (mark ? `${e.status} (${mark})` : e.status);

/** An abandoned execution, as found (or as recovery left it). */
export type AbandonedExecution = {
  execution: ExecutionSessionRecord;
  /** The error the execution is (or would be) finished with. */
  reason: string;
  /** Steps of its open transaction, rolled back (or to be). */
  pendingSteps: number;
  /** Steps committed before it was abandoned: what its consolidation lists. */
  committedSteps: number;
};

async function stepCounts(context: WriterContext, executionIds: string[]): Promise<Map<string, { pending: number; committed: number }>> {
  if (!executionIds.length) return new Map();
  const rows = await withClient(
    context,
    "count the steps of abandoned executions",
    // One index lookup per execution (LATERAL): with many abandoned runs, `execution_id = ANY(…)` made
    // the planner read the whole table (query-plans.test.ts caught it).
    (c) => c.$queryRaw<{ execution_id: string; pending: number; committed: number }[]>`
      SELECT e.execution_id, n.pending, n.committed
      FROM unnest(${executionIds}::text[]) AS e(execution_id)
      CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.state = 'pending')::int AS pending, count(*) FILTER (WHERE s.state = 'committed')::int AS committed
        FROM step_sessions s WHERE s.execution_id = e.execution_id
      ) AS n`,
  );
  return new Map(rows.map((r) => [r.execution_id, { pending: r.pending, committed: r.committed }]));
}

/** Running executions whose owner is provably gone, oldest first. Reads only. */
export async function listAbandonedExecutions(context: WriterContext, options: AbandonedOptions = {}): Promise<AbandonedExecution[]> {
  const checked = validate(ZAbandonedOptions, options, "options");
  const running = await withClient(context, "list running executions", (c) =>
    c.executionSession.findMany({ where: { status: "running" }, orderBy: [{ startedAt: "asc" }, { executionId: "asc" }] }),
  );
  const now = new Date();
  const abandoned = running.flatMap((row) => {
    const execution = toExecutionRecord(row);
    const liveness = executionLiveness(execution, { ...checked, now });
    return liveness.abandoned ? [{ execution, reason: liveness.reason }] : [];
  });
  const counts = await stepCounts(
    context,
    abandoned.map((a) => a.execution.executionId),
  );
  return abandoned.map((a) => {
    const n = counts.get(a.execution.executionId);
    return { ...a, pendingSteps: n?.pending ?? 0, committedSteps: n?.committed ?? 0 };
  });
}

/**
 * Finishes one execution `listAbandonedExecutions` found as `failed`, with the reason as its error:
 * its open transaction is rolled back and the execution finished in one database transaction, after
 * checking under the row lock that it still runs and its heartbeat has not moved since it was judged
 * (otherwise it is left alone: undefined). Its finish time is its last sign of life, not the time of
 * recovery; its duration is unknown (null). Consolidating the committed steps is the caller's (the
 * orchestrator builds the document). One at a time, so a caller can stop between two (reev recover's Ctrl-C).
 */
export async function recoverAbandonedExecution(
  context: WriterContext,
  found: AbandonedExecution,
): Promise<AbandonedExecution | undefined> {
  const id = validate(ZId, found.execution.executionId, "executionId");
  return databaseTransaction(context, `finish abandoned execution "${id}"`, async ({ client: tx }) => {
    const locked = await lockExecution(tx, id);
    const row = await tx.executionSession.findUniqueOrThrow({ where: { executionId: id } });
    // Finished, or alive again, since it was judged: left alone, and not reported.
    if (locked.status !== "running" || row.heartbeatAt?.getTime() !== found.execution.heartbeatAt?.getTime()) return undefined;
    const pendingSteps = locked.open_transaction_id
      ? await deletePending(tx, { executionId: id, transactionId: locked.open_transaction_id })
      : 0;
    if (locked.open_transaction_id) {
      await closeTransaction(tx, { executionId: id, transactionId: locked.open_transaction_id, outcome: "rolled_back" });
    }
    // Its wall time was never measured: the process died some time after its last sign of life,
    // which may be the heartbeat written with the row itself (a run killed in its first step read
    // as "1ms"). So no duration (null, "—"); what its steps took is in their own rows.
    const updated = await tx.executionSession.update({
      where: { executionId: id },
      data: { status: "failed", error: found.reason, finishedAt: lastSignOfLife(toExecutionRecord(row)), durationMs: null },
    });
    return { ...found, execution: toExecutionRecord(updated), pendingSteps };
  });
}

/** Finishes every abandoned execution (recoverAbandonedExecution, one transaction each); returns what it finished. */
export async function recoverAbandonedExecutions(context: WriterContext, options: AbandonedOptions = {}): Promise<AbandonedExecution[]> {
  const recovered: AbandonedExecution[] = [];
  for (const found of await listAbandonedExecutions(context, options)) {
    const done = await recoverAbandonedExecution(context, found);
    if (done) recovered.push(done);
  }
  return recovered;
}
