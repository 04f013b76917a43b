import { type ExecutionSessionRecord, type ExecutionStatus, type ShownConsolidationStatus, shownConsolidation } from "@reev/db";
import { type ConsolidatedContent, timedOutSteps } from "../consolidated-content.js";
import { grouped } from "../counted.js";
import { failedCheckMarks } from "../evaluation/check-failures.js";
import { runOutcomeWithChecks, runVerdict } from "../evaluation/run-verdict.js";
import { storedStamp } from "../format-time.js";
import { markedGlyph, statusGlyph } from "../status-glyph.js";
import { unrunStepsWords } from "../unrun-steps.js";
import type { RunChecks } from "./check-notes.js";
import { buildFlowModel, orderedSteps } from "./flow-model.js";

/** What the report needs from the execution record: the run's own outcome, which the consolidated document does not carry. */
export type ReportExecution = Pick<ExecutionSessionRecord, "executionId" | "status" | "error" | "consolidation"> &
  /** The run's wall time ("—" when not given), and its metadata: the plan's step ids, for runs of the executor. */
  Partial<Pick<ExecutionSessionRecord, "durationMs" | "metadata">>;

/**
 * A running execution whose process is gone (judged by the caller, which can see the processes): it
 * will never finish on its own. `recover` is the command that finishes it as the reader can copy it,
 * naming the database (`reev recover --db …`); `masked`: its URL shows the password as ***.
 */
export type AbandonedRun = { recover: string; masked: boolean };

type Tone = "ok" | "bad" | "warn" | "info";

const RUN_HEADLINES = {
  completed: { text: "Run completed", tone: "ok" },
  failed: { text: "Run failed", tone: "bad" },
  timed_out: { text: "Run timed out", tone: "bad" },
  rolled_back: { text: "Run rolled back", tone: "bad" },
  cancelled: { text: "Run cancelled", tone: "warn" },
  running: { text: "Run still running", tone: "info" },
} as const satisfies Record<ExecutionStatus, { text: string; tone: Tone }>;

const ABANDONED_HEADLINE = { text: "Run abandoned: its process is gone", tone: "bad" } as const;

const CONSOLIDATION_TEXT = {
  pending: "pending",
  in_progress: "in progress",
  completed: "completed",
  failed: "failed",
  timed_out: "timed out",
  skipped: "skipped",
} as const satisfies Record<ShownConsolidationStatus, string>;

/** `abandoned`: its planned steps not reached will never run, so they are not "not recorded yet". */
function stepCounts(content: ConsolidatedContent, { metadata, status }: ReportExecution, abandoned: boolean): string {
  const m = content.metadata;
  // "0 of 0 steps succeeded" says nothing; the diagram's words for it are "No steps recorded".
  const parts = [
    m.total_steps === 0
      ? "No steps recorded"
      : `${m.successful_steps} of ${m.total_steps} ${m.total_steps === 1 ? "step" : "steps"} succeeded`,
  ];
  if (m.failed_steps > 0) {
    const timedOut = timedOutSteps(content);
    const which = [
      ...(timedOut ? [`${timedOut} timed out`] : []),
      ...(m.infrastructure_errors ? [`${m.infrastructure_errors} by infrastructure errors, not the agent`] : []),
    ];
    parts.push(`${m.failed_steps} failed${which.length ? ` (${which.join("; ")})` : ""}`);
  }
  if (m.skipped_steps > 0) parts.push(`${m.skipped_steps} skipped`);
  const unrun = unrunStepsWords(metadata, m.total_steps, abandoned ? undefined : status);
  if (unrun) parts.push(unrun);
  return parts.join(" · ");
}

/** Failed steps the banner names; the rest are counted ("and 12 more"), the step table lists them all. */
const FAILED_STEPS_NAMED = 5;

/**
 * The steps that failed or timed out, each a link to its row in the step table (as its diagram node
 * is): "1 of 60 steps did not succeed" alone left the reader to search sixty rows for it.
 */
