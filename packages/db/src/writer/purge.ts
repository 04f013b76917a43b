import { z } from "zod";
import { Prisma } from "../generated/prisma/client.js";
import { ZFinalExecutionStatus, ZId } from "../schemas.js";
import { validate } from "../validate.js";
import { type Client, databaseTransaction, type WriterContext, withClient } from "./context.js";

// Retention: deletes finished executions older than a cut-off with everything recorded about them, in
// bounded batches. Each batch is one short interactive transaction that locks its executions (`FOR
// UPDATE SKIP LOCKED`: a row a writer holds is passed over, never waited for), checks them again under
// the lock, and deletes their rows table by table, counting each. A live run is never blocked for
// longer than one batch, and a crash loses at most the batch in flight — whole executions, never a
// part of one.
//
// Consolidations: reev stores a consolidation with its own execution's steps only (read under that
// execution's lock), and the foreign key deletes it with its execution. A consolidated session written
// by another tool may list other executions' steps in original_session_ids; then that consolidation
// and every execution it lists are one unit: purged together in one batch when all of them are
// eligible, otherwise all kept. Links in both directions are found: from a batch's own consolidations,
// under the lock, and from consolidations of other executions by one scan when the purge starts.

/** The most executions one batch takes: a batch holds its locks until it commits. */
export const MAX_PURGE_BATCH = 100_000;
export const DEFAULT_PURGE_BATCH = 1_000;

export const ZPurgeOptions = z.object({
  /** Executions that finished at least this long ago (0: every finished one). */
  olderThanMs: z.int("must be an integer number of milliseconds").min(0, "must be 0 or more").max(8.64e15, "is too large"),
  /** Only executions that ended so; every final status when left out (never `running`). */
  statuses: z.array(ZFinalExecutionStatus).min(1, "must name at least one status").optional(),
  /** Only executions of this flow. */
  flowId: ZId.optional(),
  /** Count what would go, in the same batches, and delete nothing. */
  dryRun: z.boolean("must be true or false").optional(),
  /** Executions per batch (each batch one transaction). */
  batchSize: z.int("must be an integer").min(1, "must be 1 or more").max(MAX_PURGE_BATCH, `must be at most ${MAX_PURGE_BATCH}`).optional(),
});
export type PurgeOptions = z.input<typeof ZPurgeOptions>;

/** Rows of each table, deleted (or, in a dry run, that would be). */
export type PurgeCounts = {
  executions: number;
  steps: number;
  stepAttempts: number;
  toolCalls: number;
  consolidatedSessions: number;
};

export type PurgeReport = {
  dryRun: boolean;
  /** Executions that finished before this were eligible. */
  cutoff: Date;
  deleted: PurgeCounts;
  /** Batches that deleted (in a dry run, counted) something: the transaction that finds nothing left is not one. */
  batches: number;
  /** False when `signal` stopped it between two batches: what the report counts is gone, the rest is not. */
  complete: boolean;
};

export type PurgeHooks = {
  /** Called after each committed batch with the totals so far: progress for long purges. */
  onBatch?: (progress: PurgeReport) => void;
  /** Stops the purge between batches (a batch under way commits first). */
  signal?: AbortSignal;
};

type Policy = { cutoff: Date; statuses: string[] | undefined; flowId: string | undefined; batchSize: number; dryRun: boolean };
type Key = { finishedAt: Date; executionId: string };
/** Two executions that one consolidation ties together: the consolidation's own, and one whose steps it lists. */
type Link = { a: string; b: string };

const NO_ROWS: PurgeCounts = { executions: 0, steps: 0, stepAttempts: 0, toolCalls: 0, consolidatedSessions: 0 };

const add = (x: PurgeCounts, y: PurgeCounts): PurgeCounts => ({
  executions: x.executions + y.executions,
  steps: x.steps + y.steps,
  stepAttempts: x.stepAttempts + y.stepAttempts,
  toolCalls: x.toolCalls + y.toolCalls,
  consolidatedSessions: x.consolidatedSessions + y.consolidatedSessions,
});

/**
 * What makes an execution (alias `e`) eligible: finished before the cut-off, of the statuses and flow
 * asked for, and none of what must never be touched — a running execution, an open execution
 * transaction, a consolidation in progress, an evaluation still running.
 */
