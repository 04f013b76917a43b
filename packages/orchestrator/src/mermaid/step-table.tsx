import type { Child } from "hono/jsx";
import type { ConsolidatedContent, ConsolidatedStep, ConsolidatedToolCall } from "../consolidated-content.js";
import { countedGrouped, grouped } from "../counted.js";
import { formatDuration } from "../format-duration.js";
import { checksCell, type RunChecks } from "./check-notes.js";
import { buildFlowModel, type FlowStepState, orderedSteps, stepError } from "./flow-model.js";
import { foldLines } from "./fold-steps.js";
import { scoreText } from "./run-metrics.js";
import { statusStyle, statusWords } from "./step-status.js";
import { summarizeInput } from "./summarize-input.js";
import { truncateText } from "./truncate-text.js";

const LIMITS = { gist: 60, json: 4_000 } as const;

/** Pretty JSON for a details panel, cut so one huge tool output cannot swell the page. */
function jsonText(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = JSON.stringify(value, null, 2) ?? String(value);
  return text.length <= LIMITS.json
    ? text
    : `${text.slice(0, LIMITS.json)}\n… ${text.length - LIMITS.json} more characters (see reev export)`;
}

/**
 * Tool calls listed per step: a step of 50,000 calls made a 28 MB page. The rest are counted, failures
 * included, and reev export (or the API's steps) has every one.
 */
const TOOL_CALLS_LISTED = 100;

function unlistedCalls(rest: readonly ConsolidatedToolCall[]): string {
  const failed = rest.filter((call) => call.success === false).length;
  return `… and ${countedGrouped(rest.length, "more tool call")}${failed ? ` (${grouped(failed)} failed)` : ""}, not listed here: reev export, or GET /api/v1/executions/{id}/steps, has every one.`;
}

function ToolCall(props: { call: ConsolidatedToolCall; retried: boolean }) {
  const { call } = props;
  const mark = call.success === true ? "✓" : call.success === false ? "✗" : "–";
  const gist = summarizeInput(call.input, LIMITS.gist);
  return (
    <li class={call.success === false ? "tool-failed" : undefined}>
      <details>
        <summary>
          {mark} <code>{call.tool_name}</code> <span class="muted">{formatDuration(call.duration_ms)}</span>
          {props.retried && call.attempt !== undefined ? <span class="muted"> · attempt {call.attempt}</span> : null}
          {gist === null ? null : <span class="gist"> · {gist}</span>}
        </summary>
        {call.error === null ? null : <p class="tool-failed">Error: {call.error}</p>}
        <div class="muted">input</div>
        <pre class="json">{jsonText(call.input)}</pre>
        <div class="muted">output</div>
        <pre class="json">{jsonText(call.output)}</pre>
      </details>
    </li>
  );
}

/** The attempts before the last that failed, one line each: a retry that succeeded still shows what it retried. */
function earlierFailures(step: ConsolidatedStep): string[] {
  return (step.attempt_log ?? [])
    .slice(0, -1)
    .filter((a) => a.error !== null)
    .map((a) => `attempt ${a.attempt}${a.error_kind === "infrastructure" ? " (infrastructure)" : ""}: ${truncateText(a.error ?? "", 120)}`);
}

/**
 * One line for the diagram node's tooltip and accessible name: the step (index and id) and how it
 * ended come first, for a screen reader read its tool as the step's name; then its tools and error.
 */
function rowSummary(step: ConsolidatedStep): string {
  const name = step.step_id === null ? `Step ${step.step_index}` : `Step ${step.step_index}, ${step.step_id}`;
  const tools = step.tool_calls.map((call) => call.tool_name).join(", ") || "no tool calls";
  const error = stepError(step);
  return truncateText(`${name}: ${statusWords(step.status)} · ${tools}${error === null ? "" : ` · Error: ${error}`}`, 200);
}

function StepRow(props: { step: ConsolidatedStep; state: FlowStepState; checks: RunChecks | undefined }) {
  const { step, state, checks } = props;
  const verdict = checks?.steps.get(step.step_index);
  const style = statusStyle(step.status);
  const error = stepError(step);
  const retried = step.attempts !== undefined && step.attempts > 1;
  return (
    <tr id={`step-${state.id}`} data-state-id={state.id} data-summary={rowSummary(step)}>
      <td class="num" data-label="#">
        {step.step_index}
      </td>
      <td class="step" data-label="Step">
        {step.step_id === null ? <span class="muted">—</span> : <code>{step.step_id}</code>}
      </td>
      <td data-label="Status">
        <span class={`badge ${style.className}`}>{`${style.emoji} ${style.label}`}</span>
      </td>
      <td class="num" data-label="Score">
        {scoreText(step.score)}
      </td>
      <td class={retried ? "num retried" : "num"} data-label="Attempts">
        {attemptsText(step.attempts, step.status)}
      </td>
      <td class="num" data-label="Duration">
        {formatDuration(step.duration_ms)}
      </td>
      <td class="tools" data-label="Tool calls">
        {step.tool_calls.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          <ul class="tools">
            {step.tool_calls.slice(0, TOOL_CALLS_LISTED).map((call) => (
              <ToolCall call={call} retried={retried} />
            ))}
            {step.tool_calls.length > TOOL_CALLS_LISTED ? (
              <li class="muted">{unlistedCalls(step.tool_calls.slice(TOOL_CALLS_LISTED))}</li>
            ) : null}
          </ul>
        )}
      </td>
      {checks ? (
        <td class={verdict?.passed === false ? "checks failed" : "checks"} data-label="Checks">
          {checksCell(verdict)}
        </td>
      ) : null}
      <td class={step.status === "skipped" ? "error muted" : "error"} data-label="Error">
        {error === null ? null : <div class="error-text">{error}</div>}
        {earlierFailures(step).map((line) => (
          <div class="muted">{line}</div>
        ))}
      </td>
    </tr>
  );
}

