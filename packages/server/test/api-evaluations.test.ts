// GET /api/v1/evaluations (keyset pages, like executions), /api/v1/evaluations/{id} and
// /api/v1/compare?a=&b=: what `reev eval` recorded and what `reev compare` says, as JSON, on both
// backends; and every bad input answered with the right 4xx and the field at fault.
import { type Database, MAX_ID_LENGTH } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { compareReports, type EvaluationReport } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { evaluationPlans, recordEvaluation } from "./support/evaluations.js";
import { expectMatchesOpenApi } from "./support/openapi.js";
import { flowPlan, runFlow } from "./support/runs.js";

type ListPage = {
  data: { id: string; name: string | null; status: string; runs: number | null; passes: number | null }[];
  meta: { nextCursor: string | null };
};

describe.each(testBackends())("the evaluation routes on $name", (backend) => {
  test.override({ backend });
  const prefix = `api-eval-${backend.name}-${process.pid}`;
  const ids = {
    v1: `${prefix}-v1`,
    v2: `${prefix}-v2`,
    v3: `${prefix}-v3`,
    running: `${prefix}-running`,
    incomplete: `${prefix}-incomplete`,
  };
  let reports: { v1: EvaluationReport; v2: EvaluationReport };
  let executionId: string;

  /** Set up once per backend, on the first test's database (the `db` fixture is per test, the database per file). */
  const seed = async (db: Database) => {
    if (reports) return;
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 9, minute));
    const v1 = await recordEvaluation(db, { id: ids.v1, name: "v1", plans: evaluationPlans(prefix, false), repeat: 5, startedAt: at(1) });
    const v2 = await recordEvaluation(db, {
      id: ids.v2,
      name: "v2",
      plans: evaluationPlans(prefix, true),
      repeat: 5,
      startedAt: at(2),
      baseline: ids.v1,
    });
    await recordEvaluation(db, { id: ids.v3, name: "v3", plans: evaluationPlans(prefix, false), repeat: 1, startedAt: at(3) });
    await db.writer.createEvaluationRun({ id: ids.running, agent: "scripted", configuration: {}, startedAt: at(4) });
    // As `reev recover` leaves an evaluation whose process died: finished, unfinished, with no summary.
    await db.writer.createEvaluationRun({ id: ids.incomplete, agent: "scripted", configuration: {}, startedAt: at(0) });
    await prismaClientOf(db).evaluationRun.update({
      where: { id: ids.incomplete },
      data: { status: "incomplete", error: "abandoned: process 4242 exited without finishing", finishedAt: at(0) },
    });
    reports = { v1, v2 };
    executionId = await runFlow(db, flowPlan(`${prefix}-single`, 2));
  };

  test("pages through every evaluation newest first, each once, with its counts", async ({ db }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const seen: ListPage["data"] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: "1", ...(cursor ? { cursor } : {}) });
      const response = await app.request(`/api/v1/evaluations?${query}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as ListPage;
      expect(page.data.length).toBeLessThanOrEqual(1);
      seen.push(...page.data);
      cursor = page.meta.nextCursor;
    } while (cursor);
    const mine = seen.filter((e) => e.id.startsWith(prefix));
    expect(mine.map((e) => [e.id, e.status, e.runs, e.passes])).toEqual([
      [ids.running, "running", null, null],
      [ids.v3, "completed", 2, 2],
      [ids.v2, "completed", 10, 5],
      [ids.v1, "completed", 10, 9],
      [ids.incomplete, "incomplete", null, null],
    ]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
  });

  test("an evaluation without a report says why in its own words: not yet while running, never once it ended unfinished", async ({
    db,
  }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const page = async (id: string) => (await app.request(`/evaluations/${id}`)).text();
    const running = await page(ids.running);
    expect(running).toContain("is still running: its report is written when its last run ends. Reload to see it.");
    const incomplete = await page(ids.incomplete);
    expect(incomplete).toContain(
      "ended incomplete without a report (abandoned: process 4242 exited without finishing): its runs were never counted",
    );
    expect(incomplete).not.toContain("Reload");
    const compared = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: ids.incomplete })}`)).json()) as {
      error: { message: string };
    };
    expect(compared.error.message).toContain(`Evaluation "${ids.incomplete}" ended incomplete without a report`);
    expect(compared.error.message).not.toContain("still");
    // Running, its process gone (kill -9): abandoned, never "reload to see it", here and in compare.
    const client = prismaClientOf(db);
    const owner = await client.evaluationRun.findUniqueOrThrow({ where: { id: ids.running } });
    await client.evaluationRun.update({
      where: { id: ids.running },
      data: { ownerStartedAt: new Date((owner.ownerStartedAt as Date).getTime() - 3_600_000) },
    });
    const abandoned = await page(ids.running);
    expect(abandoned).toContain(
      `Evaluation &quot;${ids.running}&quot; was abandoned: its process is gone and it never finished, so it has no report. reev recover marks it incomplete.`,
    );
    expect(abandoned).not.toContain("Reload");
    // Its facts line marks it as the list does, not plain "running".
    expect(abandoned).toMatch(/<p class="ids">[^<]*running \(abandoned\) · started/);
    const listed = await (await app.request("/evaluations")).text();
    expect(listed).toMatch(new RegExp(`data-evaluation-id="${ids.running}"[\\s\\S]*?running \\(abandoned\\)</td>`));
    const comparedAbandoned = (await (
      await app.request(`/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: ids.running })}`)
    ).json()) as {
      error: { message: string };
    };
    expect(comparedAbandoned.error.message).toContain(`Evaluation "${ids.running}" was abandoned`);
  });

  test("an evaluation's page links the runs its report does not count: cancelled by an interruption, or all while it has none", async ({
    db,
  }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const cancelled = `${prefix}-cancelled`;
    const pending = `${prefix}-pending`;
    for (const [executionId, evaluationId] of [
      [cancelled, ids.v3],
      [pending, ids.running],
    ] as const)
      await db.writer.createExecutionSession({ executionId, flowId: "late", agent: "scripted", prompt: "p", evaluationId });
    await db.writer.finishExecutionSession(cancelled, { status: "cancelled", error: "interrupted" });
    const uncounted = /<section aria-label="Runs not counted">[\s\S]*?<\/section>/;
    const section = async (id: string) => (await (await app.request(`/evaluations/${id}`)).text()).match(uncounted)?.[0] ?? "";
    const v3 = await section(ids.v3);
    expect(v3).toContain("Runs not counted (1)");
    expect(v3).toContain(`<a href="/runs/${cancelled}">${cancelled}</a>`);
    expect(v3).toContain("cancelled");
    const running = await section(ids.running);
    expect(running).toContain("Its runs so far (1)");
    expect(running).toContain(`<a href="/runs/${pending}">${pending}</a>`);
    // Every run counted: no such section.
    expect(await section(ids.v1)).toBe("");
    await db.writer.finishExecutionSession(pending, { status: "cancelled", error: "test over" });
  });

  test("one evaluation is its stored report; a comparison is reev compare's, flagging the change made", async ({ db }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const one = await app.request(`/api/v1/evaluations/${encodeURIComponent(ids.v1)}`);
    expect(one.status).toBe(200);
    const body = (await one.json()) as { id: string; name: string; report: EvaluationReport; configuration: { repeat: number } };
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/evaluations/{id}", status: 200 }, body);
    const list = await app.request("/api/v1/evaluations?limit=2");
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/evaluations", status: 200 }, await list.json());
    expect(body).toMatchObject({ id: ids.v1, name: "v1", configuration: { repeat: 5 } });
    expect(body.report).toEqual(JSON.parse(JSON.stringify(reports.v1)));
    // Tokens and cost, from the stored usage: 5 runs × (1200 in, 300 out, 200 cached).
    expect(body.report.flows[0]).toMatchObject({
      inputTokens: { total: 6000 },
      outputTokens: { total: 1500 },
      cachedInputTokens: { total: 1000 },
    });
    expect(body.report.flows[0]!.costUsd.total).toBeCloseTo((5 * (1000 * 2.5 + 200 * 1.25 + 300 * 10)) / 1e6, 12);

    const running = (await (await app.request(`/api/v1/evaluations/${ids.running}`)).json()) as { report: unknown; runs: unknown };
    expect(running).toMatchObject({ report: null, runs: null });

    const compared = await app.request(`/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: ids.v2 })}`);
    expect(compared.status).toBe(200);
    const comparison = (await compared.json()) as { kind: string; comparison: ReturnType<typeof compareReports> };
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/compare", status: 200 }, comparison);
    expect(comparison).toMatchObject({
      a: ids.v1,
      b: ids.v2,
      // Each side with its name, as the viewer's compare page heads it.
      sides: { a: { id: ids.v1, name: "v1" }, b: { id: ids.v2, name: "v2" } },
      kind: "evaluation",
    });
    expect(comparison.comparison).toEqual(JSON.parse(JSON.stringify(compareReports(reports.v1.flows, reports.v2.flows))));
    expect(comparison.comparison.flagged).toEqual([
      { flowId: `${prefix}-shaky`, stepId: null, verdict: "regression" },
      { flowId: `${prefix}-shaky`, stepId: "write", verdict: "regression" },
    ]);
  });

  test("the compare page links A and B to their pages; an id compared with itself is said first, in the API and on the page", async ({
    db,
  }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const page = async (a: string, b: string) => (await app.request(`/compare?${new URLSearchParams({ a, b })}`)).text();
    const link = (href: string, id: string) => `<a href="${href}"><code>${id}</code></a>`;
    const evaluations = await page(ids.v1, ids.v2);
    expect(evaluations).toContain(link(`/evaluations/${ids.v1}`, ids.v1));
    expect(evaluations).toContain(link(`/evaluations/${ids.v2}`, ids.v2));
    expect(evaluations).not.toContain("the same evaluation");
    const other = await runFlow(db, flowPlan(`${prefix}-other`, 1));
    const executions = await page(executionId, other);
    expect(executions).toContain(link(`/runs/${executionId}`, executionId));
    expect(executions).toContain(link(`/runs/${other}`, other));

    const same = `A and B are the same evaluation (${ids.v1}), so every difference is zero: give two different ids to compare.`;
    const api = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: ids.v1 })}`)).json()) as {
      comparison: { notes: string[] };
    };
    expect(api.comparison.notes[0]).toBe(same);
    expect((await page(ids.v1, ids.v1)).match(/<section class="notes"[^>]*><p class="note">([^<]*)<\/p>/)?.[1]).toBe(same);
    const run = (await (await app.request(`/api/v1/compare?${new URLSearchParams({ a: executionId, b: executionId })}`)).json()) as {
      comparison: { notes: string[] };
    };
    expect(run.comparison.notes[0]).toContain("A and B are the same execution");
  });

  test("a cursor of one list is refused by the other, saying whose it is: both page by (started_at, id)", async ({ db }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const nextOf = async (path: string) => ((await (await app.request(path)).json()) as { meta: { nextCursor: string } }).meta.nextCursor;
    const runs = await nextOf("/api/v1/executions?limit=1");
    const evaluations = await nextOf("/api/v1/evaluations?limit=1");
    expect([runs, evaluations]).toEqual([expect.any(String), expect.any(String)]);
    for (const [path, message] of [
      [
        `/api/v1/evaluations?cursor=${runs}`,
        "The cursor pages the executions list, not the evaluations: pass the nextCursor this list gave out.",
      ],
      [
        `/api/v1/executions?cursor=${evaluations}`,
        "The cursor pages the evaluations list, not the executions: pass the nextCursor this list gave out.",
      ],
    ]) {
      const response = await app.request(path!);
      expect({ path, status: response.status, body: await response.json() }).toEqual({
        path,
        status: 400,
        body: { error: { code: "INVALID_ARGUMENT", message, field: "cursor" } },
      });
    }
  });

  test.for([
    ["/api/v1/evaluations?limit=0", 400, "limit"],
    ["/api/v1/evaluations?limit=ten", 400, "limit"],
    ["/api/v1/evaluations?limit=100000", 400, "limit"],
    ["/api/v1/evaluations?cursor=not%20a%20cursor", 400, "cursor"],
    [`/api/v1/evaluations?cursor=${Buffer.from(JSON.stringify(["yesterday", "eval_x"])).toString("base64url")}`, 400, "cursor"],
    [`/api/v1/evaluations?cursor=${Buffer.from(JSON.stringify({ id: "eval_x" })).toString("base64url")}`, 400, "cursor"],
    ["/api/v1/evaluations/eval_nope", 404, undefined],
    [`/api/v1/evaluations/${"e".repeat(MAX_ID_LENGTH + 1)}`, 400, "id"],
    ["/api/v1/compare?a=eval_nope&b=eval_nope", 404, "a"],
    ["/api/v1/compare?b=eval_nope", 400, "a"],
    ["/api/v1/compare?a=eval_nope", 400, "b"],
    ["A_EVAL_B_EXECUTION", 400, "b"],
    ["A_RUNNING", 400, "a"],
    ["B_INCOMPLETE", 400, "b"],
  ] as const)("GET %s → %i naming %s", async ([path, status, field], { db }) => {
    await seed(db);
    const { app } = createServer({ db, log: () => {} });
    const url =
      path === "A_EVAL_B_EXECUTION"
        ? `/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: executionId })}`
        : path === "A_RUNNING"
          ? `/api/v1/compare?${new URLSearchParams({ a: ids.running, b: ids.v1 })}`
          : path === "B_INCOMPLETE"
            ? `/api/v1/compare?${new URLSearchParams({ a: ids.v1, b: ids.incomplete })}`
            : path;
    const response = await app.request(url);
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.field).toBe(field);
    if (path === "/api/v1/compare?b=eval_nope") expect(body.error.message).toBe("The query parameter a is required.");
  });
});
