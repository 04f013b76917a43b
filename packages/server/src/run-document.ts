import {
  type ConsolidatedSessionLog,
  type Database,
  dbOptionOf,
  type ExecutionOverview,
  executionLiveness,
  type LivenessOptions,
  readConsolidatedSession,
  readExecutionOverview,
} from "@reev/db";
import {
  type AbandonedRun,
  buildConsolidation,
  type ConsolidatedContent,
  parseConsolidatedContent,
  type RunChecks,
  renderFlowDiagram,
} from "@reev/orchestrator";

/**
 * A run as the flow route and the viewer draw it: the execution, and the consolidated document —
 * the stored session when there is one, else one built from the committed steps as they are now
 * (`consolidated` null then: a running run's flow so far, never stored) — and the run's stored `expect`
 * verdicts, which are kept with the execution and its steps, not in the document.
 */
export type RunDocument = {
  overview: ExecutionOverview;
  content: ConsolidatedContent;
  consolidated: ConsolidatedSessionLog | null;
  checks: RunChecks;
  /** Set when the run is still recorded running but its process is gone: nothing will move it but reev recover. */
  abandoned: AbandonedRun | undefined;
};

/**
 * `reev recover` naming the database this server reads, for a reader to copy: without --db it would
 * recover $REEV_DATABASE_URL or ./.reev/db instead. The server knows its database, not how the reader
 * starts reev (`pnpm reev` in a checkout), hence plain `reev`. No other process can reach an
 * in-memory database, so there is no --db to give for one.
 */
export function recoverHint(db: Database): AbandonedRun {
  if (db.target.kind === "pglite-memory") return { recover: "reev recover --db <the database this server reads>", masked: false };
  const option = dbOptionOf(db.target);
  return { recover: `reev recover ${option.text}`, masked: option.masked };
}

/** The document of the newest consolidated session, or of the committed steps when there is none. */
async function documentOf(db: Database, overview: ExecutionOverview): Promise<Omit<RunDocument, "checks" | "abandoned">> {
  const latest = overview.latestConsolidation && (await readConsolidatedSession(db, overview.latestConsolidation.consolidatedSessionId));
  if (latest) return { overview, content: parseConsolidatedContent(latest.consolidatedContent), consolidated: latest };
  const { execution } = overview;
  const sessions = await db.writer.getSessionsForConsolidation(execution.executionId);
  const { document } = buildConsolidation({
    consolidatedSessionId: "(not consolidated yet)",
    executionId: execution.executionId,
    flowId: execution.flowId,
    prompt: execution.prompt,
    consolidatedAt: new Date(),
    sessions,
  });
  return { overview, content: document, consolidated: null };
}

/** By execution id (its newest consolidation) or by consolidated session id (that one). Null when neither exists. */
export async function loadRunDocument(db: Database, id: string, liveness: LivenessOptions): Promise<RunDocument | null> {
  const document = await runDocumentOf(db, id);
  if (!document) return null;
  const { execution } = document.overview;
  // Judged as reev list and reev recover judge it: by the owner process and the heartbeat.
  const abandoned = executionLiveness(execution, liveness).abandoned ? recoverHint(db) : undefined;
  return { ...document, checks: await db.writer.getChecks(execution.executionId), abandoned };
}

async function runDocumentOf(db: Database, id: string): Promise<Omit<RunDocument, "checks" | "abandoned"> | null> {
  const overview = await readExecutionOverview(db, id);
  if (overview) return documentOf(db, overview);
  const session = await readConsolidatedSession(db, id);
  if (!session) return null;
  const owner = await readExecutionOverview(db, session.executionId);
  if (!owner) return null;
  return { overview: owner, content: parseConsolidatedContent(session.consolidatedContent), consolidated: session };
}

/**
 * The run's Mermaid source as every server view draws it: with its plan and status, for the note on
 * planned steps without a record ("not recorded yet" while it runs; an abandoned run's never will be).
 * `unrun: false` leaves that note out: the run page's drawing of a live run, which its live banner outdates.
 */
export const runDiagram = (run: RunDocument, { checks = true, unrun = true }: { checks?: boolean; unrun?: boolean } = {}): string =>
  renderFlowDiagram(run.content, {
    checks: checks ? run.checks : undefined,
    executionMetadata: unrun ? run.overview.execution.metadata : undefined,
    executionStatus: run.abandoned ? undefined : run.overview.execution.status,
  });
