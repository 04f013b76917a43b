// The indexes serve the queries that run. On PostgreSQL, with 100,000 executions, a million steps and a
// million tool calls made in SQL (and ANALYZEd, so the planner knows how big the tables are), the
// writer's own calls on the step-write, consolidation, read, list, recovery and retention paths are recorded as
// they reach the driver — the very SQL and arguments — and each is EXPLAINed: none may read
// step_sessions or tool_calls with a sequential scan. And on the step-write, consolidation and read
// paths every read of a run table is by execution_id, so each query is one shard's work once the run
// tables are distributed by it (docs/scaling.md); the list and recovery's scan for open transactions
// span executions by nature, and reading a consolidated session by its id alone is the named exception.
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapter, SqlQuery } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { describe, expect } from "vitest";
import type { ConsolidationBuilder, Database, StepInput } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { createFaultInjector, type StatementRecord } from "../src/testing/fault-injection.js";
import { test, testBackends } from "../src/testing/index.js";

const EXECUTIONS = 100_000;
const STEPS_PER_EXECUTION = 10;
/** The big tables: a sequential scan of either grows with every run ever stored. */
const WATCHED = new Set(["step_sessions", "tool_calls"]);
/** The tables distributed by execution_id once one server is not enough. */
const RUN_TABLES = new Set(["execution_sessions", "step_sessions", "tool_calls", "consolidated_sessions"]);

/**
 * Every tenth execution is running, every hundredth has a transaction open with its last two steps
 * pending; every step has a tool call; every finished execution has a consolidated session.
 */
const FILL = [
  `INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, status, started_at, finished_at, duration_ms,
     open_transaction_id, transaction_opened_at, consolidation_status)
   SELECT 'exec-' || lpad(i::text, 6, '0'), 'flow-' || (i % 100), 'agent', 'prompt',
     (CASE WHEN i % 10 = 0 THEN 'running' ELSE 'completed' END)::execution_status,
     timestamptz '2025-01-01' + i * interval '1 minute',
     CASE WHEN i % 10 <> 0 THEN timestamptz '2025-01-01' + i * interval '1 minute' + interval '30 seconds' END,
     CASE WHEN i % 10 <> 0 THEN 30000 END,
     CASE WHEN i % 100 = 0 THEN md5(i::text)::uuid END,
     CASE WHEN i % 100 = 0 THEN timestamptz '2025-01-01' + i * interval '1 minute' END,
     (CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'completed' END)::consolidation_status
   FROM generate_series(1, ${EXECUTIONS}) AS i`,
  `INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, transaction_id, status, committed_at)
   SELECT e || '_step_' || s, e, s, 'step ' || s, md5(e || s) || md5(s || e),
     (CASE WHEN pending THEN 'pending' ELSE 'committed' END)::step_state,
     CASE WHEN pending THEN md5(i::text)::uuid END,
     'success'::step_status, CASE WHEN NOT pending THEN now() END
   FROM generate_series(1, ${EXECUTIONS}) AS i
     CROSS JOIN LATERAL (SELECT 'exec-' || lpad(i::text, 6, '0') AS e) AS x
     CROSS JOIN generate_series(0, ${STEPS_PER_EXECUTION - 1}) AS s
     CROSS JOIN LATERAL (SELECT i % 100 = 0 AND s >= ${STEPS_PER_EXECUTION - 2} AS pending) AS p`,
  `INSERT INTO tool_calls (execution_id, step_index, call_index, tool_name, input, success, duration_ms)
   SELECT execution_id, step_index, 0, 'tool', '{"n": 1}'::jsonb, true, 5 FROM step_sessions`,
  `INSERT INTO consolidated_sessions (execution_id, consolidated_session_id, consolidated_content, original_session_ids, created_at)
   SELECT execution_id, execution_id || '_consolidated', '{}', '[]'::jsonb, finished_at FROM execution_sessions WHERE status = 'completed'`,
  "ANALYZE",
];