function FailedSteps(props: { content: ConsolidatedContent }) {
  const states = buildFlowModel(props.content).steps;
  const failed = orderedSteps(props.content).flatMap((step, i) => {
    const state = states[i];
    return state && (step.status === "failed" || step.status === "timed_out") ? [state] : [];
  });
  if (failed.length === 0) return null;
  const named = failed.slice(0, FAILED_STEPS_NAMED);
  const rest = failed.length - named.length;
  return (
    <p class="failed-steps">
      {failed.length === 1 ? "Failed step: " : "Failed steps: "}
      {named.map((state, i) => (
        <>
          {i === 0 ? "" : ", "}
          <a href={`#step-${state.id}`}>{state.title}</a>
        </>
      ))}
      {rest > 0 ? ` and ${grouped(rest)} more` : ""}.
    </p>
  );
}

/**
 * The headline, its checks counted: a run that failed an `expect` check did not pass, so it says so
 * in `reev eval`'s words ("Run completed, failed a check (✗ swap › args)"), red, whatever its status.
 */
function headlineOf(execution: ReportExecution, content: ConsolidatedContent, checks: RunChecks | undefined, abandoned: boolean) {
  const plain = abandoned ? ABANDONED_HEADLINE : RUN_HEADLINES[execution.status];
  const glyph = markedGlyph(execution.status, abandoned ? "abandoned" : undefined);
  const verdict = checks ? runVerdict(checks, (i) => content.steps.find((s) => s.step_index === i)?.step_id) : null;
  if (!verdict || verdict.passed) return { ...plain, glyph, checksFailed: false };
  const text =
    execution.status === "completed" && !abandoned
      ? `Run ${runOutcomeWithChecks(execution.status, verdict)}`
      : `${plain.text}${failedCheckMarks(verdict.failed)}`;
  return { text, tone: "bad" as Tone, glyph: abandoned ? glyph : statusGlyph("failed"), checksFailed: true };
}

/**
 * The first thing on the page: how the run ended, in words, with its error, and where its
 * consolidation stands. A run that completed with failed steps is not shown as all green, nor one
 * that failed a check.
 */
export function StatusBanner(props: {
  execution: ReportExecution;
  content: ConsolidatedContent;
  /**
   * False when `content` was built from the committed steps as they are now (the viewer's run with no
   * consolidated session): no session to name, and no consolidation time to give (its time would be
   * the page's).
   */
  stored?: boolean;
  abandoned?: AbandonedRun | undefined;
  /** The run's stored `expect` verdicts: a failed check is in the headline. */
  checks?: RunChecks | undefined;
}) {
  const { execution, content, stored = true, abandoned, checks } = props;
  const headline = headlineOf(execution, content, checks, abandoned !== undefined);
  const tone: Tone = headline.tone === "ok" && content.metadata.failed_steps > 0 ? "warn" : headline.tone;
  const consolidation = shownConsolidation(execution.status, execution.consolidation);
  // A skipped one says why too: a rolled-back run has nothing to consolidate, and never will.
  const consolidationSaysWhy = ["failed", "timed_out", "skipped"].includes(consolidation.status);
  return (
    <section
      class={`banner ${tone}`}
      role="status"
      aria-label="Run status"
      data-run-status={execution.status}
      data-checks={headline.checksFailed ? "failed" : undefined}
    >
      <p class="headline">
        {headline.glyph} {headline.text}
      </p>
      {execution.error === null ? null : <pre class="run-error">{execution.error}</pre>}
      {abandoned ? (
        <p>
          It is still recorded as running, and nothing will finish it but <code>{abandoned.recover}</code> (as failed, keeping the steps it
          committed{abandoned.masked ? "; *** stands for the database's password" : ""}).
        </p>
      ) : null}
      <p>{stepCounts(content, execution, abandoned !== undefined)}</p>
      <FailedSteps content={content} />
      {execution.status === "running" && stored ? <p>This page shows the steps committed when it was consolidated.</p> : null}
      <p data-consolidation-status={consolidation.status}>
        Consolidation {CONSOLIDATION_TEXT[consolidation.status]}
        {consolidationSaysWhy && consolidation.error !== null ? `: ${consolidation.error}` : ""}.{" "}
        {stored ? (
          <>
            This page shows consolidated session <code>{content.consolidated_session_id}</code> from {storedStamp(content.consolidated_at)}.
          </>
        ) : (
          "No consolidated session is stored yet: this page shows the steps committed so far."
        )}
      </p>
    </section>
  );
}
