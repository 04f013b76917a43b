import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { livenessFlags } from "@reev/db";
import { statementName } from "@reev/db/internal";
import { costUnknownReason, parseConsolidatedContent, renderFlowDiagram } from "@reev/orchestrator";
import { encodeCursor } from "@reev/server";
import type { RawDriver } from "./raw-driver.js";

/**
 * The API scenario's bare side: `node:http` with nothing around it, answering the two measured routes
 * with the SQL reev's routes run, on the raw driver, and writing the JSON they write (the bench checks
 * both sides answer alike before it times them). What `reev serve` costs above it is Hono, zod
 * validation and the reads' plumbing, and for the flow Prisma's query path (the list reads on the
 * driver, as this does). No validation, errors or other routes.
 */

/**
 * The list's statement, as `listExecutionsPage` sends it: the columns a list shows, keyset, one row
 * more than the page written into the SQL (reev rounds it up to a fixed size; the bench's pages of 50
 * fetch 51 on both sides); prepared once per connection under the same kind of name.
 */
const LIST_COLUMNS = `e.execution_id, e.flow_id, e.agent, e.prompt, e.status::text AS status, e.started_at,
  e.finished_at, e.duration_ms, e.error, e.consolidation_status::text AS consolidation_status,
  e.owner_host, e.owner_pid, e.owner_started_at, e.heartbeat_at`;
const listFirst = (fetch: number) =>
  `/* reev:list-executions */ SELECT ${LIST_COLUMNS} FROM execution_sessions e ORDER BY e.started_at DESC, e.execution_id DESC LIMIT ${fetch}`;
const listAfter = (fetch: number) => `/* reev:list-executions */ SELECT ${LIST_COLUMNS} FROM execution_sessions e
  WHERE (e.started_at, e.execution_id) < ($1::timestamptz, $2::varchar) ORDER BY e.started_at DESC, e.execution_id DESC LIMIT ${fetch}`;

/** The newest consolidated session of an execution, with the execution's status: what the flow route reads. */
const FLOW = `SELECT e.execution_id, e.status::text AS status, e.consolidation_status::text AS consolidation_status,
    cs.consolidated_session_id, cs.consolidated_content
  FROM execution_sessions e
  JOIN LATERAL (SELECT consolidated_session_id, consolidated_content FROM consolidated_sessions c
                WHERE c.execution_id = e.execution_id ORDER BY c.created_at DESC, c.id DESC LIMIT 1) cs ON true
  WHERE e.execution_id = $1`;

type ListRow = {
  execution_id: string;
  flow_id: string;
  agent: string;
  prompt: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  error: string | null;
  consolidation_status: string;
  owner_host: string | null;
  owner_pid: number | null;
  owner_started_at: Date | null;
  heartbeat_at: Date | null;
};

type FlowRow = {
  execution_id: string;
  status: string;
  consolidation_status: string;
  consolidated_session_id: string;
  consolidated_content: string;
};

/** reev's API says `timeout` where the database says `timed_out`. */
const apiConsolidation = (status: string) => (status === "timed_out" ? "timeout" : status);
const toTimestamp = (value: Date | string) => (value instanceof Date ? value : new Date(value));
const iso = (value: Date | string | null) => (value === null ? null : toTimestamp(value).toISOString());

/** The list's stale and abandoned flags, by the one rule reev's answers use (a running row's owner looked up). */
function liveness(e: ListRow): { stale: boolean; abandoned: boolean } {
  const date = (value: Date | string | null) => (value === null ? null : toTimestamp(value));
  const owner = e.owner_host && e.owner_pid !== null ? { host: e.owner_host, pid: e.owner_pid, startedAt: date(e.owner_started_at) } : null;
  return livenessFlags({ status: e.status, owner, heartbeatAt: date(e.heartbeat_at), startedAt: toTimestamp(e.started_at) });
}

async function list(raw: RawDriver, url: URL): Promise<unknown> {
  const limit = Number(url.searchParams.get("limit") ?? 50);
  const cursor = url.searchParams.get("cursor");
  // The cursor is [list, started_at, execution_id] (encodePageCursor); the bare handler trusts it.
  const after = cursor ? (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string, string]).slice(1) : undefined;
  const sql = after ? listAfter(limit + 1) : listFirst(limit + 1);
  const rows = await raw.query<ListRow>(sql, after ?? [], statementName({ sql }));
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((e) => ({
      execution_id: e.execution_id,
      flow_id: e.flow_id,
      agent: e.agent,
      prompt: e.prompt,
      status: e.status,
      started_at: iso(e.started_at),
      finished_at: iso(e.finished_at),
      duration_ms: e.duration_ms,
      error: e.error,
      consolidation_status: apiConsolidation(e.consolidation_status),
      ...liveness(e),
    })),
    meta: {
      limit,
      nextCursor:
        rows.length > limit && last ? encodeCursor({ startedAt: toTimestamp(last.started_at), executionId: last.execution_id }) : null,
    },
  };
}

async function flow(raw: RawDriver, id: string): Promise<unknown> {
  const [row] = await raw.query<FlowRow>(FLOW, [id]);
  if (!row) return undefined;
  const content = parseConsolidatedContent(row.consolidated_content);
  const m = content.metadata;
  return {
    execution_id: row.execution_id,
    consolidated_session_id: row.consolidated_session_id,
    diagram: renderFlowDiagram(content),
    metadata: {
      status: row.status,
      consolidation_status: apiConsolidation(row.consolidation_status),
      flow_id: content.flow_id,
      prompt: content.prompt,
      total_steps: m.total_steps,
      successful_steps: m.successful_steps,
      failed_steps: m.failed_steps,
      skipped_steps: m.skipped_steps,
      success_rate: m.success_rate,
      avg_score: m.avg_score,
      total_tools: m.total_tools,
      execution_duration_ms: m.execution_duration_ms,
      total_input_tokens: m.total_input_tokens ?? null,
      total_output_tokens: m.total_output_tokens ?? null,
      cost_usd: m.cost_usd ?? null,
      cost_unknown: m.cost_unknown?.length ? m.cost_unknown : null,
      cost_unknown_reason: costUnknownReason(m.cost_unknown ?? []),
    },
    tool_calls: content.steps.flatMap((step) =>
      step.tool_calls.map((t, callIndex) => ({
        call_index: callIndex,
        tool_name: t.tool_name,
        input: t.input ?? null,
        output: t.output ?? null,
        success: t.success,
        duration_ms: t.duration_ms,
        error: t.error,
        step_index: step.step_index,
      })),
    ),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** The bare server (not listening yet). */
export function createBareApi(raw: RawDriver): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://bare");
    const flowId = url.pathname.startsWith("/api/v1/flows/") ? decodeURIComponent(url.pathname.slice("/api/v1/flows/".length)) : undefined;
    const answer = url.pathname === "/api/v1/executions" ? list(raw, url) : flowId ? flow(raw, flowId) : Promise.resolve(undefined);
    answer.then(
      (body) => (body === undefined ? send(res, 404, { error: "not found" }) : send(res, 200, body)),
      (error: unknown) => send(res, 500, { error: String(error) }),
    );
  });
}
