// The terminal tables of reev eval and reev compare: how many runs a score is over, and float noise
// in a difference read as no change (±0.00), as in the HTML report.
import type { EvaluationRunRecord } from "@reev/db";
import { aggregateFlow, compareReports, type EvaluationRun, renderComparisonHtml, renderEvaluationHtml } from "@reev/orchestrator";
import { describe, expect, it } from "vitest";
import { comparisonText, evaluationText } from "../src/commands/evaluation-text.js";

const run = (n: number, score: number | null): EvaluationRun => ({
  runId: `r${n}`,
  passed: true,
  score,
  durationMs: 1000,
  inputTokens: 10,
  outputTokens: 5,
  cachedInputTokens: 0,
  costUsd: null,
  steps: [{ stepId: "only", outcome: "passed", errors: [], timedOut: false }],
});

const flow = (scores: (number | null)[]) => aggregateFlow({ flowId: "f", k: scores.length, runs: scores.map((s, i) => run(i + 1, s)) });

const evaluation: EvaluationRunRecord = {
  id: "ev",
  name: null,
  agent: "scripted",
  model: null,
  status: "completed",
  startedAt: new Date(0),
  finishedAt: new Date(1000),
  configuration: {},
  summary: null,
  owner: null,
  heartbeatAt: null,
  error: null,
};

describe("the terminal tables", () => {
  it("show beside the score how many runs it is over", () => {
    const f = flow([0.5, null, 1]);
    const text = evaluationText(evaluation, { flows: [{ ...f, runIds: ["r1", "r2", "r3"] }], runs: 3, passes: 3, notes: [] }, null);
    expect(text).toContain("0.75 / 0.75 / 0.50–1.00 · 2/3 scored");
  });

  it("say of a step that failed how many of its failures timed out, as the HTML report does", () => {
    const slow = (n: number, timedOut: boolean): EvaluationRun => ({
      ...run(n, null),
      passed: false,
      steps: [{ stepId: "only", outcome: "failed", errors: [timedOut ? "timed out after 40 ms" : "no quote"], timedOut }],
    });
    const f = aggregateFlow({ flowId: "f", k: 3, runs: [slow(1, true), slow(2, false), slow(3, true)] });
    const report = { flows: [{ ...f, runIds: ["r1", "r2", "r3"] }], runs: 3, passes: 0, notes: [] };
    expect(evaluationText(evaluation, report, null)).toContain("f › only: failed 3/3 (100.0%), 2 timed out");
    const html = renderEvaluationHtml(report, { title: "t", facts: [], minPassRate: null, runLink: () => null });
    expect(html.replace(/\s+/g, " ")).toContain("0 · 3 (2 timed out) · 0");
  });

  it("list each run that stopped with its stored error: a rolled-back run has no step left to say why", () => {
    const rolledBack = { ...run(2, null), passed: false, steps: [] };
    const f = aggregateFlow({ flowId: "f", k: 2, runs: [run(1, 1), rolledBack] });
    const error = "Stopped: critical step swap failed: nope; every step was rolled back";
    const runTotals = [
      {
        runId: "r1",
        passed: true,
        status: "completed",
        error: null,
        inputTokens: null,
        outputTokens: null,
        cachedInputTokens: null,
        costUsd: null,
      },
      {
        runId: "r2",
        passed: false,
        status: "rolled_back",
        error,
        inputTokens: null,
        outputTokens: null,
        cachedInputTokens: null,
        costUsd: null,
      },
    ];
    const text = evaluationText(evaluation, { flows: [{ ...f, runIds: ["r1", "r2"], runTotals }], runs: 2, passes: 1, notes: [] }, null);
    expect(text).toContain(`Runs that stopped, and why:\n  f › r2 (rolled_back): ${error}\n`);
    expect(text).not.toContain("r1 (");
  });

  it("say why pass@k is unknown where a flow counted fewer runs than k (an interrupted evaluation)", () => {
    const short = aggregateFlow({ flowId: "f", k: 5, runs: [run(1, 1), run(2, 1), run(3, 0.5)] });
    const text = evaluationText(evaluation, { flows: [{ ...short, runIds: ["r1", "r2", "r3"] }], runs: 3, passes: 3, notes: [] }, null);
    expect(text).toContain('k = 5 (pass@k and pass^k need 5 runs of a flow: "—" where fewer were counted)');
    const whole = flow([1, 1, 0.5]);
    expect(evaluationText(evaluation, { flows: [{ ...whole, runIds: ["r1", "r2", "r3"] }], runs: 3, passes: 3, notes: [] }, null)).toMatch(
      /^k = 3$/m,
    );
  });

  it("read a score difference of float noise as ±0.00, like identical scores, and a real one with its sign", () => {
    // Means (0.7 + 0.1) / 2 and (0.4 + 0.4) / 2 differ by 5.55e-17.
    const noise = compareReports([flow([0.7, 0.1])], [flow([0.4, 0.4])]);
    expect(noise.flows[0]!.meanScoreDelta).not.toBe(0);
    expect(comparisonText(noise)).toMatch(/±0\.00/);
    expect(comparisonText(noise)).not.toMatch(/[+-]0\.00/);
    expect(comparisonText(compareReports([flow([0.7, 0.1])], [flow([0.2, 0.2])]))).toMatch(/-0\.20/);
  });

  it("compare in the words of the HTML page: its column headers, 'pass' counts and rates of a flow and 'failure' ones of a step", () => {
    // 3 runs against 4, all passed: p = 1 is read from the counts, which the rates alone hide.
    const comparison = compareReports([flow([1, 1, 1])], [flow([0, 1, 1, 1])]);
    const text = comparisonText(comparison);
    const side = { id: "ev", name: null };
    const html = renderComparisonHtml(comparison, { title: "A vs B", kind: "evaluation", a: side, b: side });
    const headers = [...(html.match(/<thead>[\s\S]*?<\/thead>/)?.[0] ?? "").matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
    expect(headers).toContain("Δ mean score");
    const headerLine = text.split("\n")[0] ?? "";
    expect(headerLine.split(/\s{2,}/).map((h) => h.trim())).toEqual(headers);
    // The page's cells as a reader sees them: the rates sit in a span of their own, under the counts.
    const htmlText = html.replace(/<[^>]+>/g, "");
    for (const cell of ["pass 3/3 → 4/4 (100.0% → 100.0%)", "failure 0/3 → 0/4 (0.0% → 0.0%)", "1.0000"]) {
      expect(text).toContain(cell);
      expect(htmlText).toContain(cell);
    }
  });

  it("say nothing was judged when no flow has runs on both sides, not 'no credible difference anywhere'", () => {
    const other = aggregateFlow({ flowId: "g", k: 1, runs: [run(1, 1)] });
    const apart = comparisonText(compareReports([flow([1])], [other]));
    expect(apart).toContain("  nothing: no flow has runs on both sides to judge (see the notes)");
    expect(apart).not.toContain("anywhere");
    expect(comparisonText(compareReports([flow([1])], [flow([1])]))).toContain("  no credible difference anywhere");
  });
});
