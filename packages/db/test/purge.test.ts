// Retention (purgeExecutions), on every backend: the report counts exactly the rows that went, table by
// table, and a dry run the same rows while changing nothing; a second purge is a no-op; what must never
// be touched is not (a running execution, an open execution transaction, a consolidation in progress,
// an evaluation still running, a row a writer holds); a consolidation's executions go together or
// stay together; writes to other executions during a purge all land. Each test purges its own flow
// (`flowId`), so tests sharing the file's database never purge each other's runs.
import pg from "pg";
import { describe, expect } from "vitest";
import { prismaClientOf } from "../src/internal.js";
import { consistencyProblems, snapshotTables } from "../src/testing/fault-injection.js";
import { test, testBackends } from "../src/testing/index.js";
import { DAY_MS, flowRows, minus, NOTHING, recordRun, runStep } from "./fixtures/purge-runs.js";
import { expectDbError, uid } from "./helpers.js";

describe.each(testBackends())("purgeExecutions on $name", (backend) => {
  test.override({ backend });

  test("deletes the old finished runs with every row recorded about them, and reports exactly those rows", async ({ db }) => {
    const flowId = uid("flow");
    const old = await Promise.all([
      recordRun(db.writer, { flowId, ageMs: 40 * DAY_MS, steps: 4 }),
      recordRun(db.writer, { flowId, ageMs: 31 * DAY_MS, status: "failed", steps: 2 }),
      recordRun(db.writer, { flowId, ageMs: 90 * DAY_MS, status: "cancelled", steps: 0, consolidate: false }),
    ]);
    const recent = await recordRun(db.writer, { flowId, ageMs: 29 * DAY_MS });
    const running = await recordRun(db.writer, { flowId, ageMs: null });
    const before = await flowRows(db, flowId);

    const dry = await db.writer.purgeExecutions({ olderThanMs: 30 * DAY_MS, flowId, dryRun: true, batchSize: 2 });
    // 3 runs: 6 steps, each with 2 tool calls and 1 attempt; 2 consolidated.
    const expected = { executions: 3, steps: 6, stepAttempts: 6, toolCalls: 12, consolidatedSessions: 2 };
    expect(dry).toMatchObject({ dryRun: true, deleted: expected, complete: true });
    expect(await flowRows(db, flowId)).toEqual(before);

    const report = await db.writer.purgeExecutions({ olderThanMs: 30 * DAY_MS, flowId, batchSize: 2 });
    expect(report).toMatchObject({ dryRun: false, deleted: expected, complete: true });
    // A batch of 2 and one of 1; the transaction that then found none left is not a batch.
    expect(report.batches).toBe(2);
    expect(await flowRows(db, flowId)).toEqual(minus(before, report.deleted));
    const left = await prismaClientOf(db).executionSession.findMany({ where: { flowId }, select: { executionId: true } });
    expect(left.map((e) => e.executionId).sort()).toEqual([recent, running].sort());
    expect(await prismaClientOf(db).executionSession.count({ where: { executionId: { in: old } } })).toBe(0);

    const again = await db.writer.purgeExecutions({ olderThanMs: 30 * DAY_MS, flowId, batchSize: 2 });
    expect(again).toMatchObject({ deleted: NOTHING, batches: 0, complete: true });
    expect(consistencyProblems(await snapshotTables(db))).toEqual([]);
  });

  test("a dry run changes no row of any table", async ({ db }) => {
    const flowId = uid("flow");
    await recordRun(db.writer, { flowId, ageMs: 10 * DAY_MS });
    await recordRun(db.writer, { flowId, ageMs: 0, steps: 5 });
    const before = await snapshotTables(db);
    const attempts = await prismaClientOf(db).stepAttempt.findMany({ orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }] });
    const dry = await db.writer.purgeExecutions({ olderThanMs: 0, flowId, dryRun: true });
    expect(dry.deleted).toEqual({ executions: 2, steps: 8, stepAttempts: 8, toolCalls: 16, consolidatedSessions: 2 });
    expect(await snapshotTables(db)).toEqual(before);
    expect(await prismaClientOf(db).stepAttempt.findMany({ orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }] })).toEqual(attempts);
  });

  test("a purge gathers the planner's statistics for run tables that have none; a dry run leaves them as they are", async ({ db }) => {
    const client = prismaClientOf(db);
    const runTables = ["consolidated_sessions", "execution_sessions", "step_attempts", "step_sessions", "tool_calls"];
    const analyzed = async () =>
      (
        await client.$queryRaw<{ relname: string }[]>`
          SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY(${runTables}::text[])
            AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) ORDER BY relname`
      ).map((r) => r.relname);
    // Forgets when the tables were analyzed, and their changes since: autovacuum sees nothing to do either.
    await client.$queryRaw`SELECT pg_stat_reset()::text`;
    expect(await analyzed()).toEqual([]);
    await db.writer.purgeExecutions({ olderThanMs: 0, flowId: uid("flow"), dryRun: true });
    expect(await analyzed()).toEqual([]);
    await db.writer.purgeExecutions({ olderThanMs: 0, flowId: uid("flow") });
    expect(await analyzed()).toEqual(runTables);
  });

  test("0 means every run that finished before now; --status and the flow narrow it", async ({ db }) => {
    const flowId = uid("flow");
    const failed = await recordRun(db.writer, { flowId, ageMs: 0, status: "failed" });
    const completed = await recordRun(db.writer, { flowId, ageMs: 0, status: "completed" });
    const otherFlow = await recordRun(db.writer, { flowId: uid("flow"), ageMs: 0, status: "failed" });
    const onlyFailed = await db.writer.purgeExecutions({ olderThanMs: 0, flowId, statuses: ["failed", "timed_out"] });
    expect(onlyFailed.deleted.executions).toBe(1);
    const exists = async (id: string) => (await db.writer.getExecutionSession(id)) !== null;
    expect([await exists(failed), await exists(completed), await exists(otherFlow)]).toEqual([false, true, true]);
    expect((await db.writer.purgeExecutions({ olderThanMs: 0, flowId })).deleted.executions).toBe(1);
    expect(await exists(completed)).toBe(false);
    expect(await exists(otherFlow)).toBe(true);
  });

  test("never touches a running run, an open transaction, a consolidation in progress or a running evaluation's run", async ({ db }) => {
    const flowId = uid("flow");
    const old = 50 * DAY_MS;
    const running = await recordRun(db.writer, { flowId, ageMs: null });
    await prismaClientOf(db).executionSession.update({ where: { executionId: running }, data: { startedAt: new Date(Date.now() - old) } });
    const openTransaction = await recordRun(db.writer, { flowId, ageMs: null });
    await db.writer.beginTransaction(openTransaction);
    await db.writer.storeStep(openTransaction, runStep(7));
    // A finished execution with a transaction still open cannot be made through the writer (finishing
    // refuses it): written directly, so that the open transaction alone is what keeps it.
    const finishedOpen = await recordRun(db.writer, { flowId, ageMs: old });
    await prismaClientOf(db).executionSession.update({
      where: { executionId: finishedOpen },
      data: { openTransactionId: crypto.randomUUID(), transactionOpenedAt: new Date() },
    });
    const consolidating = await recordRun(db.writer, { flowId, ageMs: old, consolidate: false });
    await db.writer.setConsolidationStatus(consolidating, "in_progress");
    const evaluationId = uid("eval");
    await db.writer.createEvaluationRun({ id: evaluationId, agent: "purge-test", configuration: {} });
    const evaluated = await recordRun(db.writer, { flowId, ageMs: old, evaluationId });
    const before = await flowRows(db, flowId);

    const report = await db.writer.purgeExecutions({ olderThanMs: 0, flowId });
    expect(report.deleted).toEqual(NOTHING);
    expect(await flowRows(db, flowId)).toEqual(before);

    // Once each is over, it goes.
    await db.writer.finishEvaluationRun(evaluationId, { status: "completed", summary: {} });
    await db.writer.setConsolidationStatus(consolidating, "failed", { error: "gave up" });
    await db.writer.commitTransaction(openTransaction);
    await db.writer.finishExecutionSession(openTransaction, { status: "completed" });
    const after = await db.writer.purgeExecutions({ olderThanMs: 0, flowId });
    expect(after.deleted.executions).toBe(3);
    const left = await prismaClientOf(db).executionSession.findMany({ where: { flowId }, select: { executionId: true } });
    expect(left.map((e) => e.executionId).sort()).toEqual([finishedOpen, running].sort());
    expect(await db.writer.getExecutionSession(evaluated)).toBeNull();
    // The evaluation itself is kept: its summary outlives its runs.
    expect(await db.writer.getEvaluationRun(evaluationId)).not.toBeNull();
  });

  test("a consolidation that lists steps of several executions keeps them together: all go in one batch, or none", async ({ db }) => {
    const flowId = uid("flow");
    const a = await recordRun(db.writer, { flowId, ageMs: 40 * DAY_MS, consolidate: false });
    const b = await recordRun(db.writer, { flowId, ageMs: 1 * DAY_MS });
    const c = await recordRun(db.writer, { flowId, ageMs: 45 * DAY_MS, consolidate: false });
    // Written by another tool than reev (reev lists an execution's own steps only): a's consolidation
    // lists b's steps too; c's steps are listed by b's consolidation (the link seen from the other side).
    const raw = prismaClientOf(db);
    await raw.consolidatedSession.create({
      data: {
        executionId: a,
        consolidatedSessionId: `${a}-joint`,
        consolidatedContent: "{}",
        originalSessionIds: [`${a}_step_0`, `${b}_step_1`],
      },
    });
    await raw.consolidatedSession.update({
      where: { consolidatedSessionId: `${b}-c` },
      data: { originalSessionIds: [`${b}_step_0`, `${c}_step_2`] },
    });

    // b is too recent: a and c are held by it.
    const kept = await db.writer.purgeExecutions({ olderThanMs: 30 * DAY_MS, flowId, batchSize: 1 });
    expect(kept.deleted).toEqual(NOTHING);
    const dry = await db.writer.purgeExecutions({ olderThanMs: 0, flowId, batchSize: 1, dryRun: true });
    expect(dry.deleted).toEqual({ executions: 3, steps: 9, stepAttempts: 9, toolCalls: 18, consolidatedSessions: 2 });
    // All three eligible: they go together, in one batch, even with batches of one.
    const report = await db.writer.purgeExecutions({ olderThanMs: 0, flowId, batchSize: 1 });
    expect(report.deleted).toEqual(dry.deleted);
    expect(report.batches).toBe(1);
    expect(await flowRows(db, flowId)).toEqual(NOTHING);
  });

  test("bad options are refused, naming the field, and nothing is deleted", async ({ db }) => {
    const flowId = uid("flow");
    await recordRun(db.writer, { flowId, ageMs: 10 * DAY_MS });
    const before = await flowRows(db, flowId);
    await expectDbError(db.writer.purgeExecutions({ olderThanMs: -1, flowId }), "VALIDATION", "options.olderThanMs");
    await expectDbError(db.writer.purgeExecutions({ olderThanMs: 1.5, flowId }), "VALIDATION", "options.olderThanMs");
    await expectDbError(
      db.writer.purgeExecutions({ olderThanMs: 0, flowId, statuses: ["running" as "failed"] }),
      "VALIDATION",
      "options.statuses[0]",
    );
    await expectDbError(db.writer.purgeExecutions({ olderThanMs: 0, flowId, batchSize: 0 }), "VALIDATION", "options.batchSize");
    await expectDbError(db.writer.purgeExecutions({ olderThanMs: 0, flowId: "" }), "VALIDATION", "options.flowId");
    expect(await flowRows(db, flowId)).toEqual(before);
  });

  test("steps written to live runs while a purge runs all land, and new runs are kept", async ({ db }) => {
    const flowId = uid("flow");
    const oldRuns = 24;
    for (let i = 0; i < oldRuns; i++) await recordRun(db.writer, { flowId, ageMs: 5 * DAY_MS, steps: 2 });
    const live = await Promise.all([1, 2, 3].map(() => recordRun(db.writer, { flowId, ageMs: null, steps: 0 })));
    const purge = db.writer.purgeExecutions({ olderThanMs: DAY_MS, flowId, batchSize: 2 });
    let purgeDone = false;
    void purge.finally(() => {
      purgeDone = true;
    });
    // Keeps writing until the purge is over (and at least 10 steps per run), finishing a new run too.
    const written = await Promise.all(
      live.map(async (executionId) => {
        let n = 0;
        while (!purgeDone || n < 10) await db.writer.storeStep(executionId, runStep(n++));
        return n;
      }),
    );
    const fresh = await recordRun(db.writer, { flowId, ageMs: 0 });
    const report = await purge;
    expect(report.deleted.executions).toBe(oldRuns);
    for (const [i, executionId] of live.entries()) {
      expect(await prismaClientOf(db).stepSession.count({ where: { executionId } })).toBe(written[i]);
      expect(await prismaClientOf(db).toolCall.count({ where: { executionId } })).toBe(2 * (written[i] as number));
    }
    expect(await db.writer.getExecutionSession(fresh)).not.toBeNull();
    expect((await flowRows(db, flowId)).executions).toBe(live.length + 1);
  });

  test("a signal stops it between batches: the report counts what went, the rest is still there", async ({ db }) => {
    const flowId = uid("flow");
    for (let i = 0; i < 5; i++) await recordRun(db.writer, { flowId, ageMs: 5 * DAY_MS, steps: 1 });
    const stop = new AbortController();
    const report = await db.writer.purgeExecutions(
      { olderThanMs: DAY_MS, flowId, batchSize: 2 },
      { onBatch: () => stop.abort(), signal: stop.signal },
    );
    expect(report).toMatchObject({ complete: false, batches: 1, deleted: { executions: 2, steps: 2 } });
    expect((await flowRows(db, flowId)).executions).toBe(3);
  });

  test("a signal aborted by a timer or a signal handler, not by the purge's own hook, stops it too (on PGlite as well)", async ({ db }) => {
    const flowId = uid("flow");
    for (let i = 0; i < 5; i++) await recordRun(db.writer, { flowId, ageMs: 5 * DAY_MS, steps: 1 });
    const stop = new AbortController();
    // Aborted from the macrotask queue, as Ctrl-C's handler would: it runs only if the purge lets the event loop turn.
    const report = await db.writer.purgeExecutions(
      { olderThanMs: DAY_MS, flowId, batchSize: 2 },
      { onBatch: () => setImmediate(() => stop.abort()), signal: stop.signal },
    );
    expect(report).toMatchObject({ complete: false, batches: 1, deleted: { executions: 2 } });
    expect((await flowRows(db, flowId)).executions).toBe(3);
  });
});

