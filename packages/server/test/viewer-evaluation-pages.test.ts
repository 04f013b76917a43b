// An evaluation's page and its API answer: which `expect` checks failed in how many runs (from the
// stored verdicts), its runs that completed but failed a check read as such; an id cut short is
// answered with the evaluations that contain it; and the runs of an abandoned evaluation are marked
// as the runs list marks them, by the server's threshold. Both backends.
import type { Database } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import type { EvaluationReport } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { evaluationPlans, recordEvaluation } from "./support/evaluations.js";

const FORBIDDEN = "delete is forbidden but was called 1 time (failed calls count too)";
/** The page's text, tags and runs of spaces collapsed to one space. */
const textOf = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

describe.each(testBackends())("an evaluation's page and API answer on $name", (backend) => {
  test.override({ backend });
  const prefix = `viewer-eval-pages-${backend.name}-${process.pid}`;

  test("say which check failed in how many runs and why, and a run that failed one completed", async ({ db }) => {
    const id = `${prefix}-checks`;
    const report = await recordEvaluation(db, {
      id,
      name: "checks",
      plans: evaluationPlans(prefix, false),
      repeat: 3,
      startedAt: new Date(),
    });
    const shaky = report.flows[1]!;
    const failing = shaky.runTotals!.filter((t) => !t.passed);
    expect(failing).toHaveLength(1);
    const { app } = createServer({ db, log: () => {} });

    const html = await (await app.request(`/evaluations/${id}`)).text();
    const page = textOf(html);
    expect(page).toContain(`Checks that failed write › forbiddenTools ✗ in 1 of 3 runs: ${FORBIDDEN}`);
    expect(page).toContain(`${failing[0]!.runId} completed, failed a check (✗ write › forbiddenTools) ·`);
    // The flow that passed every run has nothing to say.
    expect(html.match(/<h3>Checks that failed<\/h3>/g)).toHaveLength(1);
    // The reason is said once, with the check: the step that failed only it points there.
    expect(page.split(FORBIDDEN)).toHaveLength(2);
    expect(page).toContain("1× (no error: its expect checks failed; see the checks that failed)");

    const api = (await (await app.request(`/api/v1/evaluations/${id}`)).json()) as { report: EvaluationReport };
    expect(api.report.flows[1]!.checkFailures).toEqual([
      { stepId: "write", check: "forbiddenTools", runs: 1, reasons: [{ reason: FORBIDDEN, count: 1 }], distinctReasons: 1 },
    ]);
    expect(api.report.flows[1]!.runTotals!.find((t) => !t.passed)).toMatchObject({
      status: "completed",
      failedChecks: [{ stepId: "write", check: "forbiddenTools" }],
    });
  });

  test("an id cut short is answered with the evaluation, or the evaluations, that contain it", async ({ db }) => {
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 5, 8, minute));
    const one = `${prefix}-near_20261205080032_b0826e`;
    const other = `${prefix}-near_20261205080032_c11111`;
    await db.writer.createEvaluationRun({ id: one, agent: "scripted", configuration: {}, startedAt: at(1) });
    const { app } = createServer({ db, log: () => {} });
    const answers = async (id: string) => {
      const page = await app.request(`/evaluations/${encodeURIComponent(id)}`);
      const api = await app.request(`/api/v1/evaluations/${encodeURIComponent(id)}`);
      expect([page.status, api.status]).toEqual([404, 404]);
      return { page: await page.text(), api: ((await api.json()) as { error: { message: string } }).error.message };
    };

    const cut = `${prefix}-near_20261205080032`;
    const single = await answers(cut);
    expect(single.page).toContain(`No evaluation &quot;${cut}&quot;. Did you mean <a href="/evaluations/${one}">${one}</a>?`);
    expect(single.api).toBe(`No evaluation "${cut}". Did you mean ${one}?`);

    await db.writer.createEvaluationRun({ id: other, agent: "scripted", configuration: {}, startedAt: at(2) });
    const both = await answers(cut);
    // Newest first, as the list shows them.
    expect(textOf(both.page)).toContain(`No evaluation "${cut}". 2 evaluation ids contain it: ${other}, ${one}.`.replaceAll('"', "&quot;"));
    expect(both.api).toBe(`No evaluation "${cut}". 2 evaluation ids contain it: ${other}, ${one}.`);

    const none = await answers(`${prefix}-nothing-like-it`);
    expect(none.api).toBe(`No evaluation "${prefix}-nothing-like-it".`);
    expect(none.page).not.toContain("Did you mean");
  });

  test("the runs of an abandoned evaluation are marked as the runs list marks them, by the server's threshold", async ({ db }) => {
    const id = `${prefix}-abandoned`;
    const runId = `${prefix}-abandoned-run`;
    const silent = { ownerHost: "elsewhere.example", ownerPid: 4242, heartbeatAt: new Date(Date.now() - 90_000) };
    await db.writer.createEvaluationRun({ id, agent: "scripted", configuration: {} });
    await db.writer.createExecutionSession({ executionId: runId, flowId: "f", agent: "scripted", prompt: "p", evaluationId: id });
    await silence(db, id, runId, silent);
    const row = async (staleAfterMs?: number) => {
      const { app } = createServer({ db, log: () => {}, staleAfterMs });
      const page = await (await app.request(`/evaluations/${id}`)).text();
      const runs = (await (await app.request(`/?q=${encodeURIComponent(runId)}`)).text()).match(
        new RegExp(`data-execution-id="${runId}"[\\s\\S]*?</tr>`),
      )?.[0];
      return { page: page.match(new RegExp(`<tr data-execution-id="${runId}">[\\s\\S]*?</tr>`))?.[0] ?? page, runs: runs ?? "" };
    };
    const strict = await row(60_000);
    expect(strict.page).toContain('<td data-label="Status">running (abandoned)</td>');
    expect(strict.runs).toContain("running (abandoned)</td>");
    // Under the default threshold (two minutes) its 90 s of silence is not abandonment, on either page.
    const lenient = await row();
    expect(lenient.page).toContain('<td data-label="Status">running</td>');
    expect(lenient.runs).toContain("… running</td>");
  });
});

/** The evaluation and its run as a process of another host leaves them, silent since `heartbeatAt`. */
async function silence(
  db: Database,
  evaluationId: string,
  executionId: string,
  data: { ownerHost: string; ownerPid: number; heartbeatAt: Date },
) {
  const client = prismaClientOf(db);
  await client.evaluationRun.update({ where: { id: evaluationId }, data });
  await client.executionSession.update({ where: { executionId }, data });
}
