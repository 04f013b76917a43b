// The migration that keys every run table by execution_id keeps the data: a database populated under
// the previous migration (executions finished and running, an open transaction with pending steps,
// steps with and without tool calls, JSON and SQL nulls, consolidated sessions) is migrated, and every
// row of every table is compared, column by column, before and after. A tool call's execution_id and
// step_index come from the step it belonged to.
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrateDeploy } from "../src/internal.js";
import { type MigrationBackend, migrationBackends } from "./migration-backends.js";

const KEYS_MIGRATION = "20261203100000_keys_by_execution";

/** Under the previous schema: tool_calls keyed by their own id, pointing at steps by session_id. */
const POPULATE = [
  `INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, status, started_at, finished_at, duration_ms, metadata,
     open_transaction_id, transaction_opened_at, last_transaction_id, last_transaction_outcome, consolidation_status, consolidation_error)
   SELECT 'exec-' || i, 'flow-' || (i % 3), 'agent', 'prompt ' || i,
     (CASE WHEN i % 4 = 0 THEN 'running' WHEN i % 4 = 1 THEN 'completed' WHEN i % 4 = 2 THEN 'failed' ELSE 'timed_out' END)::execution_status,
     timestamptz '2026-01-01' + i * interval '1 minute',
     CASE WHEN i % 4 <> 0 THEN timestamptz '2026-01-01' + i * interval '1 minute' + interval '7 seconds' END,
     CASE WHEN i % 4 <> 0 THEN 7000 END,
     CASE WHEN i % 2 = 0 THEN jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'ü')) END,
     CASE WHEN i = 8 THEN md5('open')::uuid END, CASE WHEN i = 8 THEN timestamptz '2026-01-02' END,
     CASE WHEN i % 5 = 0 THEN md5(i::text)::uuid END, CASE WHEN i % 5 = 0 THEN 'committed'::transaction_outcome END,
     (CASE WHEN i % 4 = 1 THEN 'completed' WHEN i % 4 = 2 THEN 'failed' ELSE 'pending' END)::consolidation_status,
     CASE WHEN i % 4 = 2 THEN 'no steps' END
   FROM generate_series(1, 24) AS i`,
  // Execution 8 has its transaction open: its last three steps are pending in it.
  `INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, transaction_id, step_id, status,
     score, started_at, finished_at, duration_ms, error, created_at, committed_at)
   SELECT e || '_step_' || s, e, s, 'content ' || e || ' ' || s || ' ✓', lpad(to_hex(i * 100 + s), 64, '0'),
     (CASE WHEN pending THEN 'pending' ELSE 'committed' END)::step_state, CASE WHEN pending THEN md5('open')::uuid END,
     CASE WHEN s % 3 <> 0 THEN 'step-' || s END,
     (CASE WHEN s % 3 = 0 THEN NULL WHEN s % 3 = 1 THEN 'success' ELSE 'failed' END)::step_status,
     CASE WHEN s % 2 = 0 THEN s / 10.0 END, timestamptz '2026-01-01' + s * interval '1 second', NULL,
     CASE WHEN s % 2 = 1 THEN s * 10 END, CASE WHEN s % 3 = 2 THEN 'boom ' || s END,
     timestamptz '2026-01-01' + i * interval '1 minute', CASE WHEN NOT pending THEN timestamptz '2026-01-01' + i * interval '1 minute' END
   FROM generate_series(1, 24) AS i
     CROSS JOIN LATERAL (SELECT 'exec-' || i AS e) AS x
     CROSS JOIN generate_series(0, 11) AS s
     CROSS JOIN LATERAL (SELECT i = 8 AND s >= 9 AS pending) AS p`,
  // 0–3 tool calls a step (none when step_index % 4 = 0), inserted out of key order so ids and keys disagree.
  `INSERT INTO tool_calls (session_id, call_index, tool_name, input, output, success, duration_ms, error)
   SELECT s.session_id, c, 'tool-' || c, CASE WHEN c = 1 THEN NULL ELSE jsonb_build_object('q', s.step_index, 'n', c) END,
     CASE WHEN c = 2 THEN 'null'::jsonb WHEN c = 0 THEN jsonb_build_array(1, 'two') END,
     CASE WHEN c = 0 THEN true WHEN c = 1 THEN false END, CASE WHEN c <> 2 THEN c * 3 END, CASE WHEN c = 1 THEN 'failed' END
   FROM step_sessions s CROSS JOIN generate_series(0, 2) AS c
   WHERE c < s.step_index % 4
   ORDER BY md5(s.session_id || c)`,
  `INSERT INTO consolidated_sessions (execution_id, consolidated_session_id, consolidated_content, original_session_ids, created_at,
     avg_score, total_tools, success_rate, execution_duration_ms)
   SELECT e.execution_id, e.execution_id || '_consolidated_' || n, '{"n": ' || n || '}',
     (SELECT jsonb_agg(session_id ORDER BY step_index) FROM step_sessions WHERE execution_id = e.execution_id AND state = 'committed'),
     timestamptz '2026-02-01' + n * interval '1 hour', CASE WHEN n = 1 THEN 0.5 END, 12, 66.7, e.duration_ms
   FROM execution_sessions e CROSS JOIN generate_series(1, 2) AS n WHERE e.consolidation_status = 'completed'`,
];

