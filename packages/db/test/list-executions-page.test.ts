// The runs list reads on the driver, not through Prisma (see runDriverRead): the same rows as the
// writer's records, typed alike (timestamps as Date) on both backends, with every filter and the keyset.
import { describe, expect } from "vitest";
import { DatabaseError, listExecutionsPage, storedFlowIds } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { uid } from "./helpers.js";

describe.each(testBackends())("listExecutionsPage on $name", (backend) => {
  test.override({ backend });

  test("a page is the writer's records, newest first, typed alike; filters and the keyset narrow it", async ({ db }) => {
    const flowId = uid("flow");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const executionId = uid(`run-${i}`);
      await db.writer.createExecutionSession({ executionId, flowId, agent: "lister", prompt: `prompt 50% of_${i}` });
      ids.push(executionId);
    }
    // Distinct start times, one second apart, the last created the newest.
    for (const [i, id] of ids.entries()) {
      await prismaClientOf(db).executionSession.update({
        where: { executionId: id },
        data: { startedAt: new Date(Date.UTC(2026, 11, 1, 12, 0, i)) },
      });
    }
    await db.writer.finishExecutionSession(ids[0]!, { status: "failed", error: "it broke" });

    const page = await listExecutionsPage(db, { flowId, limit: 2 });
    expect(page.executions.map((e) => e.executionId)).toEqual([ids[4], ids[3]]);
    for (const summary of page.executions) {
      const record = (await db.writer.getExecutionSession(summary.executionId))!;
      expect(summary).toEqual({
        executionId: record.executionId,
        flowId: record.flowId,
        agent: record.agent,
        prompt: record.prompt,
        status: record.status,
        startedAt: record.startedAt,
        finishedAt: record.finishedAt,
        durationMs: record.durationMs,
        error: record.error,
        consolidation: { status: record.consolidation.status },
        owner: record.owner,
        heartbeatAt: record.heartbeatAt,
      });
      expect(summary.startedAt).toBeInstanceOf(Date);
      expect(summary.owner?.startedAt).toBeInstanceOf(Date);
    }
    expect(page.next).toEqual({ startedAt: page.executions[1]!.startedAt, executionId: ids[3] });

    const rest = await listExecutionsPage(db, { flowId, limit: 2, after: page.next! });
    expect(rest.executions.map((e) => e.executionId)).toEqual([ids[2], ids[1]]);
    const last = await listExecutionsPage(db, { flowId, limit: 2, after: rest.next! });
    expect(last.executions.map((e) => e.executionId)).toEqual([ids[0]]);
    expect(last.next).toBeNull();

    const failed = (await listExecutionsPage(db, { flowId, status: "failed" })).executions;
    expect(failed.map((e) => [e.executionId, e.error, e.finishedAt instanceof Date])).toEqual([[ids[0], "it broke", true]]);
    const window = await listExecutionsPage(db, {
      flowId,
      from: new Date(Date.UTC(2026, 11, 1, 12, 0, 1)),
      to: new Date(Date.UTC(2026, 11, 1, 12, 0, 3)),
    });
    expect(window.executions.map((e) => e.executionId)).toEqual([ids[2], ids[1]]);
    // `q` is a literal substring: its % and _ match only themselves.
    expect((await listExecutionsPage(db, { flowId, q: "50% OF_3" })).executions.map((e) => e.executionId)).toEqual([ids[3]]);
    expect((await listExecutionsPage(db, { flowId, q: "50%_of" })).executions).toEqual([]);
  });

  test("bad input is a typed error that names the field, before any read", async ({ db }) => {
    const error = await listExecutionsPage(db, { limit: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).field).toBe("limit");
    // A range that ends before it starts (the two swapped) is refused, not answered with an empty list.
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 12, minute));
    const swapped = await listExecutionsPage(db, { from: at(5), to: at(1) }).catch((e: unknown) => e);
    expect(swapped).toMatchObject({ field: "to", message: expect.stringContaining("must be later than from") });
    expect(await listExecutionsPage(db, { from: at(1), to: at(1) }).catch((e: unknown) => e)).toMatchObject({ field: "to" });
    await expect(listExecutionsPage(db, { from: at(1), to: at(5) })).resolves.toMatchObject({ next: null });
  });

  test("storedFlowIds lists each stored flow once", async ({ db }) => {
    const [b, a] = [uid("flow-b"), uid("flow-a")];
    for (const [i, flowId] of [b, a, b].entries()) {
      await db.writer.createExecutionSession({ executionId: uid(`ids-${i}`), flowId, agent: "lister", prompt: "p" });
    }
    const ids = await storedFlowIds(db);
    expect(ids.filter((id) => id === a || id === b).sort()).toEqual([a, b].sort());
    expect(new Set(ids).size).toBe(ids.length);
  });
});
