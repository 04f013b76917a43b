import type { Database } from "../open-database.js";
import { listExecutionsPage } from "./list-executions-page.js";

/** Ids that contain a piece of text, newest first: at most a page's worth, and whether more may exist. */
export type ExecutionIdsContaining = { ids: string[]; more: boolean };

/**
 * Stored execution ids that contain `text`, case aside, newest first: what to offer for an id that
 * was not found because it was selected short of its end, or only its middle. The list's search also
 * matches flows and prompts, so only the ids are kept (`more` says the search went on past them).
 * Under three characters nearly every id would match, so nothing is looked up.
 */
export async function executionIdsContaining(db: Database, text: string): Promise<ExecutionIdsContaining> {
  if (text.trim().length < 3) return { ids: [], more: false };
  const page = await listExecutionsPage(db, { q: text, limit: 50 });
  const needle = text.toLowerCase();
  return { ids: page.executions.map((e) => e.executionId).filter((id) => id.toLowerCase().includes(needle)), more: page.next !== null };
}
