import { createHash } from "node:crypto";
import { executionLiveness, type LivenessOptions, type RunProgress, shownConsolidation } from "@reev/db";
import { ApiError } from "../api/api-error.js";
import { toApiConsolidationStatus } from "../api/views.js";

/**
 * What a stream has told its client: the committed steps it announced, the last status and the last
 * consolidation state. Events are derived by comparing this with the run's progress as stored, so a
 * resumed stream (Last-Event-ID) catches up from the database without losing or repeating anything.
 */
type StreamState = { steps: ReadonlySet<number>; status: string | null; consolidation: string | null };

type RunEvent = { event: "step" | "status" | "consolidation"; id: string; data: Record<string, unknown> };

export const INITIAL_STATE: StreamState = { steps: new Set(), status: null, consolidation: null };

/** Step indexes as ranges ("0-11,14"), short for the usual run whose steps are a prefix. */
function rangesOf(steps: ReadonlySet<number>): string {
  const sorted = [...steps].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

function stepsOf(ranges: string): Set<number> | undefined {
  const steps = new Set<number>();
  if (!ranges) return steps;
  for (const part of ranges.split(",")) {
    const match = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part);
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = Number(match[2] ?? match[1]);
    if (to < from || to - from > 1_000_000) return undefined;
    for (let i = from; i <= to; i++) steps.add(i);
  }
  return steps;
}

/**
 * Which run a stream follows, in its event ids: a browser or client that sends one run's id to another
 * run's stream would otherwise skip that run's events up to the state the id describes.
 */
const runTag = (executionId: string) => createHash("sha256").update(executionId).digest("base64url").slice(0, 8);

/** The event id: the run's tag and the stream state after the event, as base64url JSON. */
const encodeEventId = (executionId: string, state: StreamState) =>
  Buffer.from(JSON.stringify([rangesOf(state.steps), state.status, state.consolidation, runTag(executionId)])).toString("base64url");

/** A Last-Event-ID back into the state it stands for; a 400 naming the header when it is not one of this run's. */
export function decodeEventId(id: string, executionId: string): StreamState {
  const invalid = new ApiError(
    400,
    "INVALID_ARGUMENT",
    "Last-Event-ID is not an id this stream sent: reconnect without it.",
    "Last-Event-ID",
  );
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(id, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(value) || value.length !== 4 || value[3] !== runTag(executionId)) throw invalid;
  const [ranges, status, consolidation] = value as unknown[];
  const steps = typeof ranges === "string" ? stepsOf(ranges) : undefined;
  const optionalText = (v: unknown) => v === null || typeof v === "string";
  if (!steps || !optionalText(status) || !optionalText(consolidation)) throw invalid;
  return { steps, status: status as string | null, consolidation: consolidation as string | null };
}

// The shown status, not the stored one: a rollback leaves the stored `pending` and its time as they
// were, so a stream opened while the run went would never send the `skipped` it ends in.
const consolidationToken = (p: RunProgress) =>
  `${shownConsolidation(p.status, p.consolidation).status}@${p.consolidation.updatedAt?.getTime() ?? ""}`;

/**
 * The run as a stream follows it: its progress as stored, and whether it is abandoned (still
 * recorded running, its process gone), which nothing stored says and nothing will change but reev
 * recover: judged as reev list judges it, by the owner process and the heartbeat.
 */
export type ObservedRun = RunProgress & { abandoned: boolean };

export const observe = (progress: RunProgress, liveness: LivenessOptions): ObservedRun => ({
  ...progress,
  abandoned: executionLiveness(progress, liveness).abandoned,
});

/**
 * The events that take a client from `state` to `progress`, in order: new committed steps by index,
 * then the status, then the consolidation. Each carries ids only and small facts, never contents.
 * A run found abandoned gets a status event of its own (`abandoned: true`), though its stored status
 * is still `running`: the client learns that no more will come.
 */
export function eventsSince(state: StreamState, progress: ObservedRun): { events: RunEvent[]; state: StreamState } {
  const events: RunEvent[] = [];
  let current = state;
  const execution_id = progress.executionId;
  for (const step of progress.steps) {
    if (current.steps.has(step.stepIndex)) continue;
    current = { ...current, steps: new Set([...current.steps, step.stepIndex]) };
    events.push({
      event: "step",
      id: encodeEventId(execution_id, current),
      data: { execution_id, step_index: step.stepIndex, status: step.status },
    });
  }
  // In the event id too, so a stream resumed after the abandoned event does not send it again.
  const status = progress.abandoned ? `${progress.status} (abandoned)` : progress.status;
  if (current.status !== status) {
    current = { ...current, status };
    events.push({
      event: "status",
      id: encodeEventId(execution_id, current),
      data: {
        execution_id,
        status: progress.status,
        abandoned: progress.abandoned,
        error: progress.error,
        finished_at: progress.finishedAt?.toISOString() ?? null,
      },
    });
  }
  const token = consolidationToken(progress);
  if (current.consolidation !== token) {
    current = { ...current, consolidation: token };
    // As the API's other views say it: a rolled-back run's is `skipped`, with why.
    const shown = shownConsolidation(progress.status, progress.consolidation);
    events.push({
      event: "consolidation",
      id: encodeEventId(execution_id, current),
      data: {
        execution_id,
        status: toApiConsolidationStatus(shown.status),
        consolidated_session_id: progress.latestConsolidatedSessionId,
        error: shown.error,
        updated_at: progress.consolidation.updatedAt?.toISOString() ?? null,
      },
    });
  }
  return { events, state: current };
}

/** How long a finished run's consolidation may stay pending before the stream stops waiting for it. */
const CONSOLIDATION_GRACE_MS = 30_000;

/**
 * Whether nothing more will happen to the run: it ended, and its consolidation ended too (or will
 * never start: a rolled-back run is not consolidated, and one left pending past the grace period
 * was recorded without consolidation). An abandoned run is not final: its status event says so once,
 * and the stream stays open for what reev recover does to it (its page updated without a reload).
 */
export function isFinal(p: ObservedRun, now = Date.now()): boolean {
  if (p.status === "running") return false;
  const c = p.consolidation.status;
  if (c === "completed" || c === "failed" || c === "timed_out") return true;
  if (c === "in_progress") return false;
  return p.status === "rolled_back" || (p.finishedAt !== null && now - p.finishedAt.getTime() > CONSOLIDATION_GRACE_MS);
}
