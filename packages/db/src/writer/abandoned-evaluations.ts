import { ZId } from "../schemas.js";
import { validate } from "../validate.js";
import { type AbandonedOptions, executionLiveness, lastSignOfLife, ZAbandonedOptions } from "./abandoned-executions.js";
import { databaseTransaction, type WriterContext, withClient } from "./context.js";
import { type EvaluationRunRecord, toEvaluationRecord } from "./evaluations.js";

// An evaluation whose `reev eval` process died (SIGKILL, a second Ctrl-C, a crash) stays `running`
// forever, and `purge` keeps its runs while it does. It is judged by the same rule as an execution
// (abandoned-executions.ts): its owner's process is gone on this host, or its heartbeat is stale on
// another. Recovery finishes it as `incomplete` with the reason, and no summary: nothing was counted,
// and a half-counted evaluation is never recorded.

/** An abandoned evaluation, as found (or as recovery left it). */
export type AbandonedEvaluation = {
  evaluation: EvaluationRunRecord;
  /** The error the evaluation is (or would be) finished with. */
  reason: string;
  /** Its executions, and how many of them still run (recovery finishes abandoned ones first). */
  executions: number;
  runningExecutions: number;
};

async function executionCounts(context: WriterContext, ids: string[]): Promise<Map<string, { total: number; running: number }>> {
  if (!ids.length) return new Map();
  const rows = await withClient(
    context,
    "count the executions of abandoned evaluations",
    (c) => c.$queryRaw<{ id: string; total: number; running: number }[]>`
      SELECT v.id, n.total, n.running
      FROM unnest(${ids}::text[]) AS v(id)
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS total, count(*) FILTER (WHERE e.status = 'running')::int AS running
        FROM execution_sessions e WHERE e.evaluation_id = v.id
      ) AS n`,
  );
  return new Map(rows.map((r) => [r.id, { total: r.total, running: r.running }]));
}

/** Running evaluations whose owner is provably gone, oldest first. Reads only. */
export async function listAbandonedEvaluations(context: WriterContext, options: AbandonedOptions = {}): Promise<AbandonedEvaluation[]> {
  const checked = validate(ZAbandonedOptions, options, "options");
  const running = await withClient(context, "list running evaluations", (c) =>
    c.evaluationRun.findMany({ where: { status: "running" }, orderBy: [{ startedAt: "asc" }, { id: "asc" }] }),
  );
  const now = new Date();
  const abandoned = running.flatMap((row) => {
    const evaluation = toEvaluationRecord(row);
    const liveness = executionLiveness(evaluation, { ...checked, now });
    return liveness.abandoned ? [{ evaluation, reason: liveness.reason }] : [];
  });
  const counts = await executionCounts(
    context,
    abandoned.map((a) => a.evaluation.id),
  );
  return abandoned.map((a) => {
    const n = counts.get(a.evaluation.id);
    return { ...a, executions: n?.total ?? 0, runningExecutions: n?.running ?? 0 };
  });
}

/**
 * Finishes every abandoned evaluation as `incomplete`, with the reason as its error and its last sign
 * of life as its finish time, in one database transaction each. Under the row lock it checks that the
 * evaluation still runs, that its heartbeat has not moved since it was judged, and that none of its
 * executions still runs (the caller finishes abandoned executions first: `recoverAbandonedExecutions`);
 * otherwise it is left alone and not reported. Returns what it finished.
 */
export async function recoverAbandonedEvaluations(context: WriterContext, options: AbandonedOptions = {}): Promise<AbandonedEvaluation[]> {
  const recovered: AbandonedEvaluation[] = [];
  for (const found of await listAbandonedEvaluations(context, options)) {
    const id = validate(ZId, found.evaluation.id, "id");
    const done = await databaseTransaction(context, `finish abandoned evaluation "${id}"`, async ({ client: tx }) => {
      const [locked] = await tx.$queryRaw<{ status: string; heartbeat_at: Date | null }[]>`
        SELECT status::text AS status, heartbeat_at FROM evaluation_runs WHERE id = ${id} FOR UPDATE`;
      if (locked?.status !== "running" || locked.heartbeat_at?.getTime() !== found.evaluation.heartbeatAt?.getTime()) return undefined;
      const running = await tx.executionSession.count({ where: { evaluationId: id, status: "running" } });
      if (running > 0) return undefined;
      const finishedAt = lastSignOfLife(found.evaluation);
      const updated = await tx.evaluationRun.update({ where: { id }, data: { status: "incomplete", error: found.reason, finishedAt } });
      return { ...found, evaluation: toEvaluationRecord(updated), runningExecutions: 0 };
    });
    if (done) recovered.push(done);
  }
  return recovered;
}
