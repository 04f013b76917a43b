// How an `expect` verdict reads in the terminal: one short cell for a table, and one line per failed
// check with its reason for under it. `reev show` and `reev eval` print verdicts the same way.
import type { StoredCheckResult } from "@reev/db";

// The cell is the HTML report's and the viewer's too: one wording everywhere.
export { checksCell } from "@reev/orchestrator";

/** One line per failed check: `<where> expect.<check>: <reason>`. */
export function failedCheckLines(where: string, result: StoredCheckResult | null | undefined): string[] {
  return (result?.checks ?? []).filter((c) => !c.passed).map((c) => `${where} expect.${c.check}: ${c.reason ?? "failed"}`);
}
