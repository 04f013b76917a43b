// Port of reev's crates/reev-db/tests/consolidation_test.rs (test_consolidation_database_methods,
// test_session_log_structure), on every test backend. Its test_consolidation_metadata and hand-built
// SessionLog checked serde itself; ported, they would test zod, not the writer, so they are not.
import { describe, expect } from "vitest";
import { type ConsolidationMetadata, type SessionLog, ZConsolidatedSessionLog, ZSessionLog } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, uid } from "./helpers.js";

const STEP_YAML = (stepId: string, extra = "") =>
  `step_id: ${stepId}\nsuccess: true\ntool_calls: ["get_account_balance"]\noutput: {"step": 0, "data": "test_data"}\nexecution_time_ms: 1000\n${extra}`;

describe.each(testBackends())("consolidation_test.rs port on $name", (backend) => {
  test.override({ backend });

  test("test_consolidation_database_methods", async ({ db }) => {
    const w = db.writer;
    const executionId = await createExecution(w);

    // store step 1 → visible to consolidation
    await w.storeStepSession(executionId, 1, STEP_YAML("step_1"));
    const sessions = await w.getSessionsForConsolidation(executionId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ sessionId: `${executionId}_step_1`, stepIndex: 1, content: STEP_YAML("step_1") });

    // store consolidated with (0.85, 5, 100.0, 30000) → returned exactly
    const consolidatedId = uid("consolidated");
    const content = '{"summary": "Consolidated Session", "steps": 1}\n  trailing  spaces\tand\ttabs ✅';
    const metadata: ConsolidationMetadata = { avgScore: 0.85, totalTools: 5, successRate: 100.0, executionDurationMs: 30000 };
    await w.storeConsolidatedSession(consolidatedId, executionId, content, metadata);
    expect(await w.getConsolidatedSession(consolidatedId)).toBe(content);
    const [stored] = await w.getConsolidatedSessionsByExecution(executionId);
    expect(stored).toMatchObject({ consolidatedSessionId: consolidatedId, ...metadata, originalSessionIds: [`${executionId}_step_1`] });

    // begin, store step 2, commit → visible
    await w.beginTransaction(executionId);
    await w.storeStepSession(executionId, 2, STEP_YAML("step_2"));
    await w.commitTransaction(executionId);
    expect((await w.getSessionsForConsolidation(executionId)).map((s) => s.stepIndex)).toEqual([1, 2]);

    // begin, store step 3 "this will be rolled back", rollback → no content contains it
    await w.beginTransaction(executionId);
    await w.storeStepSession(executionId, 3, "this will be rolled back");
    await w.rollbackTransaction(executionId);
    const after = await w.getSessionsForConsolidation(executionId);
    expect(after.map((s) => s.stepIndex)).toEqual([1, 2]);
    expect(after.some((s) => s.content.includes("this will be rolled back"))).toBe(false);
    expect(await prismaClientOf(db).stepSession.count({ where: { content: { contains: "this will be rolled back" } } })).toBe(0);
  });

  test("test_session_log_structure: a SessionLog read from the database survives a zod JSON round-trip", async ({ db }) => {
    const executionId = await createExecution(db.writer);
    await db.writer.storeStepSession(executionId, 0, STEP_YAML("step_0", "score: 0.5\n"));
    const [log] = await db.writer.getSessionsForConsolidation(executionId);
    expect(log).toBeDefined();
    const parsed: SessionLog = ZSessionLog.parse(JSON.parse(JSON.stringify(log)));
    expect(parsed).toStrictEqual(log);
    expect(parsed).toMatchObject({
      sessionId: `${executionId}_step_0`,
      executionId,
      stepIndex: 0,
      status: "success",
      success: true,
      stepId: "step_0",
      score: 0.5,
      durationMs: 1000,
      toolCalls: [{ callIndex: 0, toolName: "get_account_balance", success: null }],
    });
  });

  test("ConsolidatedSessionLog read from the database matches its zod schema", async ({ db }) => {
    const executionId = await createExecution(db.writer);
    const cid = uid("c");
    await db.writer.storeConsolidatedSession(cid, executionId, "x", {});
    const [log] = await db.writer.getConsolidatedSessionsByExecution(executionId);
    expect(ZConsolidatedSessionLog.parse(JSON.parse(JSON.stringify(log)))).toStrictEqual(log);
    expect(log).toMatchObject({ avgScore: null, totalTools: null, successRate: null, executionDurationMs: null, originalSessionIds: [] });
  });
});
