// consolidateExecution under fault injection: every database statement it makes fails in turn — before
// reaching the database, and (second mode) after running with its reply lost. After each failure the
// consolidation left one complete consolidated row with status `completed`, or none — never a row
// without `completed` or `completed` without a row, and never a status stuck at `in_progress` with
// nobody consolidating; the error is a typed OrchestratorError / DatabaseError; and consolidating
// again under the same id succeeds with exactly one consolidated row. With the writer's own retries
// on, it makes that second attempt itself: the fault is absorbed. Statement counts are not
// hard-coded: N rises until the call completes without reaching the fault.
import { isDeepStrictEqual } from "node:util";
import { type Database, DatabaseError, DatabaseWriter, type StepInput } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import {
  consistencyProblems,
  createFaultInjector,
  describeReport,
  type FaultMode,
  type FaultReport,
  isInjectedFault,
  type Settled,
  settle,
  snapshotTables,
  type TableSnapshot,
} from "@reev/db/testing/fault-injection";
import { afterAll, describe, expect, it } from "vitest";
import { ZConsolidatedContent } from "../src/consolidated-content.js";
import { consolidateExecution } from "../src/consolidation.js";
import { OrchestratorError } from "../src/errors.js";
import { uid } from "./fixtures/executor/support.js";

const MODES: FaultMode[] = ["before", "reply-lost"];
const MAX_STATEMENTS = 100;

const STEPS: StepInput[] = [0, 1, 2].map((i) => ({
  stepIndex: i,
  stepId: `step_${i}`,
  status: i === 1 ? "failed" : "success",
  score: i / 2,
  startedAt: `2025-03-01T10:00:0${i * 2}.000Z`,
  finishedAt: `2025-03-01T10:00:0${i * 2 + 1}.000Z`,
  content: JSON.stringify({ step: i }),
  toolCalls: Array.from({ length: i + 1 }, (_, c) => ({ toolName: `tool_${i}_${c}`, input: { c }, success: true })),
}));

const describeError = (e: unknown) =>
  e instanceof OrchestratorError || e instanceof DatabaseError
    ? `${e.name} ${e.code}: ${e.message}`
    : e instanceof Error
      ? `${e.name}: ${e.message}`
      : String(e);

/** The execution's consolidation as the tables tell it: its status and its consolidated rows. */
function consolidationOf(s: TableSnapshot, executionId: string) {
  const execution = s.executions.find((e) => e.executionId === executionId);
  return { status: execution?.consolidationStatus, rows: s.consolidated.filter((c) => c.executionId === executionId) };
}

const faults = createFaultInjector();
// The writer's own retries off, so that each fault reaches consolidateExecution (the last test turns them on).
test.override({ databaseOptions: { wrapAdapter: faults.wrapAdapter, writer: { retry: { maxAttempts: 1 } } } });

