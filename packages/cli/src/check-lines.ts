// How an `expect` verdict reads in the terminal: one short cell for a table, and one line per failed
// check with its reason for under it. `reev show` and `reev eval` print verdicts the same way.
import type { StoredCheckResult } from "@reev/db";

/** "✓ 3 checks", "✗ tools, order", or "—" when the step had no expect block. */
export function checksCell(result: StoredCheckResult | null | undefined): string {
  if (!result) return "—";
  if (result.passed) return `✓ ${result.checks.length === 1 ? "1 check" : `${result.checks.length} checks`}`;
  return `✗ ${result.checks
    .filter((c) => !c.passed)
    .map((c) => c.check)
    .join(", ")}`;
}

/** One line per failed check: `<where> expect.<check>: <reason>`. */
export function failedCheckLines(where: string, result: StoredCheckResult | null | undefined): string[] {
  return (result?.checks ?? []).filter((c) => !c.passed).map((c) => `${where} expect.${c.check}: ${c.reason ?? "failed"}`);
}