const executionId = (i: number) => `exec-${String(i).padStart(6, "0")}`;
const step = (stepIndex: number, tag = "new"): StepInput => ({
  stepIndex,
  status: "success",
  content: `${tag} ${stepIndex}`,
  toolCalls: [{ toolName: "t", input: { stepIndex } }],
});
const build: ConsolidationBuilder = ({ steps }) => ({ content: `${steps.length} steps`, metadata: { totalTools: steps.length } });

type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Recheck Cond"?: string;
  Filter?: string;
  Plans?: PlanNode[];
};

/** A scan of a run table that does not narrow it by execution_id (in its index condition or its filter). */
function readsWithoutExecutionId(node: PlanNode): boolean {
  if (!RUN_TABLES.has(node["Relation Name"] ?? "") || !node["Node Type"].includes("Scan")) return false;
  const conditions = [node["Index Cond"], node["Recheck Cond"], node.Filter, ...(node.Plans ?? []).map((p) => p["Index Cond"])];
  return !conditions.some((c) => c?.includes("execution_id"));
}

function* nodesOf(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodesOf(child);
}

/** What EXPLAIN says the statement would do, planned with its real arguments (a custom plan, as when it runs). */
async function plan(adapter: SqlDriverAdapter, query: SqlQuery): Promise<PlanNode> {
  const result = await adapter.queryRaw({ ...query, sql: `EXPLAIN (FORMAT JSON) ${query.sql}` });
  const cell = result.rows[0]?.[0];
  const document = (typeof cell === "string" ? JSON.parse(cell) : cell) as { Plan: PlanNode }[];
  return document[0]!.Plan;
}

const recorder = createFaultInjector();
test.override({ databaseOptions: { wrapAdapter: recorder.wrapAdapter } });

