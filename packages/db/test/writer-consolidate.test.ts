// writer.consolidate: one operation owns consolidation's transaction — in_progress, then lock, read the
// committed steps, the caller's pure build, insert, completed — answers a retry from the stored metric
// columns, stores nothing once its deadline has passed, and leaves failed / timed_out on failure.
import pg from "pg";
import { describe, expect } from "vitest";
import type { ConsolidationBuilder, ConsolidationMetadata, Database, ExecutionSessionRecord, StepInput } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, lockWaiters, uid } from "./helpers.js";

const METRICS: ConsolidationMetadata = { avgScore: 0.5, totalTools: 3, successRate: 50, executionDurationMs: 1200 };

const step = (stepIndex: number): StepInput => ({
  stepIndex,
  stepId: `s${stepIndex}`,
  status: stepIndex % 2 ? "failed" : "success",
  content: `step ${stepIndex}`,
  toolCalls: [{ toolName: `tool_${stepIndex}` }],
});

/** A build that records what it was given and lists the step indexes it saw as its content. */
function recordingBuild() {
  const calls: { status: ExecutionSessionRecord["consolidation"]["status"]; steps: number[]; consolidatedAt: Date }[] = [];
  const build: ConsolidationBuilder = ({ execution, steps, consolidatedAt }) => {
    calls.push({ status: execution.consolidation.status, steps: steps.map((s) => s.stepIndex), consolidatedAt });
    return { content: JSON.stringify({ steps: steps.map((s) => s.stepIndex) }), metadata: METRICS };
  };
  return { build, calls };
}

const later = (ms: number) => new Date(Date.now() + ms);

async function consolidatedRows(db: Database, executionId: string) {
  return prismaClientOf(db).consolidatedSession.findMany({ where: { executionId }, orderBy: { id: "asc" } });
}

async function consolidationOf(db: Database, executionId: string) {
  return (await db.writer.getExecutionSession(executionId))?.consolidation;
}

