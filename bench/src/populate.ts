import { storeStepRows } from "./raw-bulk-import.js";
import type { RawDriver } from "./raw-driver.js";
import { createExecution } from "./raw-execution.js";
import { stepInputs } from "./step-fixtures.js";
import { stepRow } from "./step-row.js";

/** A new execution with `steps` committed steps, written fast (raw bulk inserts, untimed). */
export async function populateExecution(driver: RawDriver, executionId: string, steps: number): Promise<void> {
  await createExecution(driver, executionId);
  const { created } = await storeStepRows(
    driver,
    executionId,
    stepInputs(steps).map((s) => stepRow(executionId, s)),
  );
  if (created !== steps) throw new Error(`populating ${executionId}: created ${created} steps, expected ${steps}`);
}