// A suite of its own even when skipped: a file that registers none fails vitest's run ("No test suite
// found"), and `pnpm test` without REEV_TEST_DATABASE_URL must pass on PGlite alone.
const postgres = testBackends().filter((b) => b.name === "postgres");
describe.skipIf(postgres.length === 0)("PostgreSQL only: set REEV_TEST_DATABASE_URL", () => {
  describe.each(postgres)("query plans on $name at scale", (backend) => {
    test.override({ backend });

    /** Runs `calls` with every statement recorded; returns the queries (not BEGIN / COMMIT). */
    async function recorded(calls: () => Promise<unknown>): Promise<StatementRecord[]> {
      recorder.record();
      let statements: StatementRecord[] = [];
      try {
        await calls();
      } finally {
        statements = recorder.disarm().statements;
      }
      // Not a query to plan: the dry run's SET TRANSACTION READ ONLY.
      return statements.filter((s) => s.kind === "query" && s.query && !/^\s*SET\b/i.test(s.query.sql));
    }

    /** The path's queries that would read a watched table sequentially, with the plan's node named. */
    async function sequentialScans(adapter: SqlDriverAdapter, statements: StatementRecord[]): Promise<string[]> {
      const found: string[] = [];
      for (const statement of statements) {
        for (const node of nodesOf(await plan(adapter, statement.query!))) {
          if (node["Node Type"] === "Seq Scan" && WATCHED.has(node["Relation Name"] ?? "")) {
            found.push(`Seq Scan on ${node["Relation Name"]}: ${statement.query!.sql.replace(/\s+/g, " ").slice(0, 300)}`);
          }
        }
      }
      return found;
    }

    /** The path's reads of a run table that are not narrowed to one execution, with the plan's node named. */
    async function crossExecutionReads(adapter: SqlDriverAdapter, statements: StatementRecord[]): Promise<string[]> {
      const found: string[] = [];
      for (const statement of statements) {
        for (const node of nodesOf(await plan(adapter, statement.query!))) {
          if (readsWithoutExecutionId(node)) {
            const how = `${node["Node Type"]} on ${node["Relation Name"]}${node["Index Name"] ? ` using ${node["Index Name"]}` : ""}`;
            found.push(`${how}: ${statement.query!.sql.replace(/\s+/g, " ").slice(0, 300)}`);
          }
        }
      }
      return found;
    }

    // Filled once for the file, before its tests: a plan for tables of a few rows would say nothing.
    test.beforeAll(async ({ databases }) => {
      await fill(await databases.get(backend));
    }, 300_000);

    async function fill(db: Database): Promise<void> {
      const prisma = prismaClientOf(db);
      for (const sql of FILL) await prisma.$executeRawUnsafe(sql);
      const [counts] = await prisma.$queryRaw<{ executions: number; steps: number; calls: number }[]>`
      SELECT (SELECT count(*)::int FROM execution_sessions) AS executions, (SELECT count(*)::int FROM step_sessions) AS steps,
        (SELECT count(*)::int FROM tool_calls) AS calls`;
      expect(counts).toEqual({ executions: EXECUTIONS, steps: EXECUTIONS * STEPS_PER_EXECUTION, calls: EXECUTIONS * STEPS_PER_EXECUTION });
    }

    test("no query of the step-write, consolidation, read, list, recovery or retention path scans step_sessions or tool_calls; those of the step-write, consolidation and read paths read run tables by execution_id", {
      timeout: 300_000,
    }, async ({ db }) => {
      if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
      const w = db.writer;
      const running = executionId(10); // running, no transaction open
      const transactional = executionId(20); // running, a transaction open below
      const withPending = executionId(100); // running, a transaction open with two pending steps (from the fill)
      const finished = executionId(7); // completed, consolidated

      const paths: Record<string, () => Promise<unknown>> = {
        "step writes": async () => {
          await w.storeStep(running, step(10));
          await w.storeStep(running, step(10)); // the same again: found, a no-op
          await w.storeStepSession(running, 11, '{"step_id": "s", "success": true, "tool_calls": ["a"]}');
          await w.storeSteps(running, [step(12), step(13)], { transactionId: null });
          const transactionId = await w.beginTransaction(transactional);
          await w.storeStep(transactional, step(10, "first"), { transactionId });
          await w.storeStep(transactional, step(10, "replaced"), { transactionId }); // a pending step replaced
          await w.commitTransaction(transactional, { transactionId });
        },
        consolidation: async () => {
          await w.consolidate({
            executionId: running,
            consolidatedSessionId: `${running}_c`,
            build,
            deadline: new Date(Date.now() + 60_000),
          });
          await w.consolidate({
            executionId: running,
            consolidatedSessionId: `${running}_c`,
            build,
            deadline: new Date(Date.now() + 60_000),
          });
          await w.storeConsolidatedSession(`${running}_c2`, running, "seed's way", {});
          await w.storeConsolidatedSession(`${running}_c2`, running, "seed's way", {}); // the same again: found, a no-op
          await w.setConsolidationStatus(running, "completed", { expected: "completed" });
        },
        reads: async () => {
          await w.getExecutionSession(finished);
          await w.getSessionsForConsolidation(finished);
          await w.getConsolidatedSessionsByExecution(finished);
          await w.getConsolidatedSession(`${finished}_consolidated`, finished);
        },
        list: async () => {
          await w.listExecutionSessions();
          await w.listExecutionSessions({ status: "running", limit: 20 });
          await w.listExecutionSessions({ flowId: "flow-42", offset: 100 });
          await w.listExecutionSessions({ flowId: "flow-42", status: "completed" });
          // By its id alone: the one read that may span executions (the exception docs/scaling.md names).
          await w.getConsolidatedSession(`${finished}_consolidated`);
        },
        recovery: async () => {
          // Runs with no owner recorded (the fill's) count as abandoned with olderThanMs: all 10,000 running ones.
          expect((await w.listAbandonedExecutions({ olderThanMs: 0 })).length).toBe(EXECUTIONS / 10);
          await w.heartbeat(running);
          await w.listOpenTransactions();
          const recovered = await w.recoverOpenTransactions({ olderThanMs: 0 });
          expect(recovered.find((r) => r.executionId === withPending)).toMatchObject({ pendingSteps: 2 });
          const transactionId = await w.beginTransaction(withPending);
          await w.storeStep(withPending, step(20), { transactionId });
          await w.rollbackTransaction(withPending, { transactionId });
          await w.finishExecutionSession(withPending, { status: "failed", error: "gave up", durationMs: 1 });
        },
        // One flow's 1,000 finished runs: found by the (finished_at, execution_id) index, deleted by execution_id.
        retention: async () => {
          expect((await w.purgeExecutions({ olderThanMs: 0, flowId: "flow-99", dryRun: true })).deleted.steps).toBe(10_000);
          expect((await w.purgeExecutions({ olderThanMs: 0, flowId: "flow-99", batchSize: 400 })).deleted.executions).toBe(1_000);
        },
      };

      /** One shard's work each, once distributed. */
      const perExecution = new Set(["step writes", "consolidation", "reads"]);

      const adapter = await new PrismaPg({ connectionString: db.target.url }).connect();
      try {
        const scans: Record<string, string[]> = {};
        const crossing: Record<string, string[]> = {};
        for (const [name, calls] of Object.entries(paths)) {
          const statements = await recorded(calls);
          expect(statements.length, `${name}: statements recorded`).toBeGreaterThan(3);
          scans[name] = await sequentialScans(adapter, statements);
          if (perExecution.has(name)) crossing[name] = await crossExecutionReads(adapter, statements);
        }
        expect(scans).toEqual({ "step writes": [], consolidation: [], reads: [], list: [], recovery: [], retention: [] });
        expect(crossing).toEqual({ "step writes": [], consolidation: [], reads: [] });
      } finally {
        await adapter.dispose();
      }
    });

    test("the execution_id check can fail: reading a consolidated session by its id alone reads consolidated_sessions across executions", async ({
      db,
    }) => {
      if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
      const byId = await recorded(() => db.writer.getConsolidatedSession(`${executionId(7)}_consolidated`));
      const byKey = await recorded(() => db.writer.getConsolidatedSession(`${executionId(7)}_consolidated`, executionId(7)));
      const adapter = await new PrismaPg({ connectionString: db.target.url }).connect();
      try {
        expect(await crossExecutionReads(adapter, byId)).toEqual([
          expect.stringMatching(/^Index Scan on consolidated_sessions using consolidated_sessions_consolidated_session_id_key: /),
        ]);
        expect(await crossExecutionReads(adapter, byKey)).toEqual([]);
      } finally {
        await adapter.dispose();
      }
    });

    test("the check can fail: without the (execution_id, step_index) index, reading one execution's steps scans step_sessions", async ({
      db,
    }) => {
      if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
      const statements = await recorded(() => db.writer.getSessionsForConsolidation(executionId(7)));
      const adapter = await new PrismaPg({ connectionString: db.target.url }).connect();
      const client = new pg.Client({ connectionString: db.target.url });
      await client.connect();
      try {
        expect(await sequentialScans(adapter, statements)).toEqual([]);
        // Dropped in a transaction that is rolled back: the index is back for whatever runs next.
        await client.query("BEGIN");
        // The primary key, and the tool calls' foreign key that needs it.
        await client.query('ALTER TABLE step_sessions DROP CONSTRAINT "step_sessions_pkey" CASCADE');
        const scanned: string[] = [];
        for (const { query } of statements) {
          const { rows } = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${query!.sql}`, query!.args);
          for (const node of nodesOf(rows[0]!["QUERY PLAN"][0]!.Plan))
            if (node["Node Type"] === "Seq Scan") scanned.push(node["Relation Name"]!);
        }
        expect(scanned).toContain("step_sessions");
      } finally {
        await client.query("ROLLBACK").catch(() => {});
        await client.end();
        await adapter.dispose();
      }
    });
  });
});
