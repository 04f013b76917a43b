import { z } from "zod";
import { Prisma } from "../generated/prisma/client.js";
import { prepared } from "../prepared-statement.js";
import { type ConsolidationMetadata, ZText } from "../schemas.js";
import type { Client } from "./context.js";

/**
 * reev's consolidated document, for the database to assemble: `beforeSteps`, then every committed
 * step of the execution as reev's consolidated step (a JSON array in step order), then `afterSteps`.
 */
export const ZConsolidatedDocumentFrame = z.object({ beforeSteps: ZText, afterSteps: ZText });
export type ConsolidatedDocumentFrame = z.infer<typeof ZConsolidatedDocumentFrame>;

export type ConsolidatedRow = {
  executionId: string;
  consolidatedSessionId: string;
  /** The document as given, or reev's frame, which the database fills with the committed steps. */
  content: string | ConsolidatedDocumentFrame;
  metadata: ConsolidationMetadata;
  /** The steps the content was built from, in step order. */
  originalSessionIds: readonly string[];
  /** The cap on the document's size in bytes: above it nothing is stored. */
  maxBytes: number;
  /** As recorded elsewhere (an import); left out: now, and the next row number. */
  createdAt?: Date;
  id?: number;
};

/** JSON text of a nullable string, as JSON.stringify writes it (to_json escapes exactly what it does). */
const jsonString = (column: Prisma.Sql) => Prisma.sql`COALESCE(to_json(${column})::text, 'null')`;

/**
 * One tool call: the pure builder's `tool_calls[]` entry; `attempt` only where the store knows it. Its
 * input and output as the writer wrote them for the document, or (calls stored otherwise) as
 * reev_js_json writes the jsonb: the same bytes, the second much slower.
 */
const TOOL_CALL = Prisma.sql`'{"tool_name":' || to_json(t.tool_name)::text
  || ',"input":' || COALESCE(t.input_json, reev_js_json(t.input)) || ',"output":' || COALESCE(t.output_json, reev_js_json(t.output))
  || ',"success":' || COALESCE(t.success::text, 'null') || ',"duration_ms":' || COALESCE(t.duration_ms::text, 'null')
  || ',"error":' || ${jsonString(Prisma.sql`t.error`)} || COALESCE(',"attempt":' || t.attempt::text, '') || '}'`;

/** One recorded attempt: the pure builder's `attempt_log[]` entry. */
const ATTEMPT = Prisma.sql`'{"attempt":' || a.attempt::text || ',"status":' || to_json(a.status::text)::text
  || ',"error":' || ${jsonString(Prisma.sql`a.error`)} || ',"error_kind":' || ${jsonString(Prisma.sql`a.error_kind::text`)}
  || ',"started_at":' || reev_js_date(a.started_at) || ',"finished_at":' || reev_js_date(a.finished_at)
  || ',"duration_ms":' || COALESCE(a.duration_ms::text, 'null') || ',"model":' || ${jsonString(Prisma.sql`a.model`)}
  || ',"input_tokens":' || COALESCE(a.input_tokens::text, 'null') || ',"output_tokens":' || COALESCE(a.output_tokens::text, 'null')
  || ',"cached_input_tokens":' || COALESCE(a.cached_input_tokens::text, 'null') || '}'`;

/**
 * A step's attempt fields, present only when attempts were recorded (else only a recorded
 * `error_kind`); its tokens are summed over the attempts, null when one did not report them.
 */
const ATTEMPT_FIELDS = Prisma.sql`CASE WHEN attempts.n > 0 THEN ',"attempts":' || attempts.n::text || ',"attempt_log":[' || attempts.json || ']'
    || ',"error_kind":' || ${jsonString(Prisma.sql`s.error_kind::text`)}
    || ',"input_tokens":' || COALESCE(attempts.input_tokens::text, 'null') || ',"output_tokens":' || COALESCE(attempts.output_tokens::text, 'null')
  WHEN s.error_kind IS NOT NULL THEN ',"error_kind":' || to_json(s.error_kind::text)::text
  ELSE '' END`;

/** One committed step: the pure builder's `steps[]` entry (toConsolidatedStep in @reev/orchestrator), key for key. */
const STEP = Prisma.sql`'{"step_index":' || s.step_index::text || ',"session_id":' || to_json(s.session_id)::text
  || ',"step_id":' || ${jsonString(Prisma.sql`s.step_id`)} || ',"status":' || to_json(COALESCE(s.status::text, 'unknown'))::text
  || ',"success":' || (s.status IS NOT DISTINCT FROM 'success')::text || ',"score":' || reev_js_number(s.score)
  || ',"tool_count":' || calls.n::text || ',"timestamp":' || reev_js_date(COALESCE(s.committed_at, s.created_at))
  || ',"started_at":' || reev_js_date(s.started_at) || ',"finished_at":' || reev_js_date(s.finished_at)
  || ',"duration_ms":' || COALESCE(s.duration_ms::text, 'null') || ',"error":' || ${jsonString(Prisma.sql`s.error`)}
  || ',"tool_calls":[' || COALESCE(calls.json, '') || ']' || ${ATTEMPT_FIELDS}
  || ',"content":' || to_json(s.content)::text || '}'`;

