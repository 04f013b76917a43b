// How the read commands mark a running execution whose owner may be gone (issue 9 §1): `stale` when
// its heartbeat is older than the threshold, `abandoned` when its owner is provably gone (its process
// on this host has exited; on another host, stale). `reev recover` finishes abandoned runs.
import {
  DEFAULT_STALE_AFTER_MS,
  type ExecutionSessionRecord,
  livenessFlags,
  type OwnedRun,
  type RunMark,
  runMark as storedRunMark,
} from "@reev/db";
import type { CliIO } from "./context.js";
import { utcStamp } from "./format.js";
import { reevCommand } from "./hint.js";
import { integer } from "./options.js";

/** The heartbeat age past which a run is stale: $REEV_STALE_AFTER_MS (milliseconds), else 2 minutes. */
export function staleAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.REEV_STALE_AFTER_MS;
  return value === undefined || value === "" ? DEFAULT_STALE_AFTER_MS : integer("REEV_STALE_AFTER_MS", 1)(value);
}

/** Whether a running execution (or evaluation) is stale and whether it is abandoned (both false once finished). */
export const livenessOf = (e: OwnedRun, afterMs = staleAfterMs()) => livenessFlags(e, { staleAfterMs: afterMs });

/** The mark of a running execution (or evaluation), by $REEV_STALE_AFTER_MS; undefined for a live one and for every finished one. */
export const runMark = (e: OwnedRun, afterMs = staleAfterMs()): RunMark => storedRunMark(e, { staleAfterMs: afterMs });

/** What a mark means and what to do about it, for the line under a table or beside a status; `what` is marked. */
export function markHelp(mark: Exclude<RunMark, undefined>, what: "run" | "evaluation" = "run", afterMs = staleAfterMs()): string {
  const minutes = afterMs % 60_000 === 0 ? `${afterMs / 60_000} min` : `${Math.round(afterMs / 1000)} s`;
  return mark === "abandoned"
    ? `abandoned: the ${what}'s process is gone and the ${what} never finished; ${reevCommand("recover")} finishes such ${what}s`
    : `stale: no heartbeat for over ${minutes}; the ${what}'s process may be gone (${reevCommand("recover")} finishes such ${what}s once that is certain)`;
}

/** Under a table: what each mark in it means, once per mark. */
export function writeMarkHelp(marks: readonly RunMark[], what: "run" | "evaluation", io: CliIO): void {
  const seen = new Set(marks.filter((m): m is Exclude<RunMark, undefined> => m !== undefined));
  for (const mark of seen) io.stdout.write(`${markHelp(mark, what)}\n`);
}

/**
 * The "Owner" field of `reev show` and `reev status`: the process that runs the execution and its last
 * heartbeat, and beside them what the execution's mark means and what to do; none for a run without
 * an owner and without a mark.
 */
export function ownerField(e: Pick<ExecutionSessionRecord, "owner" | "heartbeatAt">, mark: RunMark): [string, string][] {
  const help = mark ? `   (${markHelp(mark)})` : "";
  if (e.owner)
    return [
      ["Owner", `process ${e.owner.pid} on ${e.owner.host}   last heartbeat: ${e.heartbeatAt ? utcStamp(e.heartbeatAt) : "—"}${help}`],
    ];
  return mark ? [["Owner", `not recorded${help}`]] : [];
}

/** What finishes an abandoned run, said where it cannot be drawn or consolidated as it stands. */
export const recoverWords = (): string => `${reevCommand("recover")} finishes it and consolidates the steps it committed`;