function eligible(policy: Policy): Prisma.Sql {
  return Prisma.sql`e.status <> 'running' AND e.finished_at < ${policy.cutoff}::timestamptz
    AND e.open_transaction_id IS NULL AND e.consolidation_status <> 'in_progress'
    AND (e.evaluation_id IS NULL OR NOT EXISTS (SELECT 1 FROM evaluation_runs r WHERE r.id = e.evaluation_id AND r.status = 'running'))
    ${policy.statuses ? Prisma.sql`AND e.status::text = ANY(${policy.statuses}::text[])` : Prisma.empty}
    ${policy.flowId === undefined ? Prisma.empty : Prisma.sql`AND e.flow_id = ${policy.flowId}`}`;
}

/** A dry run only reads: it takes no lock (a read-only transaction could not). */
const locking = (policy: Policy) => (policy.dryRun ? Prisma.empty : Prisma.sql`FOR UPDATE OF e SKIP LOCKED`);

/**
 * The executions a step session id names: `{executionId}_step_{n}` (stepSessionId), so the id is
 * what precedes the last `_step_` and its digits. Elements of a value that is not an array are none.
 */
const linkedExecution = Prisma.sql`regexp_replace(s.id, '_step_[0-9]+$', '')`;
const listedIds = Prisma.sql`jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.original_session_ids) = 'array'
  THEN c.original_session_ids ELSE '[]'::jsonb END) AS s(id)`;

/** Consolidations of other executions than their own, over the whole table: the scan at the start. */
function allLinks(tx: Client): Promise<Link[]> {
  return tx.$queryRaw<Link[]>`
    SELECT DISTINCT c.execution_id AS a, ${linkedExecution} AS b FROM consolidated_sessions c CROSS JOIN LATERAL ${listedIds}
    WHERE ${linkedExecution} <> c.execution_id`;
}

/**
 * The same, for the consolidations of `ids` only (by the key's prefix): read under the batch's locks.
 * One index lookup per id, fenced (`OFFSET 0`) so the planner cannot turn it into a join that reads
 * the whole table: without statistics (PGlite never gathers them; a freshly filled server has none
 * yet) it did, every batch, and a purge of 100,000 executions spent most of its time here.
 */
function linksOf(tx: Client, ids: string[]): Promise<Link[]> {
  return tx.$queryRaw<Link[]>`
    SELECT DISTINCT c.execution_id AS a, ${linkedExecution} AS b
    FROM unnest(${ids}::text[]) AS u(id)
      CROSS JOIN LATERAL (SELECT c.execution_id, c.original_session_ids FROM consolidated_sessions c WHERE c.execution_id = u.id OFFSET 0) c
      CROSS JOIN LATERAL ${listedIds}
    WHERE ${linkedExecution} <> c.execution_id`;
}

const RUN_TABLES = ["execution_sessions", "step_sessions", "tool_calls", "step_attempts", "consolidated_sessions"];

/**
 * Gathers the planner's statistics for the run tables if they have none: the batches' plans need
 * them (without, a purge of 100,000 executions ran three times slower). PGlite has no autovacuum to
 * gather them, and a server's comes a minute after a bulk fill at the earliest. ANALYZE only samples
 * (bounded work), and takes no lock that writers or readers wait for.
 */
async function analyzeIfNeverAnalyzed(tx: Client): Promise<void> {
  const [row] = await tx.$queryRaw<{ never: boolean }[]>`
    SELECT coalesce(bool_or(last_analyze IS NULL AND last_autoanalyze IS NULL), false) AS never
    FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY(${RUN_TABLES}::text[])`;
  if (row?.never) await tx.$executeRawUnsafe(`ANALYZE ${RUN_TABLES.join(", ")}`);
}

/** Ids among `ids` that are eligible, locked for this transaction unless it is a dry run. */
async function lockEligible(tx: Client, policy: Policy, ids: string[]): Promise<string[]> {
  const rows = await tx.$queryRaw<{ execution_id: string }[]>`
    SELECT e.execution_id FROM unnest(${ids}::text[]) AS u(id) JOIN execution_sessions e ON e.execution_id = u.id
    WHERE ${eligible(policy)} ${locking(policy)}`;
  return rows.map((r) => r.execution_id);
}

/** Union-find over execution ids: which of them one consolidation (or a chain of them) ties together. */
function groups(links: readonly Link[]): (id: string) => string {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    const p = parent.get(id);
    if (p === undefined || p === id) return id;
    const root = find(p);
    parent.set(id, root);
    return root;
  };
  for (const { a, b } of links) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  }
  return find;
}

