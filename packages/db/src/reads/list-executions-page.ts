import { z } from "zod";
import { Prisma } from "../generated/prisma/client.js";
import type { Database } from "../open-database.js";
import { prepared } from "../prepared-statement.js";
import { type ExecutionsPageKey, ZExecutionStatus, ZExecutionsPageKey, ZId, ZTimestamp } from "../schemas.js";
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from "../storable-text.js";
import { validate } from "../validate.js";
import { type ExecutionSummary, SUMMARY_COLUMNS, type SummaryRow, summaryOf } from "./execution-row.js";
import { runDriverRead } from "./run-read.js";

export { type ExecutionsPageKey, ZExecutionsPageKey };

export const MAX_PAGE_LIMIT = 200;

export const ZExecutionsPageInput = z
  .object({
    status: ZExecutionStatus.optional(),
    flowId: ZId.optional(),
    agent: ZId.optional(),
    /** started_at ≥ from. */
    from: ZTimestamp.optional(),
    /** started_at < to. */
    to: ZTimestamp.optional(),
    /** A substring of the execution id, the flow id or the prompt, case-insensitive. */
    // Text PostgreSQL cannot hold (a NUL) can match nothing stored, and the server would refuse the
    // pattern outright: a 500 for what is bad input.
    q: z.string().max(500, "must be at most 500 characters").refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).optional(),
    limit: z.int().min(1, "must be 1 or more").max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}`).default(50),
    after: ZExecutionsPageKey.optional(),
  })
  // An empty range can only be a mistake (the two swapped): an empty list would read as "no runs then".
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: "must be later than from: no run starts in an empty range (are the two swapped?)",
    path: ["to"],
  });
export type ExecutionsPageInput = z.input<typeof ZExecutionsPageInput>;

export type ExecutionsPage = {
  executions: ExecutionSummary[];
  /** The key to pass as `after` for the next page; null on the last page. */
  next: ExecutionsPageKey | null;
};

/**
 * How many rows a page's statement fetches: the smallest of a few fixed sizes above the limit,
 * written into the SQL. Given as a parameter, a LIMIT is estimated by PostgreSQL at a tenth of the
 * table, so it planned the prepared statement anew at every execution instead of reusing its plan
 * (page 1 included: 0 generic plans in 8 executions), which cost every list request server CPU.
 * Fixed sizes keep the statements a bounded set: one per size and filter shape.
 */
const FETCH_SIZES = [11, 21, 51, 101, MAX_PAGE_LIMIT + 1];
const fetchSize = (limit: number) => FETCH_SIZES.find((n) => n > limit) ?? MAX_PAGE_LIMIT + 1;

/** `q` as a LIKE pattern that matches itself literally: its own % _ and \ are escaped. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The statement of one page: the filters that are set, the keyset, and the rows to fetch. */
export function listExecutionsStatement(q: z.output<typeof ZExecutionsPageInput>): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (q.status) conditions.push(Prisma.sql`e.status = ${q.status}::execution_status`);
  if (q.flowId) conditions.push(Prisma.sql`e.flow_id = ${q.flowId}`);
  if (q.agent) conditions.push(Prisma.sql`e.agent = ${q.agent}`);
  if (q.from) conditions.push(Prisma.sql`e.started_at >= ${q.from}::timestamptz`);
  if (q.to) conditions.push(Prisma.sql`e.started_at < ${q.to}::timestamptz`);
  if (q.q) {
    const pattern = likePattern(q.q);
    conditions.push(Prisma.sql`(e.execution_id ILIKE ${pattern} OR e.flow_id ILIKE ${pattern} OR e.prompt ILIKE ${pattern})`);
  }
  if (q.after)
    conditions.push(Prisma.sql`(e.started_at, e.execution_id) < (${q.after.startedAt}::timestamptz, ${q.after.executionId}::varchar)`);
  const where = conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
  return Prisma.sql`${prepared("list-executions")}
      SELECT ${SUMMARY_COLUMNS} FROM execution_sessions e ${where}
      ORDER BY e.started_at DESC, e.execution_id DESC LIMIT ${Prisma.raw(String(fetchSize(q.limit)))}`;
}

/**
 * One page of executions, newest first, by keyset: (started_at, execution_id) descending, strictly
 * after the previous page's last row. A page never repeats or skips a row however many executions
 * are inserted while someone pages (an offset would shift under them). One statement, one snapshot,
 * prepared once per connection on PostgreSQL: its shapes (which filters are set) are a bounded set.
 */
export async function listExecutionsPage(db: Database, input: ExecutionsPageInput = {}): Promise<ExecutionsPage> {
  const q = validate(ZExecutionsPageInput, input, "");
  const rows = await runDriverRead<SummaryRow>(db, "list executions", listExecutionsStatement(q));
  const executions = rows.slice(0, q.limit).map(summaryOf);
  const last = executions.at(-1);
  return {
    executions,
    next: rows.length > q.limit && last ? { startedAt: last.startedAt, executionId: last.executionId } : null,
  };
}
