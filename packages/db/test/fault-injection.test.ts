// Fault injection: every database statement of a write fails in turn — before it reaches the database,
// and (second mode) after it ran but with its reply lost. With the writer's own retries off, after each
// failure the write has left all of its rows or none of them, the tables are consistent, the error is a
// typed DatabaseError, and retrying the same call succeeds with exactly one copy of the data
// (idempotently, when the first attempt had taken effect). With them on (the default), the writer
// makes that retry itself: the one fault is absorbed and the call succeeds, exactly once. Statement
// counts are not hard-coded: the loop raises N until the call completes without reaching the fault,
// and must have hit at least one fault on the way.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { describe, expect } from "vitest";
import { type Database, DatabaseError, DatabaseWriter, type StepInput, stepSessionId } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
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
} from "../src/testing/fault-injection.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, stepRows, uid, visibleSteps, within } from "./helpers.js";

const MODES: FaultMode[] = ["before", "reply-lost"];
/** Far above any write's statement count: a loop that gets here never completes. */
const MAX_STATEMENTS = 100;

const step = (stepIndex: number, tag: string, tools: string[]): StepInput => ({
  stepIndex,
  stepId: `step-${stepIndex}`,
  status: "success",
  score: 0.5,
  content: JSON.stringify({ stepIndex, tag }),
  toolCalls: tools.map((toolName, i) => ({ toolName, input: { i, tag }, output: { ok: true }, success: true, durationMs: 5 })),
});

const describeError = (e: unknown) =>
  e instanceof Error ? `${e.name}${DatabaseError.is(e) ? ` ${e.code}` : ""}: ${e.message}` : String(e);

/**
 * One write under test: `setup` builds a fresh execution in the state the write needs (faults are not
 * armed then), `run` is the write through `writer` — called once with a fault armed and once more as
 * the retry — and `verify` checks the final state: exactly one copy of what the write stores.
 * `tookEffect` says whether the faulted attempt had already done the write (a lost reply), so the
 * retry was a repeat; undefined when the writer retried by itself and the caller cannot know.
 * `callerRetry: false` marks a call only the writer can repeat safely (it keeps state between its own
 * attempts: a transaction id drawn once, the transaction an unguarded commit found open).
 */
type Operation<C, R> = {
  name: string;
  setup(db: Database): Promise<C>;
  run(writer: DatabaseWriter, ctx: C): Promise<R>;
  verify(db: Database, ctx: C, result: R, info: { tookEffect: boolean | undefined }): Promise<void>;
  callerRetry?: false;
};

const created = (tookEffect: boolean | undefined) => (tookEffect === undefined ? expect.any(Boolean) : !tookEffect);

// Erases each operation's context and result types, so operations of different shapes share one list.
// biome-ignore lint/suspicious/noExplicitAny: the point is to erase the types (see above)
const op = <C, R>(o: Operation<C, R>): Operation<any, any> => o;