/**
 * Keeps every consolidation's executions whole: from the locked, eligible `ids`, the executions that
 * can go, with every execution a consolidation ties to them locked too — or left out, with all it is
 * tied to, when one of those cannot go (not eligible, or a writer holds it). Ids a link names that are
 * no execution at all (a dangling entry in original_session_ids) hold nothing back.
 */
async function wholeGroups(tx: Client, policy: Policy, ids: string[], known: ReadonlyMap<string, Link[]>): Promise<string[]> {
  const members = new Set(ids);
  const refused = new Set<string>();
  const links: Link[] = [];
  let unread = ids;
  while (unread.length) {
    const found = [...(await linksOf(tx, unread)), ...unread.flatMap((id) => known.get(id) ?? [])];
    links.push(...found);
    const outside = [...new Set(found.flatMap((l) => [l.a, l.b]))].filter((id) => !members.has(id) && !refused.has(id));
    if (!outside.length) break;
    const existing = await tx.$queryRaw<{ execution_id: string }[]>`
      SELECT e.execution_id FROM unnest(${outside}::text[]) AS u(id) JOIN execution_sessions e ON e.execution_id = u.id`;
    const taken = new Set(await lockEligible(tx, policy, outside));
    for (const { execution_id: id } of existing) (taken.has(id) ? members : refused).add(id);
    unread = [...taken];
  }
  if (!refused.size) return [...members];
  const groupOf = groups(links);
  const held = new Set([...refused].map(groupOf));
  return [...members].filter((id) => !held.has(groupOf(id)));
}

/**
 * The rows of `table` (as `t`) that belong to `ids`, joined on the key's prefix: one index lookup per
 * execution. (`execution_id = ANY(ids)` can make the planner read whole tables, on PGlite above all,
 * where nothing is ANALYZEd; recovery's step counts met it first.) `usingIds` is the DELETE's form.
 */
const byIds = (table: string, ids: string[]) =>
  Prisma.sql`unnest(${ids}::text[]) AS u(id) JOIN ${Prisma.raw(table)} t ON t.execution_id = u.id`;
const usingIds = (table: string, ids: string[]) =>
  Prisma.sql`${Prisma.raw(table)} t USING unnest(${ids}::text[]) AS u(id) WHERE t.execution_id = u.id`;

/**
 * Each table's rows of the executions, and with `purge` the executions deleted (the foreign keys
 * cascade to everything recorded about them), in one statement. The children are counted in the
 * statement's snapshot, before the cascade runs: exact, because no writer can add or remove a row
 * under executions this batch holds locked (every step write locks its execution first). Deleting
 * each table's rows explicitly cost more: the cascades then probe again for every step row, finding
 * nothing. One statement, not one per table: a purge runs beside live runs, and each round trip
 * waits behind their work. Without `purge`, the dry run's counts.
 */
async function tally(tx: Client, ids: string[], purge: boolean): Promise<PurgeCounts> {
  const count = (table: string) => Prisma.sql`(SELECT count(*)::int FROM ${byIds(table, ids)})`;
  const [row] = await tx.$queryRaw<PurgeCounts[]>`
    ${purge ? Prisma.sql`WITH executions AS (DELETE FROM ${usingIds("execution_sessions", ids)} RETURNING 1)` : Prisma.empty}
    SELECT ${purge ? Prisma.sql`(SELECT count(*)::int FROM executions)` : count("execution_sessions")} AS executions,
      ${count("step_sessions")} AS steps, ${count("step_attempts")} AS "stepAttempts", ${count("tool_calls")} AS "toolCalls",
      ${count("consolidated_sessions")} AS "consolidatedSessions"`;
  return row ?? NO_ROWS;
}

type BatchOutcome = { last: Key | undefined; ids: string[]; counts: PurgeCounts };
/** What a purge carries from batch to batch: the links found at its start, and (dry run) the executions counted. */
type Seen = { links: ReadonlyMap<string, Link[]>; counted: Set<string> };

/**
 * One batch, in one transaction: the next candidates after `after` in (finished_at, execution_id)
 * order, locked; checked again under the lock (a fresh snapshot: whatever committed while the lock
 * was taken, an evaluation's status included); kept whole with their consolidations; deleted.
 * `last` is where the next batch starts, undefined when there was no candidate left.
 */
