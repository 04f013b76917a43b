// A run drawn as Mermaid source or as its HTML report: one function for `reev run` (which writes both
// as each run ends) and `reev diagram` (which draws a stored run later), so the two cannot drift apart.
// They did: `reev run` drew without the stored `expect` verdicts and the run's status, so its report
// lacked the check notes and the Checks column that `reev diagram` showed for the same run.
import type { ExecutionSessionRecord } from "@reev/db";
import { type ConsolidatedContent, type RunChecks, renderFlowDiagram, renderHtmlPage } from "@reev/orchestrator";

export type DrawingFormat = "mmd" | "html";

/** The run's drawing in `format`, from its consolidated document, its execution record and its stored verdicts. */
export function drawRun(
  format: DrawingFormat,
  content: string | ConsolidatedContent,
  execution: ExecutionSessionRecord,
  checks: RunChecks,
): string {
  return format === "mmd"
    ? `${renderFlowDiagram(content, { checks, executionMetadata: execution.metadata, executionStatus: execution.status })}\n`
    : renderHtmlPage(content, { execution, checks });
}