const OPERATIONS = [
  op({
    name: "storeStep with tool calls (no transaction: committed at once)",
    setup: async (db) => ({ id: await createExecution(db.writer) }),
    run: (w, { id }) => w.storeStep(id, step(0, "a", ["get_balance", "swap", "verify"])),
    verify: async (db, { id }, result, { tookEffect }) => {
      expect(result).toEqual({ sessionId: stepSessionId(id, 0), state: "committed", created: created(tookEffect) });
      expect(await stepRows(db, id)).toMatchObject([{ stepIndex: 0, state: "committed", content: step(0, "a", []).content }]);
      expect(await toolNames(db, id)).toEqual([["get_balance", "swap", "verify"]]);
    },
  }),
  op({
    name: "storeStep in an open execution transaction (pending, pinned to it)",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      return { id, transactionId: await db.writer.beginTransaction(id) };
    },
    run: (w, { id, transactionId }) => w.storeStep(id, step(0, "p", ["a", "b"]), { transactionId }),
    verify: async (db, { id, transactionId }, result, { tookEffect }) => {
      expect(result).toEqual({ sessionId: stepSessionId(id, 0), state: "pending", created: created(tookEffect) });
      expect(await stepRows(db, id)).toMatchObject([{ stepIndex: 0, state: "pending", transactionId }]);
      expect(await toolNames(db, id)).toEqual([["a", "b"]]);
    },
  }),
  op({
    name: "storeStep replacing a step still pending in the open transaction (the rare path)",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      const transactionId = await db.writer.beginTransaction(id);
      await db.writer.storeStep(id, step(0, "old", ["old1", "old2", "old3"]), { transactionId });
      return { id, transactionId };
    },
    run: (w, { id, transactionId }) => w.storeStep(id, step(0, "new", ["new1"]), { transactionId }),
    verify: async (db, { id, transactionId }, result, { tookEffect }) => {
      expect(result).toEqual({ sessionId: stepSessionId(id, 0), state: "pending", created: created(tookEffect) });
      expect(await stepRows(db, id)).toMatchObject([
        { stepIndex: 0, state: "pending", transactionId, content: step(0, "new", []).content },
      ]);
      // The old step's tool calls are gone with it; none are kept beside the new ones.
      expect(await toolNames(db, id)).toEqual([["new1"]]);
    },
  }),
  op({
    name: "storeStepSession (reev's YAML, with tool calls)",
    setup: async (db) => ({ id: await createExecution(db.writer) }),
    run: (w, { id }) => w.storeStepSession(id, 3, YAML_STEP),
    verify: async (db, { id }) => {
      expect(await stepRows(db, id)).toMatchObject([{ stepIndex: 3, state: "committed", content: YAML_STEP }]);
      expect(await toolNames(db, id)).toEqual([["get_account_balance", "jupiter_swap"]]);
    },
  }),
  op({
    name: "beginTransaction (with a caller-chosen id, so a retry can find it)",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStep(id, step(0, "before", ["t"]));
      return { id, chosen: randomUUID() };
    },
    run: (w, { id, chosen }) => w.beginTransaction(id, { transactionId: chosen }),
    verify: async (db, { id, chosen }, transactionId: string) => {
      expect(transactionId).toBe(chosen);
      expect((await db.writer.getExecutionSession(id))?.openTransaction?.transactionId).toBe(transactionId);
      // The transaction the caller got back is the one that is open: a write pinned to it works.
      expect(await db.writer.storeStep(id, step(1, "in", ["u"]), { transactionId })).toMatchObject({ state: "pending", created: true });
    },
  }),
  op({
    name: "commitTransaction",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      const transactionId = await db.writer.beginTransaction(id);
      await db.writer.storeStep(id, step(0, "c0", ["a", "b"]), { transactionId });
      await db.writer.storeStep(id, step(1, "c1", ["c"]), { transactionId });
      return { id, transactionId };
    },
    run: (w, { id, transactionId }) => w.commitTransaction(id, { transactionId }),
    verify: async (db, { id }) => {
      expect((await db.writer.getExecutionSession(id))?.openTransaction).toBeNull();
      expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state])).toEqual([
        [0, "committed"],
        [1, "committed"],
      ]);
      expect((await db.writer.getSessionsForConsolidation(id)).map((s) => s.toolCalls.map((t) => t.toolName))).toEqual([["a", "b"], ["c"]]);
    },
  }),
  op({
    name: "rollbackTransaction",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStep(id, step(0, "kept", ["k"]));
      const transactionId = await db.writer.beginTransaction(id);
      await db.writer.storeStep(id, step(1, "r1", ["a", "b"]), { transactionId });
      await db.writer.storeStep(id, step(2, "r2", ["c"]), { transactionId });
      return { id, transactionId };
    },
    run: (w, { id, transactionId }) => w.rollbackTransaction(id, { transactionId }),
    verify: async (db, { id }) => {
      expect((await db.writer.getExecutionSession(id))?.openTransaction).toBeNull();
      expect((await stepRows(db, id)).map((r) => [r.stepIndex, r.state])).toEqual([[0, "committed"]]);
      expect(await toolNames(db, id)).toEqual([["k"]]);
    },
  }),
  op({
    name: "finishExecutionSession",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStep(id, step(0, "f", ["t"]));
      return { id };
    },
    run: (w, { id }) => w.finishExecutionSession(id, { status: "failed", error: "step 0 went wrong", durationMs: 1234 }),
    verify: async (db, { id }, record) => {
      const stored = await db.writer.getExecutionSession(id);
      expect(stored).toMatchObject({ status: "failed", error: "step 0 went wrong", durationMs: 1234, openTransaction: null });
      expect(record).toEqual(stored);
    },
  }),
  op({
    name: "storeConsolidatedSession",
    setup: async (db) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStep(id, step(0, "s0", ["a"]));
      await db.writer.storeStep(id, step(1, "s1", ["b", "c"]));
      return { id, consolidatedId: `${id}_consolidated` };
    },
    run: (w, { id, consolidatedId }) =>
      w.storeConsolidatedSession(consolidatedId, id, '{"consolidated":true}', {
        avgScore: 0.5,
        totalTools: 3,
        successRate: 100,
        executionDurationMs: 10,
      }),
    verify: async (db, { id, consolidatedId }) => {
      const rows = await db.writer.getConsolidatedSessionsByExecution(id);
      expect(rows).toMatchObject([
        {
          consolidatedSessionId: consolidatedId,
          consolidatedContent: '{"consolidated":true}',
          originalSessionIds: [stepSessionId(id, 0), stepSessionId(id, 1)],
          totalTools: 3,
        },
      ]);
    },
  }),
  op({
    name: "beginTransaction (no id given: drawn once, so the writer's own retry finds its transaction)",
    callerRetry: false,
    setup: async (db) => ({ id: await createExecution(db.writer) }),
    run: (w, { id }) => w.beginTransaction(id),
    verify: async (db, { id }, transactionId: string) => {
      expect((await db.writer.getExecutionSession(id))?.openTransaction?.transactionId).toBe(transactionId);
    },
  }),
  op({
    name: "commitTransaction unguarded (pinned, after its first attempt, to the transaction it found)",
    callerRetry: false,
    setup: async (db) => {
      const id = await createExecution(db.writer);
      const transactionId = await db.writer.beginTransaction(id);
      await db.writer.storeStep(id, step(0, "u", ["a"]), { transactionId });
      return { id };
    },
    run: (w, { id }) => w.commitTransaction(id),
    verify: async (db, { id }) => {
      expect((await db.writer.getExecutionSession(id))?.openTransaction).toBeNull();
      expect((await stepRows(db, id)).map((r) => r.state)).toEqual(["committed"]);
    },
  }),
];

