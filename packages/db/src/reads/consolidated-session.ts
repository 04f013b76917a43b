import type { Database } from "../open-database.js";
import { type ConsolidatedSessionLog, ZId } from "../schemas.js";
import { validate } from "../validate.js";
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
  if (!row) return null;
  return {
    id: row.id,
    consolidatedSessionId: row.consolidatedSessionId,
    executionId: row.executionId,
    consolidatedContent: row.consolidatedContent,
    originalSessionIds: row.originalSessionIds as string[],
    avgScore: row.avgScore,
    totalTools: row.totalTools,
    successRate: row.successRate,
    executionDurationMs: row.executionDurationMs,
    // BIGINT columns; the sums stored were validated as safe integers.
    totalInputTokens: row.totalInputTokens === null ? null : Number(row.totalInputTokens),
    totalOutputTokens: row.totalOutputTokens === null ? null : Number(row.totalOutputTokens),
    costUsd: row.costUsd,
    timestamp: row.createdAt,
  };
}
