// storeSteps (bulk import: all or nothing, per-step retry rules) and concurrent writers of one step in
// one process (the single-statement write path must neither lose nor duplicate a step under races).
import { describe, expect } from "vitest";
import { DatabaseError, type StepInput } from "../src/index.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, rowCounts, stepRows, toolCallCount } from "./helpers.js";

const step = (stepIndex: number, extra: Partial<StepInput> = {}): StepInput => ({
  stepIndex,
  content: `content of step ${stepIndex} ✓ "quoted" \\ back`,
  stepId: `s${stepIndex}`,
  success: stepIndex % 3 !== 0,
  score: (stepIndex % 10) / 10,
  durationMs: stepIndex,
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, stepIndex % 60)),
  toolCalls: Array.from({ length: stepIndex % 4 }, (_, c) => ({
    toolName: `tool_${c}`,
    input: { step: stepIndex, call: c, nested: [1, "two", null, { three: 3.5 }] },
    output: c % 2 ? "plain string output" : { ok: true },
    success: c !== 2,
    durationMs: c,
    ...(c === 2 ? { error: "tool failed" } : {}),
  })),
  ...extra,
});

describe.each(testBackends())("bulk import and same-step races on $name", (backend) => {
  test.override({ backend });

  test("storeSteps stores thousands of steps with their tool calls exactly as storeStep would", async ({ db }) => {
    const w = db.writer;
    const bulk = await createExecution(w);
    const single = await createExecution(w);
    const steps = Array.from({ length: 2_500 }, (_, i) => step(i));
    expect(await w.storeSteps(bulk, steps)).toEqual({ stored: 2_500, created: 2_500 });
    for (const s of steps.slice(0, 40)) await w.storeStep(single, s);

    const read = await w.getSessionsForConsolidation(bulk);
    expect(read.map((s) => s.stepIndex)).toEqual(steps.map((s) => s.stepIndex));
    expect(await toolCallCount(db, bulk)).toBe(steps.reduce((n, s) => n + (s.toolCalls?.length ?? 0), 0));
    // Field for field the same as the one-step path (ids, timestamps aside).
    const strip = (s: (typeof read)[number]) => ({
      ...s,
      sessionId: undefined,
      executionId: undefined,
      timestamp: undefined,
      createdAt: undefined,
    });
    const reference = await w.getSessionsForConsolidation(single);
    expect(read.slice(0, 40).map(strip)).toEqual(reference.map(strip));
    // And the fingerprints agree: storeStep of a bulk-imported step is a retry, not a conflict.
    expect(await w.storeStep(bulk, steps[7]!)).toMatchObject({ created: false, state: "committed" });
  });

  test("storeSteps again with the same steps is a no-op; with new ones it adds only those", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const steps = Array.from({ length: 30 }, (_, i) => step(i));
    await w.storeSteps(id, steps.slice(0, 20));
    expect(await w.storeSteps(id, steps)).toEqual({ stored: 30, created: 10 });
    expect(await w.storeSteps(id, steps)).toEqual({ stored: 30, created: 0 });
    expect((await stepRows(db, id)).map((r) => r.stepIndex)).toEqual(steps.map((s) => s.stepIndex));
  });

  test("one conflicting step rolls back the whole import and names it; bad input writes nothing", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    await w.storeStep(id, step(5));
    const before = await rowCounts(db);
    const steps = Array.from({ length: 3_000 }, (_, i) => step(i));
    steps[5] = step(5, { content: "different content" });
    const error = await expectDbError(w.storeSteps(id, steps), "CONFLICT", "steps[5].stepIndex");
    expect(error.message).toContain("Step 5");
    expect(await rowCounts(db)).toEqual(before);

    await expectDbError(w.storeSteps(id, [step(10), step(11), step(10)]), "VALIDATION", "steps[2].stepIndex");
    await expectDbError(w.storeSteps(id, [step(10), { stepIndex: -1 }]), "VALIDATION", "steps[1].stepIndex");
    await expectDbError(
      w.storeSteps(id, [step(10), step(11, { toolCalls: [{ toolName: "" }] })]),
      "VALIDATION",
      "steps[1].toolCalls[0].toolName",
    );
    await expectDbError(w.storeSteps(id, "nope" as unknown as StepInput[]), "VALIDATION", "steps");
    await expectDbError(w.storeSteps("no-such-execution", [step(0)]), "NOT_FOUND", "executionId");
    expect(await rowCounts(db)).toEqual(before);

    // A conflict in a later statement (steps go 2,000 to a statement) takes the earlier ones back too.
    await w.storeStep(id, step(2_600));
    const beforeLate = await rowCounts(db);
    steps[5] = step(5);
    steps[2_600] = step(2_600, { content: "different content" });
    await expectDbError(w.storeSteps(id, steps), "CONFLICT", "steps[2600].stepIndex");
    expect(await rowCounts(db)).toEqual(beforeLate);
  });

  test("inside an execution transaction the imported steps are pending, and a rollback undoes them all", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    const transactionId = await w.beginTransaction(id);
    await w.storeSteps(id, [step(0), step(1)], { transactionId });
    // A pending step may be replaced before commit, in bulk as one by one.
    expect(await w.storeSteps(id, [step(1, { content: "replaced" }), step(2)], { transactionId })).toEqual({ stored: 2, created: 2 });
    expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state, r.content.slice(0, 8)])).toEqual([
      [0, "pending", "content "],
      [1, "pending", "replaced"],
      [2, "pending", "content "],
    ]);
    await w.rollbackTransaction(id, { transactionId });
    expect(await stepRows(db, id)).toEqual([]);
    expect(await toolCallCount(db, id)).toBe(0);
    await expectDbError(w.storeSteps(id, [step(0)], { transactionId }), "TRANSACTION_STATE", "transactionId");
  });

  test("a finished execution accepts a retried import of what it has, and nothing new", async ({ db }) => {
    const w = db.writer;
    const id = await createExecution(w);
    await w.storeSteps(id, [step(0), step(1)]);
    await w.finishExecutionSession(id, { status: "completed" });
    expect(await w.storeSteps(id, [step(0), step(1)])).toEqual({ stored: 2, created: 0 });
    await expectDbError(w.storeSteps(id, [step(0), step(2)]), "TRANSACTION_STATE", "executionId");
    expect((await stepRows(db, id)).map((r) => r.stepIndex)).toEqual([0, 1]);
  });

  test("twenty concurrent writers of the same step: one creates it, the others see a retry; different content conflicts", async ({
    db,
  }) => {
    const w = db.writer;
    for (let round = 1; round <= 5; round++) {
      const id = await createExecution(w);
      const same = await Promise.all(Array.from({ length: 20 }, () => w.storeStep(id, step(round))));
      expect(same.filter((r) => r.created)).toHaveLength(1);
      expect(same.every((r) => r.state === "committed")).toBe(true);

      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, k) => w.storeStep(id, step(100, { content: `writer ${k}` }))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(DatabaseError.is(r.reason, "CONFLICT")).toBe(true);
      }
      const rows = await stepRows(db, id);
      expect(rows.map((r) => r.stepIndex)).toEqual([round, 100]);
      // step(round) has round % 4 tool calls, step(100) none: each stored once.
      expect(await toolCallCount(db, id)).toBe(round % 4);
    }
  });
});