const YAML_STEP = `step_id: swap
success: true
score: 0.75
tool_calls:
  - tool_name: get_account_balance
    success: true
  - jupiter_swap
`;

/** Tool names per step of an execution, in step and call order: "exactly once" at a glance. */
async function toolNames(db: Database, executionId: string): Promise<string[][]> {
  const steps = await prismaClientOf(db).stepSession.findMany({
    where: { executionId },
    orderBy: { stepIndex: "asc" },
    select: { toolCalls: { orderBy: { callIndex: "asc" }, select: { toolName: true } } },
  });
  return steps.map((s) => s.toolCalls.map((t) => t.toolName));
}

/** One injector for the file's databases: the tests run one after another, each arming it around one call. */
const faults = createFaultInjector();
// The writer's own retries off: each fault reaches the caller, as it reaches each of the writer's attempts.
test.override({ databaseOptions: { wrapAdapter: faults.wrapAdapter, writer: { retry: { maxAttempts: 1 } } } });

describe.each(testBackends())("fault injection on $name", (backend) => {
  test.override({ backend });
  test.afterEach(() => {
    faults.disarm();
  });

  // The injector itself, so that the tests below cannot pass because it does nothing.
  test("the injector: `before` keeps a statement from the database, `reply-lost` runs it and still fails", async ({ db }) => {
    for (const mode of MODES) {
      const id = uid(`self-${mode}`);
      faults.arm({ at: 1, mode });
      const result = await settle(createExecution(db.writer, id));
      const report = faults.disarm();
      expect(report.fired).toBe(true);
      expect(report.fault).toMatchObject({ n: 1, kind: "query" });
      expect(result.ok).toBe(false);
      expect(isInjectedFault(result.ok ? undefined : result.error)).toBe(true);
      expect(await db.writer.getExecutionSession(id), mode).toEqual(
        mode === "before" ? null : expect.objectContaining({ executionId: id }),
      );
    }
    // A COMMIT whose reply is lost has committed; one that never arrived has not.
    for (const mode of MODES) {
      const id = uid(`self-commit-${mode}`);
      faults.arm({ at: 1, mode, kinds: ["commit"] });
      const result = await settle(db.writer.withDatabaseTransaction((w) => createExecution(w, id)));
      expect(faults.disarm().fault).toMatchObject({ kind: "commit" });
      expect(result.ok).toBe(false);
      expect(await db.writer.getExecutionSession(id), mode).toEqual(
        mode === "before" ? null : expect.objectContaining({ executionId: id }),
      );
    }
    // Disarmed, nothing fails.
    expect(await createExecution(db.writer, uid("self-disarmed"))).toMatch(/^self-disarmed-/);
  });

  // A ROLLBACK only runs after something went wrong, so the loops below never fail one: here the writer
  // refuses a write inside its transaction (CONFLICT, TRANSACTION_STATE), Prisma rolls back, and that
  // ROLLBACK fails too. The caller must still hear the refusal, not the rollback's error, nothing may
  // be written, and the database must stay usable (PGlite: no transaction left holding the engine).
  test.for(MODES)(
    "a failed ROLLBACK after a refused write (%s): the refusal reaches the caller, nothing is written",
    async (mode, { db }) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStep(id, step(0, "s", ["t"]));
      await db.writer.storeConsolidatedSession(`${id}_c`, id, "{}", {});
      const transactionId = await db.writer.beginTransaction(id);
      const refusals: [string, () => Promise<unknown>, string][] = [
        [
          "storeConsolidatedSession under a taken id",
          () => db.writer.storeConsolidatedSession(`${id}_c`, id, '{"other":1}', {}),
          "CONFLICT",
        ],
        [
          "finishExecutionSession with a transaction open",
          () => db.writer.finishExecutionSession(id, { status: "completed" }),
          "TRANSACTION_STATE",
        ],
        ["beginTransaction with one open", () => db.writer.beginTransaction(id), "TRANSACTION_STATE"],
      ];
      for (const [what, call, code] of refusals) {
        const before = await snapshotTables(db);
        faults.arm({ at: 1, mode, kinds: ["rollback"] });
        let result: Settled<unknown>;
        try {
          result = await settle(within(30_000, call(), what));
        } finally {
          expect(faults.disarm().fault, `${what}: the ROLLBACK was failed`).toMatchObject({ kind: "rollback" });
        }
        const heard = result.ok ? "no error" : DatabaseError.is(result.error) ? result.error.code : describeError(result.error);
        expect({ what, heard }).toEqual({ what, heard: code });
        expect(await snapshotTables(db), what).toEqual(before);
      }
      // Still usable, and the execution's transaction is untouched.
      await db.writer.storeStep(id, step(1, "after", ["u"]), { transactionId });
      await db.writer.commitTransaction(id, { transactionId });
      expect(await toolNames(db, id)).toEqual([["t"], ["u"]]);
    },
  );

  // A dropped connection is a CONNECTION error whichever statement it hits, so a caller can tell "retry
  // later" from a bug ("INTERNAL"). (The loops below only require a DatabaseError carrying the fault.)
  test.for(["query", "begin", "commit"] as const)("a connection lost at a %s statement is a CONNECTION error", async (kind, { db }) => {
    const id = await createExecution(db.writer);
    faults.arm({ at: 1, mode: "before", kinds: [kind] });
    const result = await settle(db.writer.finishExecutionSession(id, { status: "completed" }));
    expect(faults.disarm().fault).toMatchObject({ kind });
    expect(result.ok).toBe(false);
    expect(describeError(result.ok ? undefined : result.error)).toMatch(/^DatabaseError CONNECTION: /);
  });

  // Minimal reproduction of what the reply-lost loops below report for every transactional write:
  test("minimal: commitTransaction whose COMMIT reply was lost can be retried", async ({ db }) => {
    const id = await createExecution(db.writer);
    const transactionId = await db.writer.beginTransaction(id);
    await db.writer.storeStep(id, step(0, "s", ["t"]), { transactionId });
    faults.arm({ at: 1, mode: "reply-lost", kinds: ["commit"] });
    const first = await settle(db.writer.commitTransaction(id, { transactionId }));
    expect(faults.disarm().fired).toBe(true);
    expect(first.ok).toBe(false);
    expect(await visibleSteps(db.writer, id)).toEqual([0]); // it did commit
    // The caller cannot know that: it retries, and must not be told the transaction is gone.
    const retry = await settle(db.writer.commitTransaction(id, { transactionId }));
    expect(retry.ok ? "ok" : describeError(retry.error)).toBe("ok");
  });

  describe.each(MODES)("mode %s", (mode) => {
    test.for(OPERATIONS.filter((o) => o.callerRetry !== false).map((o) => [o.name, o] as const))(
      "%s: all or nothing, a typed error, then a retry stores exactly one copy",
      async ([, operation], { db }) => {
        let faultsHit = 0;
        for (let n = 1; n <= MAX_STATEMENTS; n++) {
          const ctx = await operation.setup(db);
          const before = await snapshotTables(db);
          faults.arm({ at: n, mode });
          let first: Settled<unknown>;
          let report: FaultReport;
          try {
            first = await settle(within(30_000, operation.run(db.writer, ctx), `${operation.name} with a fault at statement ${n}`));
          } finally {
            report = faults.disarm();
          }
          const where = `${operation.name}, ${mode}, fault at statement ${n}:\n  ${describeReport(report)}`;

          if (!report.fired) {
            // Done: the call needs fewer than n statements, so it ran untouched.
            if (!first.ok) throw new Error(`no fault fired, yet the call failed (${where}): ${describeError(first.error)}`);
            await operation.verify(db, ctx, first.value, { tookEffect: false });
            expect(consistencyProblems(await snapshotTables(db)), where).toEqual([]);
            expect(faultsHit, `${operation.name}: the loop finished without hitting a single fault`).toBeGreaterThan(0);
            return;
          }
          faultsHit++;

          // The fault reached the caller as a typed error: the writer neither swallowed it nor let Prisma's through.
          if (first.ok) throw new Error(`the call succeeded although statement ${n} failed (${where})`);
          expect(first.error, where).toBeInstanceOf(DatabaseError);
          expect(isInjectedFault(first.error), where).toBe(true);

          const after = await snapshotTables(db);
          expect(consistencyProblems(after), where).toEqual([]);
          const nothing = isDeepStrictEqual(after, before);
          if (mode === "before") {
            // The statement never reached the database: nothing of the write may be there.
            expect(after, where).toEqual(before);
          }

          const retry = await settle(within(30_000, operation.run(db.writer, ctx), `retry of ${operation.name}`));
          const final = await snapshotTables(db);
          if (!retry.ok) {
            // Reported (softly), and the loop goes on: what the failed retry left must still be whole.
            expect
              .soft(
                retry.ok,
                `the retry failed (${where})\n  the faulted attempt had ${nothing ? "written nothing" : "taken effect"}; the retry: ${describeError(retry.error)}`,
              )
              .toBe(true);
            expect(retry.error, where).toBeInstanceOf(DatabaseError);
            expect(final, `a failed retry must change nothing (${where})`).toEqual(after);
            expect(nothing, `the write was neither done nor undone (${where})`).toBe(false);
            continue;
          }
          if (!nothing) {
            // Its reply was lost: the write happened, then all of it, and the retry changed nothing.
            expect(after, where).toEqual(final);
          }
          await operation.verify(db, ctx, retry.value, { tookEffect: !nothing });
          expect(consistencyProblems(final), where).toEqual([]);
        }
        throw new Error(`${operation.name} did not complete within ${MAX_STATEMENTS} statements`);
      },
    );

    test.for(OPERATIONS.map((o) => [o.name, o] as const))(
      "%s, the writer retrying by itself: one fault anywhere is absorbed, the write done exactly once",
      async ([, operation], { db }) => {
        // The default retry policy, over the same (fault-injected) client.
        const retrying = new DatabaseWriter(prismaClientOf(db), { retry: { minDelayMs: 1, maxDelayMs: 5 } });
        let faultsHit = 0;
        for (let n = 1; n <= MAX_STATEMENTS; n++) {
          const ctx = await operation.setup(db);
          faults.arm({ at: n, mode });
          let result: Settled<unknown>;
          let report: FaultReport;
          try {
            result = await settle(within(30_000, operation.run(retrying, ctx), `${operation.name} with a fault at statement ${n}`));
          } finally {
            report = faults.disarm();
          }
          const where = `${operation.name}, ${mode}, fault at statement ${n}:\n  ${describeReport(report)}`;
          if (!result.ok) throw new Error(`the writer did not absorb the fault (${where}): ${describeError(result.error)}`);
          await operation.verify(db, ctx, result.value, { tookEffect: report.fired ? undefined : false });
          expect(consistencyProblems(await snapshotTables(db)), where).toEqual([]);
          if (!report.fired) {
            expect(faultsHit, `${operation.name}: the loop finished without hitting a single fault`).toBeGreaterThan(0);
            return;
          }
          faultsHit++;
        }
        throw new Error(`${operation.name} did not complete within ${MAX_STATEMENTS} statements`);
      },
    );
  });
});