async function purgeBatch(tx: Client, policy: Policy, after: Key | undefined, seen: Seen): Promise<BatchOutcome> {
  if (policy.dryRun) await tx.$executeRaw`SET TRANSACTION READ ONLY`;
  const candidates = await tx.$queryRaw<{ execution_id: string; finished_at: Date }[]>`
    SELECT e.execution_id, e.finished_at FROM execution_sessions e
    WHERE ${eligible(policy)}
      ${after ? Prisma.sql`AND (e.finished_at, e.execution_id) > (${after.finishedAt}::timestamptz, ${after.executionId})` : Prisma.empty}
    ORDER BY e.finished_at, e.execution_id LIMIT ${policy.batchSize}::int ${locking(policy)}`;
  const lastRow = candidates.at(-1);
  if (!lastRow) return { last: undefined, ids: [], counts: NO_ROWS };
  const last = { finishedAt: lastRow.finished_at, executionId: lastRow.execution_id };
  // Checked again with a fresh read, through the one "eligible, under the lock" query (re-locking rows
  // this transaction holds is a no-op).
  const rechecked = await lockEligible(
    tx,
    policy,
    candidates.map((c) => c.execution_id),
  );
  const ids = await wholeGroups(
    tx,
    policy,
    rechecked.filter((id) => !seen.counted.has(id)),
    seen.links,
  );
  if (!ids.length) return { last, ids, counts: NO_ROWS };
  return { last, ids, counts: await tally(tx, ids, !policy.dryRun) };
}

/**
 * Deletes (or, with `dryRun`, counts) every execution that finished more than `olderThanMs` ago,
 * with its steps, attempts, tool calls and consolidated sessions, in batches of `batchSize`
 * executions, each its own transaction. Never touches a running execution, one with an open
 * execution transaction, one whose consolidation is in progress, or one of an evaluation still
 * running; nor anything a writer holds while it looks. Running it again finds nothing more.
 */
export async function purgeExecutions(context: WriterContext, options: PurgeOptions, hooks: PurgeHooks = {}): Promise<PurgeReport> {
  const checked = validate(ZPurgeOptions, options, "options");
  const policy: Policy = {
    cutoff: new Date(Date.now() - checked.olderThanMs),
    statuses: checked.statuses,
    flowId: checked.flowId,
    batchSize: checked.batchSize ?? DEFAULT_PURGE_BATCH,
    dryRun: checked.dryRun ?? false,
  };
  // A dry run only reads: it plans with whatever statistics there are.
  if (!policy.dryRun) await withClient(context, "gather the planner's statistics for the run tables", analyzeIfNeverAnalyzed);
  const links = new Map<string, Link[]>();
  for (const link of await withClient(context, "find consolidations that list other executions' steps", allLinks)) {
    for (const id of [link.a, link.b]) links.set(id, [...(links.get(id) ?? []), link]);
  }
  const seen: Seen = { links, counted: new Set() };
  const report: PurgeReport = { dryRun: policy.dryRun, cutoff: policy.cutoff, deleted: NO_ROWS, batches: 0, complete: false };
  let after: Key | undefined;
  for (;;) {
    // Given a signal, a turn of the event loop between batches: on PGlite every query settles in
    // microtasks, so without it no timer, I/O or signal handler ran until the whole purge was done,
    // and the CLI's Ctrl-C could not stop an embedded purge. Only then: a caller that writes to the
    // same PGlite in a loop of its own, which also never leaves the microtasks, would starve the turn
    // and wait on the purge for ever (a test that keeps writing until the purge is over did).
    if (hooks.signal) await new Promise((resolve) => setImmediate(resolve));
    if (hooks.signal?.aborted) return report;
    const batch = await databaseTransaction(
      context,
      `${policy.dryRun ? "count" : "purge"} a batch of executions finished before ${policy.cutoff.toISOString()}`,
      ({ client: tx }) => purgeBatch(tx, policy, after, seen),
    );
    if (batch.ids.length) report.batches++;
    // A dry run deletes nothing, so an execution it counted with a consolidation's group, ahead of the
    // cursor, would come up again as a candidate: what it counted is remembered, and counted once.
    if (policy.dryRun) for (const id of batch.ids) seen.counted.add(id);
    report.deleted = add(report.deleted, batch.counts);
    if (!batch.last) return { ...report, complete: true };
    after = batch.last;
    hooks.onBatch?.({ ...report });
  }
}