/** Every table's rows as JSON text, in a stable order; tool calls named by their step's key in both schemas. */
const EXECUTIONS = `SELECT row_to_json(e)::text AS row FROM execution_sessions e ORDER BY execution_id`;
const STEPS = `SELECT row_to_json(s)::text AS row FROM step_sessions s ORDER BY execution_id, step_index`;
const CONSOLIDATED = `SELECT row_to_json(c)::text AS row FROM consolidated_sessions c ORDER BY id`;
const CALL_COLUMNS = `t.call_index, t.tool_name, t.input, t.output, t.success, t.duration_ms, t.error`;
const CALLS_BEFORE = `SELECT row_to_json(r)::text AS row FROM (
    SELECT s.execution_id, s.step_index, ${CALL_COLUMNS} FROM tool_calls t JOIN step_sessions s ON s.session_id = t.session_id
  ) r ORDER BY execution_id, step_index, call_index`;
const CALLS_AFTER = `SELECT row_to_json(r)::text AS row FROM (SELECT t.execution_id, t.step_index, ${CALL_COLUMNS} FROM tool_calls t) r
  ORDER BY execution_id, step_index, call_index`;

type Tables = { executions: unknown[]; steps: unknown[]; toolCalls: unknown[]; consolidated: unknown[] };

async function tables(db: MigrationBackend, calls: string): Promise<Tables> {
  const rows = async (sql: string) => (await db.query(sql)).map((r) => JSON.parse(String(r.row)) as unknown);
  return {
    executions: await rows(EXECUTIONS),
    steps: await rows(STEPS),
    toolCalls: await rows(calls),
    consolidated: await rows(CONSOLIDATED),
  };
}

describe.each(migrationBackends({ migrated: false }))("the keys migration on $name", ({ open }) => {
  let scratch: string;
  let previous: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "reev-keys-migration-"));
    previous = join(scratch, "migrations");
    cpSync(MIGRATIONS_DIR, previous, { recursive: true });
    rmSync(join(previous, KEYS_MIGRATION), { recursive: true });
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("migrates a populated database and keeps every row, column for column", { timeout: 120_000 }, async () => {
    const db = await open();
    try {
      const earlier = readdirSync(previous, { withFileTypes: true }).filter((d) => d.isDirectory());
      expect((await migrateDeploy(db.factory(), { migrationsDir: previous })).appliedMigrationNames).toHaveLength(earlier.length);
      for (const sql of POPULATE) await db.query(sql);
      const before = await tables(db, CALLS_BEFORE);
      expect(before.executions).toHaveLength(24);
      expect(before.steps).toHaveLength(24 * 12);
      // Steps 1, 2, 3 of every four have 1, 2, 3 tool calls.
      expect(before.toolCalls).toHaveLength(24 * 3 * (1 + 2 + 3));
      expect(before.consolidated).toHaveLength(12);

      expect(await migrateDeploy(db.factory())).toEqual({ appliedMigrationNames: [KEYS_MIGRATION] });
      const after = await tables(db, CALLS_AFTER);
      expect(after).toEqual(before);

      // The old columns are gone, the new keys hold: a tool call must belong to an existing step…
      expect(
        await db.query(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'tool_calls' AND column_name IN ('id', 'session_id')`,
        ),
      ).toEqual([]);
      await expect(
        db.query(`INSERT INTO tool_calls (execution_id, step_index, call_index, tool_name) VALUES ('exec-1', 99, 0, 't')`),
      ).rejects.toThrow(/foreign key/);
      // …deleting a step takes its tool calls with it, and consolidated ids keep counting from where they were.
      await db.query(`DELETE FROM step_sessions WHERE execution_id = 'exec-1' AND step_index = 3`);
      expect(await db.query(`SELECT count(*)::int AS n FROM tool_calls WHERE execution_id = 'exec-1' AND step_index = 3`)).toEqual([
        { n: 0 },
      ]);
      const [{ top }] = (await db.query(`SELECT max(id) AS top FROM consolidated_sessions`)) as [{ top: number }];
      const [inserted] = await db.query(
        `INSERT INTO consolidated_sessions (execution_id, consolidated_session_id, consolidated_content, original_session_ids)
         VALUES ('exec-1', 'exec-1_new', '{}', '[]') RETURNING id`,
      );
      expect(inserted?.id).toBe(top + 1);
    } finally {
      await db.close();
    }
  });
});
