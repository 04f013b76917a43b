// The HTML report of an evaluation interrupted before any run finished (reev eval, Ctrl-C early): its
// report counts no runs, so no figure is known and no flow has a step to show.
import { describe, expect, it } from "vitest";
import { renderEvaluationHtml } from "../src/evaluation/evaluation-html.js";
import { buildEvaluationReport } from "../src/evaluation/evaluation-report.js";
import { expectationsOfPlan } from "../src/evaluation/run-evaluation.js";
import { parseFlowPlan } from "../src/flow-plan.js";

const plan = (flowId: string) =>
  parseFlowPlan(`
flowId: ${flowId}
prompt: p
steps:
  - stepId: only
    prompt: only
`);

/** The text of each cell of the flows table's row for `flowId`, by its label. */
function flowRow(html: string, flowId: string): Record<string, string> {
  const row = html.match(new RegExp(`<tr data-flow-id="${flowId}">([\\s\\S]*?)</tr>`))?.[1] ?? "";
  const cells = [...row.matchAll(/<td[^>]*data-label="([^"]+)"[^>]*>([\s\S]*?)<\/td>/g)];
  return Object.fromEntries(cells.map(([, label, inner]) => [label, inner!.replace(/<[^>]+>/g, "").trim()]));
}

describe("the HTML report of an evaluation that counted no runs", () => {
  const report = buildEvaluationReport([], {
    k: 5,
    flows: [plan("first"), plan("second")].map(expectationsOfPlan),
    notes: ["Interrupted: 0 of 10 runs counted; 2 cancelled runs and 8 never started are left out."],
  });
  const html = renderEvaluationHtml(report, { title: "t", facts: [], minPassRate: 0.8, runLink: () => null });

  it("shows one — in each cell with no figure, never a doubled dash or an empty range", () => {
    for (const flowId of ["first", "second"]) {
      const cells = flowRow(html, flowId);
      expect(cells).toMatchObject({
        "pass rate (95% CI)": "—",
        passes: "0/0",
        "score mean · median · min–max": "—",
        "p50 · p95": "—",
        "tokens in / out / cached": "—",
        cost: "—",
      });
    }
    expect(html).not.toMatch(/——|—–—|— · —|— \/ —/);
  });

  it("says no run of a flow was counted instead of an empty step table or run list", () => {
    for (const flowId of ["first", "second"]) {
      const section = html.match(new RegExp(`<section id="flow-${flowId}"[^>]*>([\\s\\S]*?)</section>`))?.[1] ?? "";
      expect(section).toContain("No run of this flow was counted: the evaluation was interrupted before any finished.");
      expect(section).not.toContain("<table");
      expect(section).not.toContain('<ul class="runs"');
    }
  });
});
