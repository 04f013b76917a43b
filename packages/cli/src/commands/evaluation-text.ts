// The terminal tables of `reev eval` and `reev compare`: flows × metrics, then per flow the checks
// that failed and its steps that failed or were flaky, with their most common errors and reasons.
// What is unknown prints as "—".
import type { EvaluationRunRecord } from "@reev/db";
import {
  COMPARISON_COLUMNS,
  checkFailureText,
  type EvaluationReport,
  failureRateChange,
  formatDuration,
  formatPerRunTokens,
  formatSigned,
  formatTokenTriple,
  formatUsd,
  otherReasons,
  passRateChange,
  percent,
  pValueText,
  type ReportComparison,
  scoredRuns,
} from "@reev/orchestrator";
import { clip, renderTable } from "../text-table.js";

const fixed = (v: number | null | undefined, digits = 2) => (v == null ? "—" : v.toFixed(digits));

/** Why pass@k shows "—" where a flow counted fewer runs than k (an interrupted evaluation): k is the configured repeat. */
const kNote = (report: EvaluationReport, k: number): string =>
  report.flows.some((f) => f.runs < k) ? ` (pass@k and pass^k need ${k} runs of a flow: "—" where fewer were counted)` : "";

export function evaluationText(evaluation: EvaluationRunRecord, report: EvaluationReport, minPassRate: number | null): string {
  const head = [
    `Evaluation ${evaluation.id}${evaluation.name ? ` (${evaluation.name})` : ""} · agent ${evaluation.agent}${evaluation.model ? ` (${evaluation.model})` : ""} · ${evaluation.status}`,
    `${report.passes}/${report.runs} runs passed${minPassRate === null ? "" : ` · --min-pass-rate ${minPassRate}`}`,
    "",
  ];
  const rows = report.flows.map((f) => [
    f.flowId,
    `${f.passes}/${f.runs}`,
    f.passRate ? `${percent(f.passRate.rate)} [${percent(f.passRate.low)}, ${percent(f.passRate.high)}]` : "—",
    fixed(f.passAtK),
    fixed(f.passHatK),
    // No run scored: one "—", not one per figure, and over how many runs, as the HTML report says it; no run at all: "—" alone.
    f.runs === 0
      ? "—"
      : f.score.mean == null
        ? `— · ${scoredRuns(f.score)}`
        : `${fixed(f.score.mean)} / ${fixed(f.score.median)} / ${fixed(f.score.min)}–${fixed(f.score.max)} · ${scoredRuns(f.score)}`,
    `${formatDuration(f.durationMs.p50)} / ${formatDuration(f.durationMs.p95)}`,
    formatTokenTriple(f),
    formatUsd(f.costUsd.total),
    ...(minPassRate === null ? [] : [(f.passRate?.rate ?? 0) >= minPassRate ? "ok" : "BELOW"]),
  ]);
  const table = renderTable(
    [
      "flow",
      "passed",
      "pass rate [95% CI]",
      `pass@k`,
      "pass^k",
      "score mean/median/min–max",
      "p50/p95",
      "tokens in/out/cached",
      "cost",
      // The verdict against the threshold, only when one was given.
      ...(minPassRate === null ? [] : [`≥ ${minPassRate}`]),
    ],
    rows,
    new Set([1, 3, 4]),
  );
  const steps = report.flows.flatMap((f) =>
    f.steps
      .filter((s) => s.failed > 0)
      .map((s) => {
        const errors = s.topErrors.map((e) => `      ${e.count}× ${clip(e.error, 100)}`).join("\n");
        return `  ${f.flowId} › ${s.stepId}: failed ${s.failed}/${s.passed + s.failed} (${percent(s.failureRate)})${s.timedOut ? `, ${s.timedOut} timed out` : ""}${s.flaky ? " · flaky" : ""}${s.skipped ? ` · skipped ${s.skipped}` : ""}\n${errors}`;
      }),
  );
  // A completed run that did not pass failed a check: which, in how many runs, and why (absent from reports stored before).
  const checks = report.flows.flatMap((f) =>
    (f.checkFailures ?? []).map((failure) => {
      const { headline, reasons } = checkFailureText(failure, f.runs);
      const more = otherReasons(failure);
      return [
        `  ${f.flowId} › ${headline}`,
        ...reasons.map((r) => `      ${r.count}× ${clip(r.reason, 100)}`),
        ...(more ? [`      ${more}`] : []),
      ].join("\n");
    }),
  );
  // Why each run that stopped stopped, as stored: a rolled-back run has no step left in the steps above to say it.
  const stopped = report.flows.flatMap((f) =>
    (f.runTotals ?? []).flatMap((r) =>
      r.error ? [`  ${f.flowId} › ${r.runId} (${r.status ?? "did not pass"}): ${clip(r.error, 200)}`] : [],
    ),
  );
  const k = report.flows[0]?.k;
  return [
    ...head,
    table,
    k === undefined ? "" : `k = ${k}${kNote(report, k)}`,
    ...(checks.length ? ["", "Checks that failed:", ...checks] : []),
    ...(steps.length ? ["", "Steps that failed:", ...steps] : []),
    ...(stopped.length ? ["", "Runs that stopped, and why:", ...stopped] : []),
    "",
    ...report.notes,
    "",
  ].join("\n");
}

export function comparisonText(comparison: ReportComparison): string {
  const rows = comparison.flows.flatMap((f) => [
    [
      f.flowId + (f.only ? ` (only in ${f.only.toUpperCase()})` : ""),
      f.passes?.verdict ?? "—",
      passRateChange(f),
      pValueText(f.passes),
      formatSigned(f.passHatKDelta, (n) => n.toFixed(2)),
      formatSigned(f.meanScoreDelta, (n) => n.toFixed(2)),
      formatSigned(f.p50DurationDelta, (n) => formatDuration(n)),
      `${formatSigned(f.inputTokensPerRunDelta, formatPerRunTokens)} / ${formatSigned(f.outputTokensPerRunDelta, formatPerRunTokens)}`,
      formatSigned(f.costUsdPerRunDelta, formatUsd),
    ],
    ...f.steps.map((s) => [`  › ${s.stepId}`, s.passes?.verdict ?? "—", failureRateChange(s), pValueText(s.passes), "", "", "", "", ""]),
  ]);
  const table = renderTable([...COMPARISON_COLUMNS], rows, new Set([3]));
  // With no flow judged on both sides, "no credible difference anywhere" would claim a comparison that never happened.
  const flagged = comparison.flagged.length
    ? comparison.flagged.map((f) => `  ${f.verdict}: ${f.flowId}${f.stepId ? ` › ${f.stepId}` : ""}`).join("\n")
    : comparison.flows.some((f) => f.passes !== null)
      ? "  no credible difference anywhere"
      : "  nothing: no flow has runs on both sides to judge (see the notes)";
  return `${table}\n\nFlagged (${comparison.test}, p < 0.05):\n${flagged}\n\n${comparison.notes.join("\n")}\n`;
}
