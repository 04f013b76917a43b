import { type ConsolidatedContent, timedOutSteps } from "../consolidated-content.js";
import { costUnknownNote } from "../evaluation/cost-gaps.js";
import { formatTokens, formatUsd } from "../evaluation/format-usage.js";
import { formatDuration } from "../format-duration.js";
import { formatPercent } from "../format-percent.js";
import { plannedBeyond } from "../unrun-steps.js";

function Metric(props: { name: string; value: string; tone?: string }) {
  return (
    <div class={`metric ${props.tone ?? ""}`}>
      <span class="value">{props.value}</span>
      <span class="name">{props.name}</span>
    </div>
  );
}

/** "—" for a score that was not recorded, never a stand-in number. */
export const scoreText = (score: number | null) => (score === null ? "—" : score.toFixed(2));

/**
 * The consolidated run's metrics, as computed by consolidation, and the run's wall time from its
 * execution record. The two durations carry the same names in every view (see the README's metrics):
 * "wall time" is the run's start to its finish, "steps time" the first step's start to the last one's end.
 * `executionMetadata` holds the plan's step ids: a run whose process died has no record of the steps it
 * never reached, and its rate and step count then say what they cover ("of 7 recorded", "7 of 12").
 * Timed-out steps are failed steps, and the tile says how many of them ran out of time. An unknown
 * cost says why, as the document stored it (`cost_unknown`).
 */
export function RunMetrics(props: { content: ConsolidatedContent; wallTimeMs: number | null; executionMetadata?: unknown }) {
  const m = props.content.metadata;
  const timedOut = timedOutSteps(props.content);
  const planned = plannedBeyond(props.executionMetadata, m.total_steps);
  return (
    <section class="metrics" aria-label="Run metrics">
      <Metric
        name={planned !== undefined ? `Success rate of ${m.total_steps} recorded` : "Success rate"}
        value={m.total_steps === 0 ? "—" : formatPercent(m.success_rate)}
      />
      <Metric name="Avg score" value={scoreText(m.avg_score)} />
      <Metric name="Tool calls" value={String(m.total_tools)} />
      <Metric name="Wall time" value={formatDuration(props.wallTimeMs)} />
      <Metric name="Steps time" value={formatDuration(m.execution_duration_ms)} />
      <Metric name="Input tokens" value={formatTokens(m.total_input_tokens)} />
      <Metric name="Output tokens" value={formatTokens(m.total_output_tokens)} />
      <Metric name="Cost" value={formatUsd(m.cost_usd)} />
      <Metric name="Successful steps" value={String(m.successful_steps)} tone="good" />
      <Metric name={timedOut ? `Failed steps (${timedOut} timed out)` : "Failed steps"} value={String(m.failed_steps)} tone="bad" />
      {m.infrastructure_errors ? <Metric name="Infrastructure errors" value={String(m.infrastructure_errors)} tone="bad" /> : null}
      <Metric name="Skipped steps" value={String(m.skipped_steps)} tone="skip" />
      {planned !== undefined ? (
        <Metric name="Steps recorded" value={`${m.total_steps} of ${planned}`} tone="skip" />
      ) : (
        <Metric name="Total steps" value={String(m.total_steps)} />
      )}
      {costUnknownNote(m.cost_unknown ?? []).map((note) => (
        <p class="metrics-note">{note}</p>
      ))}
    </section>
  );
}