describe.each(testBackends())("writer.consolidate on $name", (backend) => {
  test.override({ backend });

  test("builds from the committed steps in order, stores them as original ids, and completes", async ({ db }) => {
    const id = await createExecution(db.writer);
    for (const i of [2, 0, 1]) await db.writer.storeStep(id, step(i));
    const transactionId = await db.writer.beginTransaction(id);
    await db.writer.storeStep(id, step(3), { transactionId }); // pending: not consolidated
    const { build, calls } = recordingBuild();
    const at = new Date("2025-03-01T10:00:00.000Z");
    const cid = uid("c");
    const done = await db.writer.consolidate({
      executionId: id,
      consolidatedSessionId: cid,
      build,
      deadline: later(60_000),
      now: () => at,
    });

    expect(done).toEqual({ consolidatedSessionId: cid, metadata: METRICS, created: true });
    // The build ran once, inside the transaction, after in_progress was committed.
    expect(calls).toEqual([{ status: "in_progress", steps: [0, 1, 2], consolidatedAt: at }]);
    const [row] = await consolidatedRows(db, id);
    expect(row).toMatchObject({ consolidatedSessionId: cid, consolidatedContent: '{"steps":[0,1,2]}', ...METRICS });
    expect(row!.originalSessionIds).toEqual([0, 1, 2].map((i) => `${id}_step_${i}`));
    expect(await consolidationOf(db, id)).toMatchObject({ status: "completed", error: null });
  });

  test("a retry under a stored id is answered from its metric columns: the document is never parsed, nothing is built", async ({ db }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, step(0));
    const cid = uid("c");
    // Stored by the seed's method, with content that is no JSON at all: a parse would throw.
    await db.writer.storeConsolidatedSession(cid, id, "not a JSON document", METRICS);
    await db.writer.setConsolidationStatus(id, "failed", { error: "the reply was lost" });
    const build: ConsolidationBuilder = () => {
      throw new Error("a retry must not build again");
    };
    const done = await db.writer.consolidate({ executionId: id, consolidatedSessionId: cid, build, deadline: later(60_000) });
    // Token sums and cost were not given to the seed's method: their columns are null, and so are they here.
    expect(done).toEqual({
      consolidatedSessionId: cid,
      metadata: { ...METRICS, totalInputTokens: null, totalOutputTokens: null, costUsd: null },
      created: false,
    });
    expect((await consolidatedRows(db, id)).map((r) => r.consolidatedContent)).toEqual(["not a JSON document"]);
    expect(await consolidationOf(db, id)).toMatchObject({ status: "completed", error: null });
  });

  test("an id stored for another execution is a CONFLICT: status failed, nothing stored", async ({ db }) => {
    const [mine, other] = [await createExecution(db.writer), await createExecution(db.writer)];
    await db.writer.storeStep(mine, step(0));
    const cid = uid("c");
    await db.writer.storeConsolidatedSession(cid, other, "theirs", {});
    const error = await expectDbError(
      db.writer.consolidate({ executionId: mine, consolidatedSessionId: cid, build: recordingBuild().build, deadline: later(60_000) }),
      "CONFLICT",
      "consolidatedSessionId",
    );
    expect(error.retryable).toBe(false);
    expect(await consolidatedRows(db, mine)).toEqual([]);
    expect(await consolidationOf(db, mine)).toMatchObject({ status: "failed", error: error.message });
  });

  test("the deadline passing after the build (the clock driven past it): TIMEOUT, not retried, status timed_out, nothing stored", async ({
    db,
  }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, step(0));
    const deadline = later(60_000);
    let clock = Date.now();
    const { build: record, calls } = recordingBuild();
    const build: ConsolidationBuilder = (source) => {
      const built = record(source);
      clock = deadline.getTime(); // the work took until the deadline
      return built;
    };
    const error = await expectDbError(
      db.writer.consolidate({ executionId: id, consolidatedSessionId: uid("c"), build, deadline, now: () => new Date(clock) }),
      "TIMEOUT",
    );
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(504);
    expect(calls).toHaveLength(1);
    expect(await consolidatedRows(db, id)).toEqual([]);
    expect(await consolidationOf(db, id)).toMatchObject({ status: "timed_out", error: error.message });
  });

  test("a deadline already past: nothing is read or built, status timed_out", async ({ db }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, step(0));
    const { build, calls } = recordingBuild();
    await expectDbError(
      db.writer.consolidate({ executionId: id, consolidatedSessionId: uid("c"), build, deadline: new Date(Date.now() - 1) }),
      "TIMEOUT",
    );
    expect(calls).toEqual([]);
    expect(await consolidationOf(db, id)).toMatchObject({ status: "timed_out" });
  });

  test("the build's own error comes back unchanged, after the rollback; status failed with its message", async ({ db }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, step(0));
    const own = new RangeError("no steps worth consolidating");
    const build: ConsolidationBuilder = () => {
      throw own;
    };
    const thrown = await db.writer
      .consolidate({ executionId: id, consolidatedSessionId: uid("c"), build, deadline: later(60_000) })
      .catch((e: unknown) => e);
    expect(thrown).toBe(own);
    expect(await consolidatedRows(db, id)).toEqual([]);
    expect(await consolidationOf(db, id)).toMatchObject({ status: "failed", error: "no steps worth consolidating" });
  });

  test("what the build returns is validated like any input: VALIDATION naming the field, status failed, nothing stored", async ({ db }) => {
    const id = await createExecution(db.writer);
    await db.writer.storeStep(id, step(0));
    const build: ConsolidationBuilder = () => ({ content: "{}", metadata: { ...METRICS, successRate: 150 } });
    await expectDbError(
      db.writer.consolidate({ executionId: id, consolidatedSessionId: uid("c"), build, deadline: later(60_000) }),
      "VALIDATION",
      "metadata.successRate",
    );
    expect(await consolidatedRows(db, id)).toEqual([]);
    expect(await consolidationOf(db, id)).toMatchObject({ status: "failed" });
  });

  test("an unknown execution is NOT_FOUND, and nothing is written anywhere", async ({ db }) => {
    const before = await prismaClientOf(db).executionSession.count();
    await expectDbError(
      db.writer.consolidate({
        executionId: uid("missing"),
        consolidatedSessionId: uid("c"),
        build: recordingBuild().build,
        deadline: later(60_000),
      }),
      "NOT_FOUND",
      "executionId",
    );
    expect(await prismaClientOf(db).executionSession.count()).toBe(before);
  });
});