describe.each(testBackends())("consolidateExecution under injected faults on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });
  afterAll(() => {
    faults.disarm();
  });

  /** A finished execution with three committed steps, ready to consolidate. */
  async function finishedExecution(): Promise<string> {
    const executionId = uid("cf");
    await db.writer.createExecutionSession({ executionId, flowId: "fault-flow", agent: "scripted", prompt: "consolidate me" });
    for (const step of STEPS) await db.writer.storeStep(executionId, step);
    await db.writer.finishExecutionSession(executionId, { status: "failed", error: "step 1 failed" });
    return executionId;
  }

  /** Exactly one consolidated row, complete and right, and the status says completed. */
  async function expectConsolidatedOnce(executionId: string, consolidatedSessionId: string, where: string) {
    const rows = await db.writer.getConsolidatedSessionsByExecution(executionId);
    expect(
      rows.map((r) => r.consolidatedSessionId),
      where,
    ).toEqual([consolidatedSessionId]);
    const row = rows[0]!;
    expect(row.originalSessionIds, where).toEqual(STEPS.map((s) => `${executionId}_step_${s.stepIndex}`));
    expect({ totalTools: row.totalTools, successRate: row.successRate }, where).toEqual({ totalTools: 6, successRate: (2 / 3) * 100 });
    const document = ZConsolidatedContent.parse(JSON.parse(row.consolidatedContent));
    expect(
      document.steps.map((s) => [s.step_index, s.tool_count]),
      where,
    ).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect((await db.writer.getExecutionSession(executionId))?.consolidation, where).toMatchObject({ status: "completed", error: null });
  }

  it.each(MODES)("%s: all or nothing, never stuck in_progress, a typed error, then a retry consolidates exactly once", async (mode) => {
    let faultsHit = 0;
    for (let n = 1; n <= MAX_STATEMENTS; n++) {
      const executionId = await finishedExecution();
      // A fixed id, as a caller retrying "the same consolidation" would pass: the retry must not make a second row.
      const consolidatedSessionId = `${executionId}_consolidated`;
      const run = () => consolidateExecution(db, executionId, { consolidatedSessionId, timeoutMs: 30_000 });
      const before = await snapshotTables(db);

      faults.arm({ at: n, mode });
      let first: Settled<unknown>;
      let report: FaultReport;
      try {
        first = await settle(run());
      } finally {
        report = faults.disarm();
      }
      const where = `${mode}, fault at statement ${n}:\n  ${describeReport(report)}`;

      if (!report.fired) {
        if (!first.ok) throw new Error(`no fault fired, yet consolidation failed (${where}): ${describeError(first.error)}`);
        expect(first.value, where).toMatchObject({ consolidatedSessionId });
        await expectConsolidatedOnce(executionId, consolidatedSessionId, where);
        expect(faultsHit, "the loop finished without hitting a single fault").toBeGreaterThan(0);
        return;
      }
      faultsHit++;

      if (first.ok) throw new Error(`consolidation succeeded although statement ${n} failed (${where})`);
      expect(
        first.error instanceof OrchestratorError || first.error instanceof DatabaseError,
        `${where}\n  ${describeError(first.error)}`,
      ).toBe(true);
      expect(isInjectedFault(first.error), where).toBe(true);

      const after = await snapshotTables(db);
      expect(consistencyProblems(after), where).toEqual([]);
      const left = consolidationOf(after, executionId);
      // All or nothing: a row goes with `completed`, and no row with anything else.
      expect
        .soft({ rows: left.rows.length, completed: left.status === "completed" }, `status ${left.status}, ${where}`)
        .toEqual(left.rows.length ? { rows: 1, completed: true } : { rows: 0, completed: false });
      // Nobody is consolidating any more: `in_progress` now would be reev's "in progress forever".
      expect.soft(left.status, `status after the failed consolidation, ${where}\n  ${describeError(first.error)}`).not.toBe("in_progress");
      if (mode === "before") expect(left.rows, where).toEqual([]);
      // Nothing but the consolidation changed: the steps and the execution's own fields are as they were.
      expect(after.steps, where).toEqual(before.steps);
      expect(after.toolCalls, where).toEqual(before.toolCalls);

      const retry = await settle(run());
      if (!retry.ok) {
        const final = await snapshotTables(db);
        expect
          .soft(
            retry.ok,
            `the retry failed (${where})\n  the faulted attempt had ${left.rows.length ? "stored the row" : "stored nothing"}; the retry: ${describeError(retry.error)}`,
          )
          .toBe(true);
        expect.soft(consolidationOf(final, executionId), `what the failed retry left, ${where}`).toEqual(left);
        continue;
      }
      await expectConsolidatedOnce(executionId, consolidatedSessionId, `retry, ${where}`);
      if (left.rows.length) {
        // The first attempt had stored it: the retry is the same consolidation, not a new one.
        expect(consolidationOf(await snapshotTables(db), executionId).rows, where).toEqual(left.rows);
      }
      expect(isDeepStrictEqual(consistencyProblems(await snapshotTables(db)), []), where).toBe(true);
    }
    throw new Error(`consolidateExecution did not complete within ${MAX_STATEMENTS} statements`);
  });

  it.each(MODES)("%s, the writer retrying by itself: one fault anywhere is absorbed, one consolidated row", async (mode) => {
    const retrying = { writer: new DatabaseWriter(prismaClientOf(db), { retry: { minDelayMs: 1, maxDelayMs: 5 } }) };
    let faultsHit = 0;
    for (let n = 1; n <= MAX_STATEMENTS; n++) {
      const executionId = await finishedExecution();
      const consolidatedSessionId = `${executionId}_consolidated`;
      faults.arm({ at: n, mode });
      let result: Settled<unknown>;
      let report: FaultReport;
      try {
        result = await settle(consolidateExecution(retrying, executionId, { consolidatedSessionId, timeoutMs: 30_000 }));
      } finally {
        report = faults.disarm();
      }
      const where = `${mode}, fault at statement ${n}:\n  ${describeReport(report)}`;
      if (!result.ok) throw new Error(`the writer did not absorb the fault (${where}): ${describeError(result.error)}`);
      await expectConsolidatedOnce(executionId, consolidatedSessionId, where);
      expect(consistencyProblems(await snapshotTables(db)), where).toEqual([]);
      if (!report.fired) {
        expect(faultsHit, "the loop finished without hitting a single fault").toBeGreaterThan(0);
        return;
      }
      faultsHit++;
    }
    throw new Error(`consolidateExecution did not complete within ${MAX_STATEMENTS} statements`);
  });

  // Minimal reproduction of what the reply-lost loop reports at the consolidation's COMMIT, without any
  // fault: the second call under the same id is refused, and on its way out marks the consolidation that
  // is stored and complete as failed.
  it("minimal: consolidating again under the same id leaves a completed consolidation completed", async () => {
    const executionId = await finishedExecution();
    const consolidatedSessionId = `${executionId}_consolidated`;
    await consolidateExecution(db, executionId, { consolidatedSessionId });
    await settle(consolidateExecution(db, executionId, { consolidatedSessionId }));
    await expectConsolidatedOnce(executionId, consolidatedSessionId, "after the second call");
  });
});
