import {
  type ConsolidateInput,
  type ConsolidationSource,
  type Database,
  DatabaseError,
  type DatabaseWriter,
  type StepInput,
} from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { ScriptedAgent } from "../src/agents/scripted-agent.js";
import { ZConsolidatedContent } from "../src/consolidated-content.js";
import { buildConsolidation, consolidateExecution, getConsolidationStatus } from "../src/consolidation.js";
import { OrchestratorError } from "../src/errors.js";
import { PingPongExecutor } from "../src/ping-pong-executor.js";
import { gate, loggingWriter, plan, sleep, uid } from "./fixtures/executor/support.js";

/** The steps of one run, as storeStep takes them: explicit timings, scores and tool calls. */
const STEPS: StepInput[] = [
  {
    stepIndex: 0,
    stepId: "balance_check",
    status: "success",
    score: 0.9,
    startedAt: "2025-03-01T10:00:00.000Z",
    finishedAt: "2025-03-01T10:00:04.477Z",
    durationMs: 4477,
    content: '{"step":"balance_check"}',
    toolCalls: [
      {
        toolName: "get_account_balance",
        input: { wallet: "W1", mints: ["SOL", "USDC"] },
        output: { usdc: 20, sol: 4 },
        success: true,
        durationMs: 120,
      },
    ],
  },
  {
    stepIndex: 1,
    stepId: "complex_swap",
    status: "failed",
    score: 0.1,
    startedAt: "2025-03-01T10:00:05.000Z",
    finishedAt: "2025-03-01T10:00:27.406Z",
    durationMs: 22406,
    error: "Invalid parameters",
    content: '{"step":"complex_swap"}',
    toolCalls: [
      {
        toolName: "jupiter_swap",
        input: { outputMint: "USDC", amount: 2, inputMint: "SOL" },
        output: null,
        success: false,
        durationMs: 300,
        error: "Invalid parameters",
      },
      { toolName: "jupiter_swap", input: { amount: 1 }, output: null, success: false, durationMs: 280, error: "Invalid parameters" },
    ],
  },
  {
    stepIndex: 2,
    stepId: "lend",
    status: "success",
    startedAt: "2025-03-01T10:00:28.000Z",
    finishedAt: "2025-03-01T10:00:30.000Z",
    durationMs: 2000,
    content: '{"step":"lend"}',
    toolCalls: [{ toolName: "jupiter_lend", input: { amount: 10 }, output: { position: "p1" }, success: true, durationMs: 90 }],
  },
  {
    stepIndex: 3,
    stepId: "position_check",
    status: "skipped",
    error: "Skipped: critical step failed",
    content: '{"step":"position_check"}',
  },
];

// Hand-computed for STEPS:
//   success: steps 0 and 2 → 2 / 4 → 50 %
//   avg_score: 0.9 (given) + 0.1 (given) + 1 (success, no score) + 0 (skipped) = 2.0 / 4 = 0.5
//   total_tools: 1 + 2 + 1 + 0 = 4
//   duration: 10:00:30.000 − 10:00:00.000 = 30 000 ms
// Usage: no step recorded attempts, so the token sums are unknown (null), not 0.
const EXPECTED_METADATA = {
  avgScore: 0.5,
  totalTools: 4,
  successRate: 50,
  executionDurationMs: 30_000,
  totalInputTokens: null,
  totalOutputTokens: null,
  costUsd: null,
};

