import { didYouMean, shellWord } from "@reev/db";

/** How many stored ids a not-found message names at most. */
const NAMED = 3;

/**
 * The stored ids that contain a not-found one (a cut-short id), as a not-found message ends: "Did you
 * mean …?", or how many and which.
 */
export function nearWords({ ids: stored, more }: { ids: readonly string[]; more: boolean }, noun: string): string {
  // Quoted as a shell needs them (an id may hold spaces or slashes), since the reader copies them into a command.
  const ids = stored.map(shellWord);
  if (ids.length === 0) return "";
  if (ids.length === 1) return didYouMean(ids[0]);
  const count = more ? `At least ${ids.length}` : String(ids.length);
  if (ids.length <= NAMED) return ` ${count} ${noun} contain it: ${ids.join(", ")}.`;
  return ` ${count} ${noun} contain it; the newest ${NAMED}: ${ids.slice(0, NAMED).join(", ")}.`;
}