/**
 * The document in the database: the frame filled with the execution's committed steps, in step
 * order, as ONE string_agg over the pieces — the frame's opening and `[`, each step (a comma before
 * all but the first), `]` and the frame's end. Every `||` around an aggregate of a large run copies
 * the whole document: built as `before || '[' || agg || ']' || after` it was copied four more times,
 * and that took most of a 10,000-step consolidation's time on PostgreSQL.
 */
const assembled = (id: string, frame: ConsolidatedDocumentFrame) => Prisma.sql`
  SELECT string_agg(p.piece, '' ORDER BY p.part, p.step_index) AS content FROM (
    SELECT 0 AS part, 0 AS step_index, ${frame.beforeSteps}::text || '[' AS piece
    UNION ALL
    -- The first step, an uncorrelated subquery: computed once (an InitPlan), whatever the planner's statistics.
    SELECT 1, s.step_index, CASE WHEN s.step_index = (SELECT min(f.step_index) FROM step_sessions f
        WHERE f.execution_id = ${id} AND f.state = 'committed') THEN '' ELSE ',' END || ${STEP}
    FROM step_sessions s
      CROSS JOIN LATERAL (SELECT count(*) AS n, string_agg(${TOOL_CALL}, ',' ORDER BY t.call_index) AS json
        FROM tool_calls t WHERE t.execution_id = ${id} AND t.step_index = s.step_index) AS calls
      CROSS JOIN LATERAL (SELECT count(*) AS n, string_agg(${ATTEMPT}, ',' ORDER BY a.attempt) AS json,
          CASE WHEN count(a.input_tokens) = count(*) THEN sum(a.input_tokens) END AS input_tokens,
          CASE WHEN count(a.output_tokens) = count(*) THEN sum(a.output_tokens) END AS output_tokens
        FROM step_attempts a WHERE a.execution_id = ${id} AND a.step_index = s.step_index) AS attempts
    WHERE s.execution_id = ${id} AND s.state = 'committed'
    UNION ALL
    SELECT 2, 0, ']' || ${frame.afterSteps}::text
  ) AS p`;

/**
 * With a time, the same statement marks the execution's consolidation `completed` once the row is
 * stored: one round trip fewer, which is a fifth of a small run's consolidation.
 */
const completed = (id: string, at: Date | undefined) =>
  at === undefined
    ? Prisma.empty
    : Prisma.sql`, completed AS (
      UPDATE execution_sessions SET consolidation_status = 'completed', consolidation_error = NULL, consolidation_updated_at = ${at}
      WHERE execution_id = ${id} AND EXISTS (SELECT 1 FROM stored)
    )`;

/**
 * Stores a consolidated session, in one statement: the caller's document as given, or reev's
 * assembled by the database from the committed steps (their bytes never leave it). Nothing is stored
 * when the id is taken or the document is over `maxBytes`; `bytes` tells which. The document is a
 * subquery of the INSERT, not a CTE: a CTE read twice is materialised, one more copy of a large
 * document. `ON CONFLICT` names no key: here the global UNIQUE on consolidated_session_id answers, on
 * a distributed table (where it cannot exist) the primary key (execution_id, consolidated_session_id)
 * does — see docs/scaling.md.
 */
export async function insertConsolidated(
  tx: Client,
  row: ConsolidatedRow,
  options: { completedAt?: Date } = {},
): Promise<{ inserted: boolean; bytes: number }> {
  const { executionId: id, metadata: m } = row;
  const document = typeof row.content === "string" ? Prisma.sql`SELECT ${row.content}::text AS content` : assembled(id, row.content);
  const [stored] = await tx.$queryRaw<{ bytes: number }[]>`${prepared("insert-consolidated")}
    WITH stored AS (
      INSERT INTO consolidated_sessions (id, execution_id, consolidated_session_id, consolidated_content, original_session_ids,
        avg_score, total_tools, success_rate, execution_duration_ms, total_input_tokens, total_output_tokens, cost_usd, created_at)
      SELECT COALESCE(${row.id ?? null}::int, nextval(pg_get_serial_sequence('consolidated_sessions', 'id'))::int),
        ${id}, ${row.consolidatedSessionId}, d.content, ${JSON.stringify(row.originalSessionIds)}::jsonb,
        ${m.avgScore ?? null}::float8, ${m.totalTools ?? null}::int, ${m.successRate ?? null}::float8, ${m.executionDurationMs ?? null}::int,
        ${m.totalInputTokens ?? null}::bigint, ${m.totalOutputTokens ?? null}::bigint, ${m.costUsd ?? null}::float8,
        COALESCE(${row.createdAt ?? null}::timestamptz, now())
      FROM (${document}) AS d WHERE octet_length(d.content) <= ${row.maxBytes}::bigint
      ON CONFLICT DO NOTHING
      RETURNING octet_length(consolidated_content)::float8 AS bytes
    )${completed(id, options.completedAt)}
    SELECT bytes FROM stored`;
  if (stored) return { inserted: true, bytes: stored.bytes };
  // Nothing stored: over the cap, or else the id is taken. Both are rare (a retry under a stored id is
  // answered before this), so the document is measured again rather than on every insert.
  const [measured] = await tx.$queryRaw<{ bytes: number }[]>`SELECT octet_length(d.content)::float8 AS bytes FROM (${document}) AS d`;
  return { inserted: false, bytes: measured?.bytes ?? 0 };
}
