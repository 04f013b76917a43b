// How the read commands mark a running execution whose owner may be gone (issue 9 §1): `stale` when
// its heartbeat is older than the threshold, `abandoned` when its owner is provably gone (its process
// on this host has exited; on another host, stale). `reev recover` finishes abandoned runs.
import { DEFAULT_STALE_AFTER_MS, type ExecutionSessionRecord, executionLiveness } from "@reev/db";
import { reevCommand } from "./hint.js";
import { integer } from "./options.js";

/** The heartbeat age past which a run is stale: $REEV_STALE_AFTER_MS (milliseconds), else 2 minutes. */
export function staleAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.REEV_STALE_AFTER_MS;
  return value === undefined || value === "" ? DEFAULT_STALE_AFTER_MS : integer("REEV_STALE_AFTER_MS", 1)(value);
}

export type RunMark = "abandoned" | "stale" | undefined;

/** Whether a running execution is stale and whether it is abandoned (both false once finished). */
export function livenessOf(e: ExecutionSessionRecord, afterMs = staleAfterMs()): { stale: boolean; abandoned: boolean } {
  const { stale, abandoned } = executionLiveness(e, { staleAfterMs: afterMs });
  return { stale, abandoned };
}

/** The mark of a running execution; undefined for a live one and for every finished one. */
export function runMark(e: ExecutionSessionRecord, afterMs = staleAfterMs()): RunMark {
  const liveness = livenessOf(e, afterMs);
  return liveness.abandoned ? "abandoned" : liveness.stale ? "stale" : undefined;
}

/** What a mark means and what to do about it, for the line under a table or beside a status. */
export function markHelp(mark: Exclude<RunMark, undefined>, afterMs = staleAfterMs()): string {
  const minutes = afterMs % 60_000 === 0 ? `${afterMs / 60_000} min` : `${Math.round(afterMs / 1000)} s`;
  return mark === "abandoned"
    ? `abandoned: the run's process is gone and the run never finished; ${reevCommand("recover")} finishes such runs`
    : `stale: no heartbeat for over ${minutes}; the run's process may be gone (${reevCommand("recover")} finishes such runs once that is certain)`;
}
