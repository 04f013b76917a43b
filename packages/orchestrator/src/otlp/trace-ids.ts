import { createHash } from "node:crypto";

/**
 * Trace and span ids derived from what identifies a run's parts in the store (the execution id, a
 * step's index, a tool call's index), never random: exporting the same run twice sends the same
 * ids, so a backend that deduplicates by id keeps one copy, and a trace can be found again from
 * the execution id alone. NUL separates the parts, which no stored id can contain.
 */
function digest(parts: readonly (string | number)[], hexChars: number): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, hexChars);
}

/** The run's trace id: 32 hex characters (16 bytes). */
export const traceIdOf = (executionId: string): string => digest(["reev trace", executionId], 32);

/** The span id (16 hex characters, 8 bytes) of the run, a step of it, or a tool call of a step. */
export function spanIdOf(executionId: string, stepIndex?: number, callIndex?: number): string {
  const path: (string | number)[] = ["reev span", executionId];
  if (stepIndex !== undefined) path.push("step", stepIndex);
  if (callIndex !== undefined) path.push("tool", callIndex);
  return digest(path, 16);
}
