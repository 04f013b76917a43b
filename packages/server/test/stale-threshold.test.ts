// The stale threshold a server is started with (reev serve passes $REEV_STALE_AFTER_MS) is the one
// every view judges a running run by: the runs list, the API's JSON, the run page, the event stream,
// the evaluations list and page, and compare. With the default one the same runs are not marked.
import type { Database } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { evaluationPlans, recordEvaluation } from "./support/evaluations.js";
import { readEvents } from "./support/sse.js";

/** A heartbeat this long ago: past the one-minute threshold the test starts a server with, within the default two minutes (DEFAULT_STALE_AFTER_MS). */
const SILENT_MS = 90_000;
const THRESHOLD_MS = 60_000;

/** Owner and heartbeat as a run of another host (or of this test process, still alive) leaves them, silent for SILENT_MS. */
async function silence(db: Database, executionId: string, host?: string) {
  await prismaClientOf(db).executionSession.update({
    where: { executionId },
    data: { ...(host ? { ownerHost: host, ownerPid: 4242 } : {}), heartbeatAt: new Date(Date.now() - SILENT_MS) },
  });
}

describe.each(testBackends())("the stale threshold a server is started with, on $name", (backend) => {
  test.override({ backend });

  test("a run of a live process silent past it: stale in the list, the API and the page; not with the default", async ({ db }) => {
    const id = `stale-here-${backend.name}-${Date.now()}`;
    await db.writer.createExecutionSession({ executionId: id, flowId: "stale-here", agent: "scripted", prompt: "p" });
    // Its owner is this test process, alive: never abandoned, only stale.
    await silence(db, id);
    const views = async (staleAfterMs?: number) => {
      const { app } = createServer({ db, log: () => {}, staleAfterMs });
      const list = (await (await app.request("/api/v1/executions?flowId=stale-here")).json()) as { data: Record<string, unknown>[] };
      const page = await (await app.request("/?flowId=stale-here")).text();
      return {
        listed: list.data.find((e) => e.execution_id === id),
        single: (await (await app.request(`/api/v1/executions/${id}`)).json()) as Record<string, unknown>,
        row: page.match(new RegExp(`<tr data-execution-id="${id}"[\\s\\S]*?</tr>`))?.[0] ?? page,
      };
    };
    const stale = await views(THRESHOLD_MS);
    expect(stale.listed).toMatchObject({ status: "running", stale: true, abandoned: false });
    expect(stale.single).toMatchObject({ status: "running", stale: true, abandoned: false });
    expect(stale.row).toContain("… running (stale)</td>");
    const fresh = await views();
    expect(fresh.listed).toMatchObject({ stale: false, abandoned: false });
    expect(fresh.single).toMatchObject({ stale: false, abandoned: false });
    expect(fresh.row).toContain("… running</td>");
    await db.writer.finishExecutionSession(id, { status: "failed", error: "test over" });
  });

  test("a run of another host silent past it: abandoned on its page and in its event stream", async ({ db }) => {
    const id = `stale-elsewhere-${backend.name}-${Date.now()}`;
    await db.writer.createExecutionSession({ executionId: id, flowId: "stale-elsewhere", agent: "scripted", prompt: "p" });
    await silence(db, id, "elsewhere.example");
    const strict = createServer({ db, log: () => {}, staleAfterMs: THRESHOLD_MS }).app;
    expect(await (await strict.request(`/runs/${id}`)).text()).toContain("⚠️ Run abandoned: its process is gone");
    const events = await readEvents(await strict.request(`/api/v1/executions/${id}/events`), (e) => e.event === "consolidation");
    expect(events.find((e) => e.event === "status")?.data).toContain('"abandoned":true');
    const lenient = createServer({ db, log: () => {} }).app;
    const followed = await readEvents(await lenient.request(`/api/v1/executions/${id}/events`), (e) => e.event === "consolidation");
    expect(followed.find((e) => e.event === "status")?.data).toContain('"abandoned":false');
    const page = await (await lenient.request(`/runs/${id}`)).text();
    expect(page).toContain("… Run still running");
    expect(page).not.toContain("Run abandoned");
    await db.writer.finishExecutionSession(id, { status: "failed", error: "test over" });
  });

  test("an evaluation of another host silent past it: abandoned in the list, on its page and in compare", async ({ db }) => {
    const prefix = `stale-eval-${backend.name}-${Date.now()}`;
    const done = await recordEvaluation(db, {
      id: `${prefix}-done`,
      name: "done",
      plans: evaluationPlans(prefix, false),
      repeat: 1,
      startedAt: new Date(),
    });
    expect(done.runs).toBeGreaterThan(0);
    const running = `${prefix}-running`;
    await db.writer.createEvaluationRun({ id: running, agent: "scripted", configuration: {} });
    await prismaClientOf(db).evaluationRun.update({
      where: { id: running },
      data: { ownerHost: "elsewhere.example", ownerPid: 4242, heartbeatAt: new Date(Date.now() - SILENT_MS) },
    });
    const judged = async (staleAfterMs?: number) => {
      const { app } = createServer({ db, log: () => {}, staleAfterMs });
      const list = await (await app.request("/evaluations")).text();
      const compare = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a: `${prefix}-done`, b: running })}`)).json()) as {
        error: { message: string };
      };
      return {
        row: list.match(new RegExp(`data-evaluation-id="${running}"[\\s\\S]*?</tr>`))?.[0] ?? list,
        page: await (await app.request(`/evaluations/${running}`)).text(),
        compared: compare.error.message,
      };
    };
    const strict = await judged(THRESHOLD_MS);
    expect(strict.row).toContain("running (abandoned)</td>");
    expect(strict.page).toMatch(/<p class="ids">[^<]*running \(abandoned\) · started/);
    expect(strict.compared).toContain(`Evaluation "${running}" was abandoned`);
    const lenient = await judged();
    expect(lenient.row).toContain('<td data-label="Status">running</td>');
    expect(lenient.page).not.toContain("abandoned");
    expect(lenient.compared).toContain(`Evaluation "${running}" is still running`);
  });

  test("a threshold that is not a whole number of milliseconds from 1 is refused, naming it", ({ db }) => {
    for (const staleAfterMs of [0, -5, 2.5]) {
      expect(() => createServer({ db, log: () => {}, staleAfterMs }), String(staleAfterMs)).toThrow(
        expect.objectContaining({ code: "VALIDATION", field: "staleAfterMs" }),
      );
    }
  });
});
