import { type Database, storedFlowIds } from "@reev/db";
import { closestWord, didYouMean, orList } from "@reev/orchestrator";

/** The most flows offered at once: beyond a few, a guess is a list, and `reev list` shows them all. */
const MAX_GUESSES = 3;

/**
 * " Did you mean jup-multiply-usdc?" for a `--flow` that names no stored flow, or "" (also when it
 * names one). First the stored flow id closest to it (a typo); else those that contain it, case aside
 * (a flow id given by its start or middle: `jup`, `multiply`).
 */
export async function meantFlow(db: Database, flowId: string): Promise<string> {
  const ids = await storedFlowIds(db);
  if (ids.includes(flowId)) return "";
  const closest = closestWord(flowId, ids);
  if (closest) return didYouMean(closest);
  const typed = flowId.toLowerCase();
  const containing = typed.length < 3 ? [] : ids.filter((id) => id.toLowerCase().includes(typed));
  return didYouMean(containing.length ? orList(containing.slice(0, MAX_GUESSES)) : undefined);
}
