import { Prisma } from "../generated/prisma/client.js";
import type { Database } from "../open-database.js";
import { runDriverRead } from "./run-read.js";

/** As many flow ids as a "did you mean" looks through: past this many, a typo's neighbours are a guess anyway. */
export const MAX_STORED_FLOW_IDS = 1000;

/**
 * The flow ids of the stored executions, each once (at most MAX_STORED_FLOW_IDS, the first in the
 * database's order): what a `--flow` that names no stored flow is compared with, to offer the one it
 * most likely meant.
 */
export async function storedFlowIds(db: Database): Promise<string[]> {
  const rows = await runDriverRead<{ flow_id: string }>(
    db,
    "list the stored flow ids",
    Prisma.sql`SELECT DISTINCT flow_id FROM execution_sessions ORDER BY flow_id LIMIT ${MAX_STORED_FLOW_IDS}`,
  );
  return rows.map((r) => r.flow_id);
}