/**
 * A PostgreSQL execution with steps 0 and 1 committed, and `fn` given a second connection (`holder`)
 * in an open transaction of its own, to hold locks the consolidation must wait for.
 */
async function withTwoStepsAndAHolder(db: Database, fn: (id: string, holder: pg.Client) => Promise<void>): Promise<void> {
  if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
  const id = await createExecution(db.writer);
  for (const i of [0, 1]) await db.writer.storeStep(id, step(i));
  const holder = new pg.Client({ connectionString: db.target.url });
  await holder.connect();
  try {
    await holder.query("BEGIN");
    await fn(id, holder);
  } finally {
    await holder.query("ROLLBACK").catch(() => {});
    await holder.end();
  }
}

describe.each(testBackends().filter((b) => b.name === "postgres"))("writer.consolidate racing step writes on $name", (backend) => {
  test.override({ backend });

  test("in_progress is visible at once; a step committing during the consolidation waits for it and is not among its ids", async ({
    db,
  }) => {
    await withTwoStepsAndAHolder(db, async (id, holder) => {
      // Inserts into consolidated_sessions wait: the consolidation stops at its INSERT, holding the execution's lock.
      await holder.query("LOCK TABLE consolidated_sessions IN EXCLUSIVE MODE");
      const { build, calls } = recordingBuild();
      const cid = uid("c");
      const consolidating = db.writer.consolidate({ executionId: id, consolidatedSessionId: cid, build, deadline: later(60_000) });
      await lockWaiters(db, 1);
      expect(await consolidationOf(db, id)).toMatchObject({ status: "in_progress" });
      const storing = db.writer.storeStep(id, step(2));
      await lockWaiters(db, 2); // the step write waits for the execution's lock
      await holder.query("COMMIT");
      expect(await consolidating).toMatchObject({ created: true });
      expect(await storing).toMatchObject({ created: true, state: "committed" });
      expect(calls.map((c) => c.steps)).toEqual([[0, 1]]);
      const [row] = await consolidatedRows(db, id);
      expect(row!.originalSessionIds).toEqual([`${id}_step_0`, `${id}_step_1`]);
      expect((await db.writer.getSessionsForConsolidation(id)).map((s) => s.stepIndex)).toEqual([0, 1, 2]);
    });
  });

  test("a step committed while the consolidation waited for the execution's lock is read, built and stored with the rest", async ({
    db,
  }) => {
    await withTwoStepsAndAHolder(db, async (id, holder) => {
      // KEY SHARE lets the in_progress UPDATE through but makes the consolidation's FOR UPDATE wait;
      // meanwhile this transaction commits a step. Read in the same statement as the lock (whose
      // snapshot predates the wait), the step would be in the document but missing from the build.
      await holder.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR KEY SHARE", [id]);
      const { build, calls } = recordingBuild();
      const consolidating = db.writer.consolidate({ executionId: id, consolidatedSessionId: uid("c"), build, deadline: later(60_000) });
      await lockWaiters(db, 1);
      await holder.query(
        `INSERT INTO step_sessions (session_id, execution_id, step_index, content, content_sha256, state, committed_at)
         VALUES ($1 || '_step_2', $1, 2, 'step 2', repeat('0', 64), 'committed', now())`,
        [id],
      );
      await holder.query("COMMIT");
      expect(await consolidating).toMatchObject({ created: true });
      expect(calls.map((c) => c.steps)).toEqual([[0, 1, 2]]);
      const [row] = await consolidatedRows(db, id);
      expect(row!.originalSessionIds).toEqual([0, 1, 2].map((i) => `${id}_step_${i}`));
    });
  });
});
