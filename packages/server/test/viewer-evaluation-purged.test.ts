// The viewer's evaluation page after `reev purge` deleted some of its runs (purged for real, with the
// writer's purge): a purged run has no page, so it is shown by id, unlinked and marked, and the page
// says its figures are those of the stored summary; the runs left are still linked. Both backends.
import { test, testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { evaluationPlans, recordEvaluation } from "./support/evaluations.js";

const runLinks = (html: string) => [...html.matchAll(/href="\/runs\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));

describe.each(testBackends())("the evaluation page after a purge on $name", (backend) => {
  test.override({ backend });

  test("links only the runs still stored, and says how many were purged", async ({ db }) => {
    const prefix = `viewer-purged-${backend.name}-${process.pid}`;
    const plans = evaluationPlans(prefix, false);
    const id = `${prefix}-eval`;
    const baseline = `${prefix}-baseline`;
    const report = await recordEvaluation(db, { id, name: "purged", plans, repeat: 3, startedAt: new Date(), baseline });
    const [steady, shaky] = report.flows;
    const { app } = createServer({ db, log: () => {} });
    const page = async () => {
      const response = await app.request(`/evaluations/${encodeURIComponent(id)}`);
      expect(response.status).toBe(200);
      return response.text();
    };

    const before = await page();
    expect(runLinks(before).sort()).toEqual([...steady!.runIds, ...shaky!.runIds].sort());
    expect(before).not.toContain("purged (reev purge)");
    // What it was asked, read from its configuration: --min-pass-rate 0.8 marks shaky's 2/3 as low, and its baseline is linked.
    expect(before.match(/class="fill low"/g)).toHaveLength(1);
    expect(before).toContain(`Compare with its baseline ${baseline}`);

    const purge = await db.writer.purgeExecutions({ olderThanMs: 0, flowId: steady!.flowId });
    expect(purge.deleted.executions).toBe(3);
    const after = await page();
    expect(runLinks(after).sort()).toEqual([...shaky!.runIds].sort());
    for (const runId of steady!.runIds) expect(after).toContain(`<li data-run-id="${runId}" data-purged="true"><code>${runId}</code>`);
    expect(after).toContain(
      "3 runs of this evaluation were purged (reev purge); its figures are from its stored summary, computed from the runs when it finished.",
    );
    // The figures are the summary's, as stored: every run counted, the purged ones too.
    expect(after).toContain(`Flows · ${report.passes}/${report.runs} runs passed`);
    expect(report.runs).toBe(6);

    await db.writer.purgeExecutions({ olderThanMs: 0, flowId: shaky!.flowId });
    const empty = await page();
    expect(runLinks(empty)).toEqual([]);
    expect(empty).toContain("6 runs of this evaluation were purged (reev purge)");
  });
});
