import type { StoredCheckResult } from "@reev/db";
import type { ConsolidatedContent } from "../consolidated-content.js";
import type { RunChecks } from "./check-notes.js";

function Verdict(props: { where: string; result: StoredCheckResult }) {
  const { where, result } = props;
  return (
    <li class={result.passed ? undefined : "tool-failed"}>
      {result.passed ? "✓" : "✗"} <strong>{where}</strong>
      <ul>
        {result.checks.map((c) => (
          <li>
            {c.passed ? "✓" : "✗"} <code>{c.check}</code>
            {c.reason === null ? null : <span>: {c.reason}</span>}
          </li>
        ))}
      </ul>
    </li>
  );
}

/** The run's `expect` verdicts in full: every check of the flow and of each step, with the reason of each that failed. */
export function ChecksSection(props: { checks: RunChecks; content: ConsolidatedContent }) {
  const { checks, content } = props;
  const name = (index: number) => content.steps.find((s) => s.step_index === index)?.step_id ?? `step ${index}`;
  const steps = [...checks.steps].sort(([a], [b]) => a - b);
  if (!checks.flow && !steps.length) return null;
  return (
    <section aria-label="Checks">
      <h2>Checks</h2>
      <ul>
        {checks.flow ? <Verdict where="flow" result={checks.flow} /> : null}
        {steps.map(([index, result]) => (
          <Verdict where={`step ${index} · ${name(index)}`} result={result} />
        ))}
      </ul>
    </section>
  );
}
