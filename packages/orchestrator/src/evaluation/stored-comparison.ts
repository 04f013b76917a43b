import {
  type Database,
  type EvaluationExecutionRecord,
  type EvaluationRunRecord,
  type LivenessOptions,
  markedStatus,
  type RunMark,
  runMark,
} from "@reev/db";
import { counted } from "../counted.js";
import { OrchestratorError } from "../errors.js";
import { compareReports, type ReportComparison } from "./compare-reports.js";
import { ZEvaluationConfiguration } from "./evaluation-configuration.js";
import { buildEvaluationReport, type EvaluationReport, expectationsOf } from "./evaluation-report.js";
import type { PriceTable } from "./price-table.js";

type Reads = Pick<Database, "writer">;
export type StoredReportKind = "evaluation" | "execution";
/** One side of a comparison as the reader knows it: its id, and its name where it has one (`reev eval --name`). */
export type ComparedSide = { id: string; name: string | null };

/** What of `reev eval`'s configuration a report is rebuilt from. */
const ZRebuildableConfiguration = ZEvaluationConfiguration.pick({ repeat: true, flows: true });

/**
 * The stored summary of a finished evaluation. A running one has none yet, and one that recovery
 * finished after its process died has none at all: INVALID_ARGUMENT naming `field`, since it is the id
 * given that cannot be used (a bad input, not a failure).
 */
export function evaluationSummary(evaluation: EvaluationRunRecord, field: string, liveness: LivenessOptions = {}): EvaluationReport {
  const summary = storedSummary(evaluation);
  if (summary === null)
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `${missingSummary(evaluation, runMark(evaluation, liveness))} Compare evaluations that have a report.`,
      {
        path: field,
      },
    );
  return summary;
}

/**
 * Why an evaluation has no report, in words that fit its state: not yet (running), never (abandoned,
 * or ended unfinished). `mark` is its `runMark`, for a caller that has judged it already.
 */
export function missingSummary(
  evaluation: Pick<EvaluationRunRecord, "id" | "status" | "error" | "owner" | "heartbeatAt" | "startedAt">,
  mark: RunMark = runMark(evaluation),
): string {
  // Its process gone (kill -9), "still running" would be waited on for ever: reev list and reev evaluations say abandoned.
  if (mark === "abandoned")
    return `Evaluation "${evaluation.id}" was abandoned: its process is gone and it never finished, so it has no report. reev recover marks it incomplete.`;
  if (evaluation.status === "running")
    return `Evaluation "${evaluation.id}" is still running: its report is written when its last run ends.`;
  return `Evaluation "${evaluation.id}" ended ${evaluation.status} without a report${evaluation.error ? ` (${evaluation.error})` : ""}: its runs were never counted, and a half-counted evaluation is never recorded. Run reev eval again for a report.`;
}

/** The report a finished evaluation stored as its summary (`reev eval --format json`'s); null while it runs. */
export const storedSummary = (evaluation: EvaluationRunRecord): EvaluationReport | null =>
  evaluation.summary === null ? null : (evaluation.summary as unknown as EvaluationReport);

/**
 * The runs an evaluation's summary counted, as they are stored now, and the ids of those deleted
 * since (`reev purge` deletes old executions; the summary keeps their ids and the figures computed
 * from them); and its stored runs the summary did not count (cancelled when it was interrupted, or
 * all of them while it has no summary). One read of the evaluation's executions, however many runs it counted.
 */
export async function countedRuns(
  db: Reads,
  evaluationId: string,
  summary: EvaluationReport | null,
): Promise<{ stored: EvaluationExecutionRecord[]; purged: string[]; uncounted: EvaluationExecutionRecord[] }> {
  const counted = summary?.flows.flatMap((f) => f.runIds) ?? [];
  const wanted = new Set(counted);
  const all = await db.writer.listEvaluationExecutions(evaluationId);
  const stored = all.filter((e) => wanted.has(e.executionId));
  const present = new Set(stored.map((e) => e.executionId));
  return { stored, purged: counted.filter((id) => !present.has(id)), uncounted: all.filter((e) => !wanted.has(e.executionId)) };
}

