import type { ConsolidatedMetrics } from "../consolidated-content.js";
import { formatDuration } from "../format-duration.js";

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

/** The consolidated run's metrics, as computed by consolidation. */
export function RunMetrics(props: { metrics: ConsolidatedMetrics }) {
  const m = props.metrics;
  return (
    <section class="metrics" aria-label="Run metrics">
      <Metric name="Success rate" value={`${m.success_rate.toFixed(1)}%`} />
      <Metric name="Avg score" value={scoreText(m.avg_score)} />
      <Metric name="Total tools" value={String(m.total_tools)} />
      <Metric name="Duration" value={formatDuration(m.execution_duration_ms)} />
      <Metric name="Successful steps" value={String(m.successful_steps)} tone="good" />
      <Metric name="Failed steps" value={String(m.failed_steps)} tone="bad" />
      <Metric name="Skipped steps" value={String(m.skipped_steps)} tone="skip" />
      <Metric name="Total steps" value={String(m.total_steps)} />
    </section>
  );
}