describe.each(testBackends())("consolidation on $name", (backend) => {
  let db: Database;
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
  });

  async function execution(prefix = "exec"): Promise<string> {
    const executionId = uid(prefix);
    await db.writer.createExecutionSession({
      executionId,
      flowId: "jup-multiply",
      agent: "scripted",
      prompt: "use my 50% sol to multiply usdc 1.5x on jup",
    });
    return executionId;
  }

  async function storeSteps(executionId: string, order: number[]): Promise<void> {
    for (const i of order) await db.writer.storeStep(executionId, STEPS[i]!);
  }

  /**
   * A writer whose consolidation clock jumps past the deadline the moment `build` has run: the
   * deadline passes inside the transaction, after the steps were read and before anything is stored,
   * as with a slow database — driven, not waited for.
   */
  function deadlinePassingWriter(): DatabaseWriter {
    return loggingWriter(db.writer, {
      consolidate: (real, input) => {
        const i = input as ConsolidateInput;
        let late = false;
        return real({
          ...i,
          build: (source: ConsolidationSource) => {
            const built = i.build(source);
            late = true;
            return built;
          },
          now: () => (late ? new Date(i.deadline.getTime() + 1) : (i.now?.() ?? new Date())),
        });
      },
    }).writer;
  }

  /**
   * Resolves once no transaction but this connection's is open on the database: whatever a
   * consolidation had started has committed or rolled back, so a row it could still write is there
   * now or never. (PGlite runs one transaction at a time: its next query waits for that anyway.)
   */
  async function transactionsSettled(): Promise<void> {
    if (backend.name !== "postgres") return;
    for (let polls = 0; ; polls++) {
      const [row] = await prismaClientOf(db).$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')`;
      if (row?.n === 0) return;
      if (polls > 2_000) throw new Error(`${row?.n} transactions are still open on the test database`);
      await sleep(5);
    }
  }

  /** What a consolidation stored: the document is assembled in the database, not handed back. */
  const storedContent = async (done: { consolidatedSessionId: string }) =>
    (await db.writer.getConsolidatedSession(done.consolidatedSessionId))!;

  const consolidatedRows = (executionId: string) => prismaClientOf(db).consolidatedSession.count({ where: { executionId } });

  describe("consolidateExecution", () => {
    it("stores reev's shape with honest metrics, real original session ids, and reports completed", async () => {
      const executionId = await execution();
      await storeSteps(executionId, [2, 0, 3, 1]);
      const now = new Date("2025-03-01T10:01:00.000Z");
      const done = await consolidateExecution(db, executionId, { now: () => now });

      expect(done.consolidatedSessionId).toBe(`${executionId}_consolidated_${now.getTime()}`);
      expect(done.metadata).toEqual(EXPECTED_METADATA);

      const raw = JSON.parse(await storedContent(done)) as Record<string, unknown>;
      for (const key of ["consolidated_session_id", "execution_id", "total_sessions", "consolidated_at", "steps", "metadata"])
        expect(raw).toHaveProperty(key);
      const document = ZConsolidatedContent.parse(raw);
      expect(document).toMatchObject({
        consolidated_session_id: done.consolidatedSessionId,
        execution_id: executionId,
        flow_id: "jup-multiply",
        prompt: "use my 50% sol to multiply usdc 1.5x on jup",
        total_sessions: 4,
        consolidated_at: "2025-03-01T10:01:00.000Z",
        metadata: {
          successful_steps: 2,
          failed_steps: 1,
          skipped_steps: 1,
          total_steps: 4,
          success_rate: 50,
          avg_score: 0.5,
          total_tools: 4,
          execution_duration_ms: 30_000,
        },
      });
      expect(
        document.steps.map((s) => [s.step_index, s.session_id, s.step_id, s.status, s.success, s.tool_count, s.duration_ms, s.content]),
      ).toEqual([
        [0, `${executionId}_step_0`, "balance_check", "success", true, 1, 4477, '{"step":"balance_check"}'],
        [1, `${executionId}_step_1`, "complex_swap", "failed", false, 2, 22406, '{"step":"complex_swap"}'],
        [2, `${executionId}_step_2`, "lend", "success", true, 1, 2000, '{"step":"lend"}'],
        [3, `${executionId}_step_3`, "position_check", "skipped", false, 0, null, '{"step":"position_check"}'],
      ]);
      expect(document.steps[1]!.tool_calls).toEqual([
        {
          tool_name: "jupiter_swap",
          input: { amount: 2, inputMint: "SOL", outputMint: "USDC" },
          output: null,
          success: false,
          duration_ms: 300,
          error: "Invalid parameters",
        },
        { tool_name: "jupiter_swap", input: { amount: 1 }, output: null, success: false, duration_ms: 280, error: "Invalid parameters" },
      ]);
      // Every step's timestamp is its commit time.
      const sessions = await db.writer.getSessionsForConsolidation(executionId);
      expect(document.steps.map((s) => s.timestamp)).toEqual(sessions.map((s) => s.timestamp.toISOString()));

      const [row] = await db.writer.getConsolidatedSessionsByExecution(executionId);
      expect(row).toMatchObject({ consolidatedSessionId: done.consolidatedSessionId, ...EXPECTED_METADATA });
      expect(row!.originalSessionIds).toEqual([0, 1, 2, 3].map((i) => `${executionId}_step_${i}`));

      const status = await getConsolidationStatus(db, executionId);
      expect(status).toMatchObject({
        executionId,
        status: "completed",
        error: null,
        consolidatedSessionId: done.consolidatedSessionId,
        metadata: EXPECTED_METADATA,
      });
      expect(status.updatedAt).toBeInstanceOf(Date);
    });

    it("consolidates committed steps only: steps pending in an open transaction are left out", async () => {
      const executionId = await execution();
      await storeSteps(executionId, [0, 1]);
      await db.writer.beginTransaction(executionId);
      await storeSteps(executionId, [2]);
      const done = await consolidateExecution(db, executionId);
      const document = ZConsolidatedContent.parse(JSON.parse(await storedContent(done)));
      expect(document.steps.map((s) => s.step_index)).toEqual([0, 1]);
      expect(document.total_sessions).toBe(2);
      const [row] = await db.writer.getConsolidatedSessionsByExecution(executionId);
      expect(row!.originalSessionIds).toEqual([`${executionId}_step_0`, `${executionId}_step_1`]);
      await db.writer.rollbackTransaction(executionId);
    });

    it("no committed steps → 'No sessions found for consolidation', status failed, nothing stored", async () => {
      const executionId = await execution();
      const error = await consolidateExecution(db, executionId).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OrchestratorError);
      expect((error as OrchestratorError).code).toBe("CONSOLIDATION_FAILED");
      expect((error as OrchestratorError).message).toBe("No sessions found for consolidation");
      const status = await getConsolidationStatus(db, executionId);
      expect(status).toMatchObject({
        status: "failed",
        error: "No sessions found for consolidation",
        consolidatedSessionId: null,
        metadata: null,
      });
      expect(await consolidatedRows(executionId)).toBe(0);
    });

    it("an unknown execution is NOT_FOUND, for consolidation and for its status", async () => {
      const notStored = { code: "NOT_FOUND", message: 'No execution "no-such-execution" is stored in this database: check the id.' };
      await expect(consolidateExecution(db, "no-such-execution")).rejects.toMatchObject(notStored);
      await expect(getConsolidationStatus(db, "no-such-execution")).rejects.toMatchObject(notStored);
    });

    it("consolidating again under the same id is a retry: the stored consolidation is the result, still one row", async () => {
      const executionId = await execution();
      await storeSteps(executionId, [0]);
      const id = uid("cid");
      const first = await consolidateExecution(db, executionId, { consolidatedSessionId: id });
      await storeSteps(executionId, [1]);
      // Even with a step more since: the id names the consolidation that was made, not a new one.
      expect(await consolidateExecution(db, executionId, { consolidatedSessionId: id })).toEqual(first);
      expect((await getConsolidationStatus(db, executionId)).status).toBe("completed");
      expect(await consolidatedRows(executionId)).toBe(1);
    });

    it("a database failure is reported as CONSOLIDATION_FAILED with status failed (an id taken by another execution)", async () => {
      const other = await execution();
      await storeSteps(other, [0]);
      const id = uid("cid");
      await consolidateExecution(db, other, { consolidatedSessionId: id });
      const executionId = await execution();
      await storeSteps(executionId, [0]);
      const error = await consolidateExecution(db, executionId, { consolidatedSessionId: id }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "OrchestratorError", code: "CONSOLIDATION_FAILED" });
      expect(((error as OrchestratorError).cause as DatabaseError).code).toBe("CONFLICT");
      const status = await getConsolidationStatus(db, executionId);
      expect(status.status).toBe("failed");
      expect(status.error).toContain("already exists");
      expect(await consolidatedRows(executionId)).toBe(0);
      expect(await consolidatedRows(other)).toBe(1);
    });

    it("reports pending before any consolidation, in_progress while one runs, then completed with the newest", async () => {
      const executionId = await execution();
      expect(await getConsolidationStatus(db, executionId)).toEqual({
        executionId,
        status: "pending",
        updatedAt: null,
        error: null,
        consolidatedSessionId: null,
        metadata: null,
        costGaps: [],
        recordedSteps: null,
      });
      await storeSteps(executionId, [0, 1, 2, 3]);
      const first = await consolidateExecution(db, executionId, { consolidatedSessionId: `${executionId}_c1` });

      // The second consolidation's builder sees the execution as its transaction read it: in_progress,
      // committed before the transaction began.
      const seen: string[] = [];
      const { writer } = loggingWriter(db.writer, {
        consolidate: (real, input) => {
          const i = input as ConsolidateInput;
          return real({
            ...i,
            build: (source: ConsolidationSource) => {
              seen.push(source.execution.consolidation.status);
              return i.build(source);
            },
          });
        },
      });
      await consolidateExecution({ writer }, executionId, { consolidatedSessionId: `${executionId}_c2` });
      expect(seen).toEqual(["in_progress"]);
      const after = await getConsolidationStatus(db, executionId);
      expect(after).toMatchObject({
        status: "completed",
        consolidatedSessionId: `${executionId}_c2`,
        metadata: EXPECTED_METADATA,
        recordedSteps: 4,
      });
      expect(first.consolidatedSessionId).toBe(`${executionId}_c1`);
      expect(await consolidatedRows(executionId)).toBe(2);
    });
  });

  describe("determinism", () => {
    it("the same steps stored in shuffled orders consolidate to byte-identical content", async () => {
      const a = await execution("exec_a");
      const b = await execution("exec_b");
      await storeSteps(a, [2, 0, 3, 1]);
      await storeSteps(b, [3, 1, 0, 2]);
      const now = () => new Date("2025-03-01T11:00:00.000Z");
      const doneA = await consolidateExecution(db, a, { now, consolidatedSessionId: `${a}_c` });
      const doneB = await consolidateExecution(db, b, { now, consolidatedSessionId: `${b}_c` });
      const [contentA, contentB] = [await storedContent(doneA), await storedContent(doneB)];

      // Rebuilding from the stored steps, in any order, gives exactly the stored bytes.
      const sessionsA = await db.writer.getSessionsForConsolidation(a);
      for (const order of [
        [3, 2, 1, 0],
        [1, 3, 0, 2],
        [2, 0, 3, 1],
      ]) {
        const rebuilt = buildConsolidation({
          consolidatedSessionId: `${a}_c`,
          executionId: a,
          flowId: "jup-multiply",
          prompt: "use my 50% sol to multiply usdc 1.5x on jup",
          consolidatedAt: now(),
          sessions: order.map((i) => sessionsA[i]!),
        });
        expect(rebuilt.content).toBe(contentA);
      }

      // Two executions differ only in their ids and commit times: the rest is byte-identical,
      // whatever order their steps were inserted in (and whatever key order jsonb gave back).
      const normalise = (content: string, executionId: string) =>
        content.replaceAll(executionId, "EXEC").replace(/"timestamp":"[^"]*"/g, '"timestamp":"T"');
      expect(normalise(contentB, b)).toBe(normalise(contentA, a));
      expect(doneA.metadata).toEqual(EXPECTED_METADATA);
      expect(doneB.metadata).toEqual(EXPECTED_METADATA);
    });
  });

  describe("timeout", () => {
    async function expectTimedOutForGood(executionId: string, promise: Promise<unknown>, timeoutMs: number): Promise<void> {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OrchestratorError);
      expect((error as OrchestratorError).code).toBe("CONSOLIDATION_TIMEOUT");
      expect((error as OrchestratorError).message).toBe(`Consolidation timed out after ${timeoutMs}ms`);
      expect(((error as OrchestratorError).cause as DatabaseError).code).toBe("TIMEOUT");
      // Nothing is written late, after the caller heard "timed out": once every transaction has ended.
      await transactionsSettled();
      expect(await consolidatedRows(executionId)).toBe(0);
      const status = await getConsolidationStatus(db, executionId);
      expect(status).toMatchObject({ status: "timed_out", consolidatedSessionId: null });
      expect(status.error).toMatch(/^Consolidation of execution .* timed out: nothing was stored by its deadline/);
    }

    it("a deadline that passes inside the transaction, after the build: rolled back, status timed_out, no row ever", async () => {
      const executionId = await execution();
      await storeSteps(executionId, [0, 1, 2, 3]);
      await expectTimedOutForGood(
        executionId,
        consolidateExecution({ writer: deadlinePassingWriter() }, executionId, { timeoutMs: 150 }),
        150,
      );
    });

    it("a busy database that keeps the consolidation past its deadline: status timed_out, no row ever", async () => {
      const executionId = await execution();
      await storeSteps(executionId, [0, 1, 2, 3]);
      // The consolidation's clock, moved by the test once the consolidation is stuck behind the busy database.
      let clock = Date.now();
      const now = () => new Date(clock);
      const timeoutMs = 60_000;
      const released = gate();
      let busy: Promise<unknown>;
      let consolidating: Promise<unknown>;
      if (backend.name === "pglite") {
        // PGlite has one connection: a transaction held open makes every other query wait behind it.
        const holding = gate();
        busy = db.writer.withDatabaseTransaction(async () => {
          holding.release();
          await released.promise;
        });
        await holding.promise;
        consolidating = consolidateExecution(db, executionId, { timeoutMs, now }).catch((e: unknown) => e);
      } else {
        // Block inserts into consolidated_sessions (reads still pass): the consolidation gets as far as
        // its INSERT and waits there, inside its transaction.
        const holding = gate();
        busy = prismaClientOf(db).$transaction(
          async (tx) => {
            await tx.$executeRawUnsafe("LOCK TABLE consolidated_sessions IN EXCLUSIVE MODE");
            holding.release();
            await released.promise;
          },
          { timeout: 60_000 },
        );
        await holding.promise;
        consolidating = consolidateExecution(db, executionId, { timeoutMs, now }).catch((e: unknown) => e);
        await waitForLockWait();
        // Stuck inside its transaction: everyone else already sees it under way.
        expect(await getConsolidationStatus(db, executionId)).toMatchObject({
          status: "in_progress",
          consolidatedSessionId: null,
          metadata: null,
        });
      }
      clock += timeoutMs + 1;
      released.release();
      await busy;
      await expectTimedOutForGood(
        executionId,
        consolidating.then((e) => Promise.reject(e)),
        timeoutMs,
      );
      // Once the database is free again, consolidating works.
      const done = await consolidateExecution(db, executionId);
      expect(done.metadata).toEqual(EXPECTED_METADATA);
    });

    /** Resolves once a statement on the database waits for a lock (PostgreSQL). */
    async function waitForLockWait(): Promise<void> {
      for (let polls = 0; ; polls++) {
        const [row] = await prismaClientOf(db).$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        if ((row?.n ?? 0) > 0) return;
        if (polls > 2_000) throw new Error("the consolidation never waited for the lock");
        await sleep(5);
      }
    }
  });

  describe("through the executor", () => {
    it("the execution result reports the consolidation's id, status and metadata as stored", async () => {
      const flow = plan({
        flowId: uid("flow"),
        steps: [
          {
            stepId: "balance",
            prompt: "p",
            requiredTools: ["get_balance"],
            script: [{ score: 0.5, toolCalls: [{ toolName: "get_balance" }, { toolName: "price" }] }],
          },
          { stepId: "swap", prompt: "p", script: [{ fail: "no route" }] },
        ],
      });
      const executionId = uid("exec");
      const result = await new PingPongExecutor(db).execute(flow, new ScriptedAgent(), { executionId });
      expect(result.status).toBe("failed");
      expect(result.consolidation.status).toBe("completed");
      expect(result.consolidation.error).toBeNull();
      // avg = the one recorded score, 0.5 (the failed step has none); success 1 / 2; tools 2 + 0.
      expect(result.consolidation.metadata).toMatchObject({ avgScore: 0.5, successRate: 50, totalTools: 2 });
      expect(result.consolidatedSessionId).toMatch(new RegExp(`^${executionId}_consolidated_\\d+$`));

      const [row] = await db.writer.getConsolidatedSessionsByExecution(executionId);
      expect(row!.consolidatedSessionId).toBe(result.consolidatedSessionId);
      expect({
        avgScore: row!.avgScore,
        totalTools: row!.totalTools,
        successRate: row!.successRate,
        executionDurationMs: row!.executionDurationMs,
        totalInputTokens: row!.totalInputTokens,
        totalOutputTokens: row!.totalOutputTokens,
        costUsd: row!.costUsd,
      }).toEqual(result.consolidation.metadata);
      const document = ZConsolidatedContent.parse(JSON.parse(row!.consolidatedContent));
      expect(document.steps.map((s) => [s.step_id, s.status])).toEqual([
        ["balance", "success"],
        ["swap", "failed"],
      ]);
      // The duration comes from the steps' own timings.
      const first = result.stepResults[0]!;
      const last = result.stepResults[1]!;
      expect(row!.executionDurationMs).toBe(Date.parse(last.finishedAt!) - Date.parse(first.startedAt!));
      expect(await getConsolidationStatus(db, executionId)).toMatchObject({
        status: "completed",
        consolidatedSessionId: result.consolidatedSessionId,
      });
    });

    it("consolidate: false leaves the consolidation pending", async () => {
      const executionId = uid("exec");
      const result = await new PingPongExecutor(db).execute(
        plan({ flowId: uid("flow"), steps: [{ stepId: "a", prompt: "p" }] }),
        new ScriptedAgent(),
        {
          executionId,
          consolidate: false,
        },
      );
      expect(result.consolidation).toEqual({ status: "skipped", error: "consolidation was not requested", metadata: null, costGaps: [] });
      expect(result.consolidatedSessionId).toBeNull();
      expect((await getConsolidationStatus(db, executionId)).status).toBe("pending");
    });

    it("a failing consolidation does not break the execution result", async () => {
      const executionId = uid("exec");
      // The database refuses the consolidation (as a full disk would) once its steps are read.
      const { writer } = loggingWriter(db.writer, {
        consolidate: (real, input) =>
          real({
            ...(input as ConsolidateInput),
            build: () => {
              throw new DatabaseError("INTERNAL", "disk full");
            },
          }),
      });
      const result = await new PingPongExecutor({ writer }).execute(
        plan({ flowId: uid("flow"), steps: [{ stepId: "a", prompt: "p" }] }),
        new ScriptedAgent(),
        {
          executionId,
        },
      );
      expect(result.status).toBe("completed");
      expect(result.error).toBeNull();
      expect(result.consolidatedSessionId).toBeNull();
      expect(result.consolidation).toEqual({ status: "failed", error: "disk full", metadata: null, costGaps: [] });
      expect(await db.writer.getExecutionSession(executionId)).toMatchObject({
        status: "completed",
        consolidation: { status: "failed", error: "disk full" },
      });
      expect(await consolidatedRows(executionId)).toBe(0);
    });

    it("a consolidation that times out is reported as timed_out; the run keeps its own status", async () => {
      const executionId = uid("exec");
      const result = await new PingPongExecutor({ writer: deadlinePassingWriter() }, { consolidationTimeoutMs: 120 }).execute(
        plan({
          flowId: uid("flow"),
          steps: [
            { stepId: "a", prompt: "p" },
            { stepId: "b", prompt: "p", script: [{ fail: "x" }] },
          ],
        }),
        new ScriptedAgent(),
        { executionId },
      );
      expect(result.status).toBe("failed");
      expect(result.error).toBe("1 of 2 steps did not succeed");
      expect(result.consolidation).toEqual({
        status: "timed_out",
        error: "Consolidation timed out after 120ms",
        metadata: null,
        costGaps: [],
      });
      expect(result.consolidatedSessionId).toBeNull();
      await transactionsSettled();
      expect(await consolidatedRows(executionId)).toBe(0);
      expect((await getConsolidationStatus(db, executionId)).status).toBe("timed_out");
    });
  });
});