/**
 * An evaluation's runs priced again with `prices`: the same runs its summary counted (an interrupted
 * one counted only some), read from the store, under its recorded expectations. INVALID_ARGUMENT
 * naming `field` when any of them was purged since: a report of the runs left would be a different
 * evaluation (none at all after a full purge), and a verdict on it would mislead.
 */
async function repriced(db: Reads, evaluation: EvaluationRunRecord, summary: EvaluationReport, prices: PriceTable, field: string) {
  const configuration = ZRebuildableConfiguration.safeParse(evaluation.configuration);
  if (!configuration.success) {
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `Evaluation "${evaluation.id}" was not recorded by reev eval: its runs cannot be priced again. Leave out --prices to use its stored costs.`,
      { path: field },
    );
  }
  const { stored, purged } = await countedRuns(db, evaluation.id, summary);
  if (purged.length) {
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `${purged.length} of the ${purged.length + stored.length} runs evaluation "${evaluation.id}" counted were purged (reev purge): its runs cannot be priced again. Leave out --prices to compare the costs stored with it.`,
      { path: field },
    );
  }
  return buildEvaluationReport(stored, { k: configuration.data.repeat, flows: configuration.data.flows, prices });
}

/**
 * The report `reev compare` and the API compare for one id: an evaluation's stored summary (priced
 * again when `prices` is given), or one execution made into a report of k = 1 whose expectations are
 * the verdicts it carries (its plan is not kept). NOT_FOUND naming `field` when the id is neither.
 * `liveness`: the threshold the caller's other views judge a running evaluation by. `unfinished`: an
 * execution's status (as the lists mark it) when it did not complete; null for a completed one and an evaluation.
 */
export async function storedReport(
  db: Reads,
  id: string,
  field: string,
  prices: PriceTable | null = null,
  liveness: LivenessOptions = {},
): Promise<{ kind: StoredReportKind; report: EvaluationReport; side: ComparedSide; incomplete: string | null; unfinished: string | null }> {
  const evaluation = await db.writer.getEvaluationRun(id);
  if (evaluation) {
    const summary = evaluationSummary(evaluation, field, liveness);
    return {
      kind: "evaluation",
      report: prices ? await repriced(db, evaluation, summary, prices, field) : summary,
      side: { id, name: evaluation.name },
      incomplete: evaluation.status === "incomplete" ? incompleteWords(evaluation, summary) : null,
      unfinished: null,
    };
  }
  const stored = await db.writer.getEvaluationExecution(id);
  if (!stored) throw new OrchestratorError("NOT_FOUND", `No evaluation or execution "${id}".`, { path: field });
  const report = buildEvaluationReport([stored], { k: 1, flows: [expectationsOf(stored)], prices });
  return {
    kind: "execution",
    report: prices ? report : await withStoredCost(db, id, report),
    side: { id, name: null },
    incomplete: null,
    unfinished: stored.status === "completed" ? null : markedStatus(stored, runMark(stored, liveness)),
  };
}

/**
 * A run compared without a price file, with the cost stored with its newest consolidation (what `reev
 * status` shows; priced when it was consolidated), as an evaluation's stored summary keeps its costs.
 * Without one (never priced), the report's own null stands.
 */
async function withStoredCost(db: Reads, id: string, report: EvaluationReport): Promise<EvaluationReport> {
  // The newest consolidation's row only: getConsolidationStatus would also read its document (up to
  // 256 MiB) for the cost gaps whenever the cost is unknown, which is exactly when nothing here uses it.
  const execution = await db.writer.getExecutionSession(id);
  const newest =
    execution?.consolidation.status === "completed" ? await db.writer.getNewestConsolidatedSession(id, { content: false }) : null;
  const costUsd = newest?.costUsd ?? null;
  if (costUsd === null) return report;
  return {
    ...report,
    flows: report.flows.map((f) => ({
      ...f,
      costUsd: { total: costUsd, known: 1, unknown: 0 },
      ...(f.runTotals ? { runTotals: f.runTotals.map((r) => ({ ...r, costUsd })) } : {}),
    })),
  };
}

