import type { Database } from "../open-database.js";
import { type ConsolidatedSessionLog, ZId } from "../schemas.js";
import { validate } from "../validate.js";
import { consolidatedLogOf } from "./consolidated-row.js";
import { runRead } from "./run-read.js";

/**
 * One consolidated session by its own id, with the execution it belongs to and its created_at as
 * stored (reev's API answered with "now"). Null when there is no such session.
 */
export async function readConsolidatedSession(db: Database, consolidatedSessionId: string): Promise<ConsolidatedSessionLog | null> {
  const id = validate(ZId, consolidatedSessionId, "consolidatedSessionId");
  const row = await runRead(db, `read consolidated session "${id}"`, (client) =>
    client.consolidatedSession.findUnique({ where: { consolidatedSessionId: id } }),
  );
  return row && consolidatedLogOf(row);
}