/**
 * A step's attempts as the report, the viewer and `reev show` write them: "—" where its source
 * recorded none (never a guessed 1), but 0 for a skipped step, which was never tried.
 */
export const attemptsText = (attempts: number | undefined, status: string | null): string =>
  attempts !== undefined ? String(attempts) : status === "skipped" ? "0" : "—";

/** Consecutive steps a windowed table does not list one by one: their first and last indexes and the counts a folded box shows. */
export type StepGap = { first: number; last: number; firstStateId: string; count: number; lines: string[] };

/**
 * Which steps a table lists: those `shown` says, each stretch of the others as one row whose content
 * `gap` gives (the viewer's links that show its steps); only the steps from `from` to `to` (step
 * indexes, inclusive) when given. Without a window every step has its row.
 */
export type StepWindow = {
  shown: (step: ConsolidatedStep, stateId: string) => boolean;
  gap: (gap: StepGap) => Child;
  from?: number;
  to?: number;
};

/** A run's checks as the table shows them: none when no step has a verdict (and then no Checks column). */
const tableChecks = (checks: RunChecks | undefined) => (checks?.steps.size ? checks : undefined);

/**
 * The table's rows: one per step, or with a window, one per shown step and one per stretch of the
 * others. Also what the viewer sends when a stretch is opened, so its rows match the page's.
 */
export function StepRows(props: { content: ConsolidatedContent; checks?: RunChecks | undefined; window?: StepWindow | undefined }) {
  const checks = tableChecks(props.checks);
  const states = buildFlowModel(props.content).steps;
  const { window } = props;
  const rows: Child[] = [];
  let hidden: { step: ConsolidatedStep; state: FlowStepState }[] = [];
  const flush = () => {
    const [first] = hidden;
    const last = hidden.at(-1);
    if (window && first && last) {
      const steps = hidden.map((h) => h.step);
      const gap: StepGap = {
        first: first.step.step_index,
        last: last.step.step_index,
        firstStateId: first.state.id,
        count: hidden.length,
        lines: foldLines(steps, checks),
      };
      rows.push(
        <tr class="steps-gap" data-from={gap.first} data-to={gap.last}>
          <td colspan={checks ? 9 : 8}>{window.gap(gap)}</td>
        </tr>,
      );
    }
    hidden = [];
  };
  orderedSteps(props.content).forEach((step, i) => {
    const state = states[i];
    if (state === undefined) return;
    if (window?.from !== undefined && step.step_index < window.from) return;
    if (window?.to !== undefined && step.step_index > window.to) return;
    if (window && !window.shown(step, state.id)) {
      hidden.push({ step, state });
      return;
    }
    flush();
    rows.push(<StepRow step={step} state={state} checks={checks} />);
  });
  flush();
  return <>{rows}</>;
}

/**
 * Every step with its score, attempts (0 for a skipped step, — when the document does not record them), duration, tool
 * calls that open to their input and output, and error. Each row's id is `step-<state id>`, the
 * diagram node's link target. With `checks` (a run with step `expect` blocks), a Checks column says
 * which of each step's checks failed, so a failed check does not read as a plain tool failure.
 * With a `window` (the viewer, for a long run), only some steps have rows; `note` says so under the heading.
 */
export function StepTable(props: {
  content: ConsolidatedContent;
  checks?: RunChecks | undefined;
  window?: StepWindow | undefined;
  note?: Child;
}) {
  const checks = tableChecks(props.checks);
  return (
    <section aria-label="Steps">
      <h2>Steps</h2>
      {props.note ?? null}
      <div class="table-wrap">
        <table class="steps-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Step</th>
              <th>Status</th>
              <th>Score</th>
              <th>Attempts</th>
              <th>Duration</th>
              <th>Tool calls</th>
              {checks ? <th>Checks</th> : null}
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {props.content.steps.length === 0 ? (
              <tr>
                <td colspan={checks ? 9 : 8} class="muted">
                  No steps recorded.
                </td>
              </tr>
            ) : (
              <StepRows content={props.content} checks={checks} window={props.window} />
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
