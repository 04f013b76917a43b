// Evaluation runs: create, finish (once, idempotently), keyset pagination, executions pointing to
// them, the `expect` verdicts stored with the steps, all or none, and the recovery of abandoned ones.
import { spawnSync } from "node:child_process";
import { describe, expect } from "vitest";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, uid } from "./helpers.js";

const passed = { passed: true, checks: [{ check: "tools", passed: true, reason: null }] };
const failed = { passed: false, checks: [{ check: "forbiddenTools", passed: false, reason: "rm was called 1 time" }] };

describe.each(testBackends())("evaluation runs on $name", (backend) => {
  test.override({ backend });

  test("an evaluation is created running, finished once with its summary, and read back", async ({ db }) => {
    const w = db.writer;
    const id = uid("eval");
    const created = await w.createEvaluationRun({ id, name: "nightly", agent: "scripted", configuration: { repeat: 5 } });
    expect(created).toMatchObject({
      id,
      name: "nightly",
      agent: "scripted",
      model: null,
      status: "running",
      finishedAt: null,
      summary: null,
    });
    await expectDbError(w.createEvaluationRun({ id, agent: "scripted", configuration: {} }), "CONFLICT", "id");

    const finishedAt = new Date("2026-12-03T08:00:00.000Z");
    const done = await w.finishEvaluationRun(id, { status: "incomplete", summary: { flows: [] }, finishedAt });
    expect(done).toMatchObject({ status: "incomplete", summary: { flows: [] }, finishedAt });
    // The same finish again is answered with the record; another is refused.
    expect(await w.finishEvaluationRun(id, { status: "incomplete", summary: { flows: [] }, finishedAt })).toEqual(done);
    await expectDbError(w.finishEvaluationRun(id, { status: "completed", summary: {} }), "TRANSACTION_STATE", "id");
    expect(await w.getEvaluationRun(id)).toEqual(done);
    expect(await w.getEvaluationRun(uid("eval"))).toBeNull();
    await expectDbError(w.finishEvaluationRun(uid("eval"), { status: "completed", summary: {} }), "NOT_FOUND", "id");
  });

  test("bad input names the field and writes nothing", async ({ db }) => {
    const w = db.writer;
    const before = await prismaClientOf(db).evaluationRun.count();
    await expectDbError(w.createEvaluationRun({ id: "", agent: "a", configuration: {} }), "VALIDATION", "id");
    await expectDbError(
      w.createEvaluationRun({ id: uid("eval"), agent: "a", configuration: { x: Number.NaN } }),
      "VALIDATION",
      "configuration",
    );
    await expectDbError(w.finishEvaluationRun("x", { status: "running" as never, summary: {} }), "VALIDATION", "status");
    await expectDbError(w.listEvaluationRuns({ limit: 0 }), "VALIDATION", "limit");
    expect(await prismaClientOf(db).evaluationRun.count()).toBe(before);
  });

  test("the list pages newest first by (started_at, id), ties broken by id, without gaps or repeats", async ({ db }) => {
    const w = db.writer;
    const prefix = uid("page");
    const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));
    // Two share a start time: the id orders them.
    const specs = [
      { id: `${prefix}-a`, startedAt: at(1) },
      { id: `${prefix}-b`, startedAt: at(2) },
      { id: `${prefix}-c`, startedAt: at(2) },
      { id: `${prefix}-d`, startedAt: at(3) },
      { id: `${prefix}-e`, startedAt: at(4) },
    ];
    for (const spec of specs) await w.createEvaluationRun({ ...spec, agent: "scripted", configuration: {} });
    const seen: string[] = [];
    let cursor = null;
    for (;;) {
      const page: Awaited<ReturnType<typeof w.listEvaluationRuns>> = await w.listEvaluationRuns({ limit: 2, cursor });
      seen.push(...page.items.map((e) => e.id).filter((id) => id.startsWith(prefix)));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([`${prefix}-e`, `${prefix}-d`, `${prefix}-c`, `${prefix}-b`, `${prefix}-a`]);
  });

  test("executions point to their evaluation; its executions are read with steps and verdicts", async ({ db }) => {
    const w = db.writer;
    const evaluationId = uid("eval");
    await w.createEvaluationRun({ id: evaluationId, agent: "scripted", configuration: {} });
    const executionId = uid();
    await w.createExecutionSession({ executionId, flowId: "f", agent: "scripted", prompt: "p", evaluationId });
    expect((await w.getExecutionSession(executionId))?.evaluationId).toBe(evaluationId);
    await w.storeStep(executionId, {
      stepIndex: 0,
      stepId: "a",
      status: "success",
      score: 0.5,
      attempts: [
        { attempt: 1, status: "failed", model: "m", inputTokens: 9_007_199_254_740, outputTokens: null },
        { attempt: 2, status: "success", model: "m", inputTokens: 20, outputTokens: 5, cachedInputTokens: 4 },
      ],
    });
    await w.storeStep(executionId, { stepIndex: 1, stepId: "b", status: "failed", error: "boom" });
    await w.recordChecks(executionId, { flow: failed, steps: [{ stepIndex: 0, result: passed }] });
    await w.finishExecutionSession(executionId, { status: "failed", durationMs: 12 });
    await createExecution(w); // not in the evaluation

    const runs = await w.listEvaluationExecutions(evaluationId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ executionId, flowId: "f", status: "failed", durationMs: 12, checks: failed });
    // Its owner and heartbeat too, in the same read: what the evaluation page marks an abandoned run by.
    const stored = await w.getExecutionSession(executionId);
    expect(runs[0]?.owner).toEqual(stored?.owner);
    expect(runs[0]?.owner?.pid).toBe(process.pid);
    expect(runs[0]?.heartbeatAt).toEqual(stored?.heartbeatAt);
    expect(runs[0]?.heartbeatAt).toBeInstanceOf(Date);
    expect(runs[0]?.steps).toEqual([
      {
        stepIndex: 0,
        stepId: "a",
        status: "success",
        score: 0.5,
        durationMs: null,
        error: null,
        checks: passed,
        // Each attempt's usage in attempt order, bigint counts as exact numbers, unreported ones null.
        usage: [
          { model: "m", inputTokens: 9_007_199_254_740, outputTokens: null, cachedInputTokens: null },
          { model: "m", inputTokens: 20, outputTokens: 5, cachedInputTokens: 4 },
        ],
      },
      { stepIndex: 1, stepId: "b", status: "failed", score: null, durationMs: null, error: "boom", checks: null, usage: [] },
    ]);
    const checks = await w.getChecks(executionId);
    expect(checks.flow).toEqual(failed);
    expect([...checks.steps]).toEqual([[0, passed]]);
    // Several executions at once (reev list's page): the same verdicts, each checked step's id with
    // them; one without verdicts has none, one not stored is absent.
    const plain = uid();
    await w.createExecutionSession({ executionId: plain, flowId: "f", agent: "a", prompt: "p" });
    const many = await w.getChecksOfExecutions([executionId, plain, uid()]);
    expect([...many.keys()].sort()).toEqual([executionId, plain].sort());
    expect(many.get(executionId)).toEqual({ flow: failed, steps: new Map([[0, passed]]), stepIds: new Map([[0, "a"]]) });
    expect(many.get(plain)).toEqual({ flow: null, steps: new Map(), stepIds: new Map() });
    expect((await w.getChecksOfExecutions([])).size).toBe(0);

    // An evaluation that does not exist cannot be pointed to.
    await expectDbError(
      w.createExecutionSession({ executionId: uid(), flowId: "f", agent: "a", prompt: "p", evaluationId: uid("eval") }),
      "NOT_FOUND",
    );
  });

  test("verdicts for a step that is not stored are refused whole, naming it", async ({ db }) => {
    const w = db.writer;
    const executionId = await createExecution(w);
    await w.storeStep(executionId, { stepIndex: 0, stepId: "a", status: "success" });
    await expectDbError(
      w.recordChecks(executionId, {
        flow: passed,
        steps: [
          { stepIndex: 0, result: passed },
          { stepIndex: 3, result: failed },
        ],
      }),
      "NOT_FOUND",
      "steps[1].stepIndex",
    );
    // Nothing of it was written: not step 0's verdict, not the flow's.
    const checks = await w.getChecks(executionId);
    expect(checks.flow).toBeNull();
    expect(checks.steps.size).toBe(0);
    await expectDbError(w.recordChecks(executionId, { flow: { passed: "yes" } as never, steps: [] }), "VALIDATION", "flow.passed");
  });

  test("an abandoned evaluation is finished incomplete only once none of its runs still runs; an unowned one only with olderThanMs", async ({
    db,
  }) => {
    const w = db.writer;
    const client = prismaClientOf(db);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
    const id = uid("eval");
    const created = await w.createEvaluationRun({ id, agent: "scripted", configuration: {} });
    expect(created.owner).toMatchObject({ pid: process.pid });
    expect(await w.evaluationHeartbeat(id)).toBe(true);
    await client.evaluationRun.update({ where: { id }, data: { ownerPid: dead } });
    // Its run is owned by this live process: the evaluation waits for it.
    const run = await createExecution(w);
    await client.executionSession.update({ where: { executionId: run }, data: { evaluationId: id } });
    const reason = `abandoned: process ${dead} on ${created.owner?.host} exited without finishing`;
    expect((await w.listAbandonedEvaluations()).filter((a) => a.evaluation.id === id)).toEqual([
      expect.objectContaining({ reason, executions: 1, runningExecutions: 1 }),
    ]);
    expect((await w.recoverAbandonedEvaluations()).map((a) => a.evaluation.id)).not.toContain(id);
    expect((await w.getEvaluationRun(id))?.status).toBe("running");

    await w.finishExecutionSession(run, { status: "completed" });
    const lastBeat = (await w.getEvaluationRun(id))?.heartbeatAt;
    const [recovered] = (await w.recoverAbandonedEvaluations()).filter((a) => a.evaluation.id === id);
    expect(recovered?.evaluation).toMatchObject({ status: "incomplete", error: reason, summary: null, finishedAt: lastBeat });
    expect(await w.evaluationHeartbeat(id)).toBe(false);

    // Recorded before owners were: left alone unless it has been silent for olderThanMs.
    const old = uid("eval");
    await w.createEvaluationRun({ id: old, agent: "scripted", configuration: {} });
    await client.evaluationRun.update({
      where: { id: old },
      data: { ownerHost: null, ownerPid: null, ownerStartedAt: null, heartbeatAt: null },
    });
    expect((await w.listAbandonedEvaluations()).map((a) => a.evaluation.id)).not.toContain(old);
    expect((await w.recoverAbandonedEvaluations({ olderThanMs: 0 })).map((a) => a.evaluation.id)).toContain(old);
    expect((await w.getEvaluationRun(old))?.status).toBe("incomplete");
  });
});
