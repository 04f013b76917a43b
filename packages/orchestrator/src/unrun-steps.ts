/** How many steps the run's plan had, as the executor records it (`metadata.steps`, their ids); undefined when not recorded. */
export function plannedStepCount(metadata: unknown): number | undefined {
  const steps =
    metadata !== null && typeof metadata === "object" && !Array.isArray(metadata) ? (metadata as { steps?: unknown }).steps : undefined;
  return Array.isArray(steps) && steps.every((s) => typeof s === "string") ? steps.length : undefined;
}

/**
 * A run whose process died (finished by `reev recover`) has no rows for the steps it never reached:
 * without a word of them, 7 of 7 recorded steps read as a whole run that succeeded. "5 of the 12
 * planned steps have no record (they never ran, or were rolled back)", or undefined when every planned
 * step has a record (or the plan was not recorded). A run still `running` has simply not got there:
 * "5 of the 12 planned steps are not recorded yet". One missing step reads in the singular ("1 of the 12
 * planned steps is not recorded yet").
 */
export function unrunStepsWords(metadata: unknown, recordedSteps: number, status?: string): string | undefined {
  const planned = plannedBeyond(metadata, recordedSteps);
  if (planned === undefined) return undefined;
  const count = planned - recordedSteps;
  const missing = `${count} of the ${planned} planned steps`;
  if (status === "running") return `${missing} ${count === 1 ? "is" : "are"} not recorded yet`;
  return count === 1
    ? `${missing} has no record (it never ran, or was rolled back)`
    : `${missing} have no record (they never ran, or were rolled back)`;
}

/** The plan's step count when it has more steps than `recordedSteps` (some have no record); else undefined. */
export function plannedBeyond(metadata: unknown, recordedSteps: number): number | undefined {
  const planned = plannedStepCount(metadata);
  return planned !== undefined && planned > recordedSteps ? planned : undefined;
}
