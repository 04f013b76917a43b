import type { ConsolidatedSession } from "../generated/prisma/client.js";
import type { ConsolidatedSessionLog } from "../schemas.js";

/** A consolidated session without its document: its metric columns, read without up to 256 MiB of content. */
export type ConsolidatedSessionHead = Omit<ConsolidatedSessionLog, "consolidatedContent">;

/** BIGINT columns come back as bigint; the sums stored were validated as safe integers. */
export const storedTokens = (value: bigint | number | null): number | null => (value === null ? null : Number(value));

/** A stored row as the writer's record, with or without its document (as it was read). */
export function consolidatedHeadOf(row: Omit<ConsolidatedSession, "consolidatedContent">): ConsolidatedSessionHead {
  return {
    id: row.id,
    consolidatedSessionId: row.consolidatedSessionId,
    executionId: row.executionId,
    originalSessionIds: row.originalSessionIds as string[],
    avgScore: row.avgScore,
    totalTools: row.totalTools,
    successRate: row.successRate,
    executionDurationMs: row.executionDurationMs,
    totalInputTokens: storedTokens(row.totalInputTokens),
    totalOutputTokens: storedTokens(row.totalOutputTokens),
    costUsd: row.costUsd,
    timestamp: row.createdAt,
  };
}

export const consolidatedLogOf = (row: ConsolidatedSession): ConsolidatedSessionLog => ({
  ...consolidatedHeadOf(row),
  consolidatedContent: row.consolidatedContent,
});
