// The evaluations list's compare picks, as the server renders them: offered once there are two
// evaluations, and at first on the newest two that counted a run (a running one has no report yet, an
// evaluation interrupted before any run a report of nothing).
import { test, testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { evaluationPlans, PRICES, recordEvaluation, recordInterruptedEvaluation } from "./support/evaluations.js";

/** The ids the list's radios pick at first, as `{ a, b }`. */
const checked = (html: string) =>
  Object.fromEntries([...html.matchAll(/<input type="radio" name="(a|b)" value="([^"]+)" checked=""/g)].map((m) => [m[1], m[2]]));

describe.each(testBackends())("the evaluations list's compare picks on $name", (backend) => {
  test.override({ backend });

  test("appear with two evaluations, and pick the newest two that counted a run", async ({ db }) => {
    const prefix = `viewer-picks-${backend.name}`;
    const { app } = createServer({ db, log: () => {} });
    const list = async () => (await app.request("/evaluations")).text();
    const record = (n: number) =>
      recordEvaluation(db, {
        id: `${prefix}-v${n}`,
        name: `v${n}`,
        plans: evaluationPlans(prefix, false),
        repeat: 1,
        startedAt: new Date(Date.UTC(2026, 0, n)),
      });

    await record(1);
    const one = await list();
    expect(one).not.toContain('type="radio"');
    expect(one).not.toContain("Compare A → B");

    await record(2);
    await record(3);
    // The newest is still running: it can be picked, but is not picked at first.
    await db.writer.createEvaluationRun({
      id: `${prefix}-v4`,
      name: "v4",
      agent: "scripted",
      startedAt: new Date(Date.UTC(2026, 0, 4)),
      configuration: { repeat: 1, flows: [], minPassRate: 0.8, baseline: null, prices: PRICES },
    });
    const four = await list();
    expect(four.match(/type="radio"/g)).toHaveLength(8);
    expect(checked(four)).toEqual({ a: `${prefix}-v2`, b: `${prefix}-v3` });
    expect(four).toContain(`aria-label="B (candidate): v4 (${prefix}-v4)"`);

    // Interrupted before a run was counted, the newest has a report of nothing: not picked either.
    await recordInterruptedEvaluation(db, {
      id: `${prefix}-v5`,
      name: "v5",
      plans: evaluationPlans(prefix, false),
      repeat: 1,
      startedAt: new Date(Date.UTC(2026, 0, 5)),
    });
    expect(checked(await list())).toEqual({ a: `${prefix}-v2`, b: `${prefix}-v3` });
  });
});
