import {
  type ConsolidatedSessionLog,
  type Database,
  type ExecutionOverview,
  readConsolidatedSession,
  readExecutionOverview,
} from "@reev/db";
import { buildConsolidation, type ConsolidatedContent, parseConsolidatedContent, type RunChecks } from "@reev/orchestrator";

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
};

/** The document of the newest consolidated session, or of the committed steps when there is none. */
async function documentOf(db: Database, overview: ExecutionOverview): Promise<Omit<RunDocument, "checks">> {
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
export async function loadRunDocument(db: Database, id: string): Promise<RunDocument | null> {
  const document = await runDocumentOf(db, id);
  if (!document) return null;
  return { ...document, checks: await db.writer.getChecks(document.overview.execution.executionId) };
}

async function runDocumentOf(db: Database, id: string): Promise<Omit<RunDocument, "checks"> | null> {
  const overview = await readExecutionOverview(db, id);
  if (overview) return documentOf(db, overview);
  const session = await readConsolidatedSession(db, id);
  if (!session) return null;
  const owner = await readExecutionOverview(db, session.executionId);
  if (!owner) return null;
  return { overview: owner, content: parseConsolidatedContent(session.consolidatedContent), consolidated: session };
}
