import { Prisma } from "../generated/prisma/client.js";
import type { Database } from "../open-database.js";
import { listExecutionsPage } from "./list-executions-page.js";
import { runDriverRead } from "./run-read.js";

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

/** As many ids as a not-found message could use, and one more to say whether there are more. */
const EVALUATION_IDS = 50;

/** Stored evaluation ids that contain `text`, case aside, newest first: the same answer for `reev compare`'s ids. */
export async function evaluationIdsContaining(db: Database, text: string): Promise<ExecutionIdsContaining> {
  if (text.trim().length < 3) return { ids: [], more: false };
  const rows = await runDriverRead<{ id: string }>(
    db,
    "find evaluation ids",
    Prisma.sql`SELECT id FROM evaluation_runs WHERE strpos(lower(id), lower(${text})) > 0
      ORDER BY started_at DESC, id DESC LIMIT ${EVALUATION_IDS + 1}`,
  );
  return { ids: rows.slice(0, EVALUATION_IDS).map((r) => r.id), more: rows.length > EVALUATION_IDS };
}

/**
 * Stored evaluation ids whose name (`reev eval --name`) is `name`, case aside, newest first: for a
 * name given where an id is wanted. Any length, since names are often short ("v1").
 */
export async function evaluationIdsNamed(db: Database, name: string): Promise<ExecutionIdsContaining> {
  if (!name.trim()) return { ids: [], more: false };
  const rows = await runDriverRead<{ id: string }>(
    db,
    "find evaluations by name",
    Prisma.sql`SELECT id FROM evaluation_runs WHERE lower(name) = lower(${name})
      ORDER BY started_at DESC, id DESC LIMIT ${EVALUATION_IDS + 1}`,
  );
  return { ids: rows.slice(0, EVALUATION_IDS).map((r) => r.id), more: rows.length > EVALUATION_IDS };
}