/**
 * How much of an interrupted evaluation its summary counted: "2 of 9 runs", from its stored summary
 * and configuration (the total is left out when the configuration does not say it).
 */
function incompleteWords(evaluation: EvaluationRunRecord, summary: EvaluationReport): string {
  const runs = summary.flows.reduce((sum, flow) => sum + flow.runs, 0);
  const configuration = ZRebuildableConfiguration.safeParse(evaluation.configuration);
  if (!configuration.success) return counted(runs, "run");
  return `${runs} of ${counted(configuration.data.repeat * configuration.data.flows.length, "run")}`;
}

/** A (the baseline) against B, both evaluations or both executions (INVALID_ARGUMENT naming `b` otherwise). */
export async function compareStored(
  db: Reads,
  a: string,
  b: string,
  prices: PriceTable | null = null,
  liveness: LivenessOptions = {},
): Promise<{ kind: StoredReportKind; comparison: ReportComparison; a: ComparedSide; b: ComparedSide }> {
  const left = await storedReport(db, a, "a", prices, liveness);
  const right = await storedReport(db, b, "b", prices, liveness);
  if (left.kind !== right.kind) {
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `A is an ${left.kind} and B an ${right.kind}: compare two evaluations, or two executions.`,
      {
        path: "b",
      },
    );
  }
  const comparison = compareReports(left.report.flows, right.report.flows);
  const sides = [
    ["A", left],
    ["B", right],
  ] as const;
  // An interrupted evaluation's figures cover the runs it counted: said first, as every delta depends on it.
  const incomplete = sides.flatMap(([label, side]) =>
    side.incomplete
      ? [`${label} is an incomplete evaluation (interrupted): it counted ${side.incomplete}, and its figures cover those only.`]
      : [],
  );
  // A run cancelled or failed after 4 of its 8 steps took less time than a whole one: its Δ p50 read
  // as a speed-up. Its duration is not compared, and its verdict's reason (the cell's hover) says how it ended.
  const cutShort = sides.flatMap(([label, side]) => (side.unfinished ? [{ label, status: side.unfinished }] : []));
  const unfinished = cutShort.map(
    ({ label, status }) =>
      `${label} did not complete (its status is ${status}), so its duration is not compared: Δ p50 and Δ p95 are "—", as a run cut short is shorter, not faster.`,
  );
  const ended = cutShort.map(({ label, status }) => `${label} did not complete (${status})`).join("; ");
  const flows = cutShort.length
    ? comparison.flows.map((f) => ({
        ...f,
        p50DurationDelta: null,
        p95DurationDelta: null,
        passes: f.passes && { ...f.passes, reason: `${f.passes.reason}; ${ended}` },
      }))
    : comparison.flows;
  // Said before all else: with it, every figure below is a zero that means nothing.
  const same = a === b ? [`A and B are the same ${left.kind} (${a}), so every difference is zero: give two different ids to compare.`] : [];
  return {
    kind: left.kind,
    comparison: { ...comparison, flows, notes: [...same, ...unfinished, ...incomplete, ...comparison.notes] },
    a: left.side,
    b: right.side,
  };
}

export type StoredComparison = Awaited<ReturnType<typeof compareStored>>;

/**
 * A comparison as JSON, one document for `reev compare --format json` and GET /api/v1/compare: the
 * ids as given (`a`, `b`), each side with its name (`sides`, as the HTML page heads it), the kind, the
 * comparison. Fields may be added, none renamed: scripts read it.
 */
export function storedComparisonJson({ kind, comparison, a, b }: StoredComparison) {
  return { a: a.id, b: b.id, sides: { a, b }, kind, comparison };
}