describe.each(testBackends().filter((b) => b.name === "postgres"))("purgeExecutions beside other connections on $name", (backend) => {
  test.override({ backend });

  test("an execution a writer holds locked is passed over, without waiting, and purged once it is free", async ({ db }) => {
    if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
    const flowId = uid("flow");
    const held = await recordRun(db.writer, { flowId, ageMs: 5 * DAY_MS });
    const free = await recordRun(db.writer, { flowId, ageMs: 5 * DAY_MS });
    const holder = new pg.Client({ connectionString: db.target.url });
    await holder.connect();
    try {
      // A consolidation under way, not committed yet: the status it set is invisible, its lock is not.
      await holder.query("BEGIN");
      await holder.query("UPDATE execution_sessions SET consolidation_status = 'in_progress' WHERE execution_id = $1", [held]);
      const report = await db.writer.purgeExecutions({ olderThanMs: DAY_MS, flowId });
      expect(report.deleted.executions).toBe(1);
      expect(await db.writer.getExecutionSession(free)).toBeNull();
      await holder.query("ROLLBACK");
    } finally {
      await holder.end();
    }
    expect(await db.writer.getExecutionSession(held)).not.toBeNull();
    expect((await db.writer.purgeExecutions({ olderThanMs: DAY_MS, flowId })).deleted.executions).toBe(1);
    expect(await db.writer.getExecutionSession(held)).toBeNull();
  });
});
