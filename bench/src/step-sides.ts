import type { Database, StepInput } from "@reev/db";
import type { SideName } from "./interleave.js";
import { storeStepRows } from "./raw-bulk-import.js";
import type { RawDriver } from "./raw-driver.js";
import { createExecution } from "./raw-execution.js";
import { storeStepRow } from "./raw-step-writer.js";
import { stepRow, stepSessionRow } from "./step-row.js";

/** The writes the scenarios time, as each side does them. */
export interface StepSide {
  createExecution(executionId: string): Promise<void>;
  /** One step, committed on its own (no execution transaction is open). */
  storeStep(executionId: string, step: StepInput): Promise<void>;
  /** Many steps in one transaction, all or nothing. */
  storeSteps(executionId: string, steps: StepInput[]): Promise<{ stored: number; created: number }>;
  /**
   * One step the way PingPongExecutor records it outside an atomic run: its StepResult as JSON through
   * `storeStepSession`, fields parsed from it, committed at once (guard `transactionId: null`).
   */
  recordStepAsExecutor(executionId: string, stepIndex: number, content: string): Promise<void>;
}

export function writerSide(db: Database): StepSide {
  const writer = db.writer;
  return {
    createExecution: async (executionId) => {
      await writer.createExecutionSession({ executionId, flowId: "bench", agent: "bench", prompt: "bench" });
    },
    storeStep: async (executionId, step) => {
      await writer.storeStep(executionId, step);
    },
    storeSteps: (executionId, steps) => writer.storeSteps(executionId, steps),
    recordStepAsExecutor: (executionId, stepIndex, content) =>
      writer.storeStepSession(executionId, stepIndex, content, { transactionId: null }),
  };
}

/** The raw side prepares each row (validation, fingerprint) inside the timed part, as the writer does. */
export function rawSide(driver: RawDriver): StepSide {
  return {
    createExecution: (executionId) => createExecution(driver, executionId),
    storeStep: (executionId, step) => storeStepRow(driver, executionId, stepRow(executionId, step)),
    storeSteps: (executionId, steps) =>
      storeStepRows(
        driver,
        executionId,
        steps.map((s) => stepRow(executionId, s)),
      ),
    recordStepAsExecutor: (executionId, stepIndex, content) =>
      storeStepRow(driver, executionId, stepSessionRow(executionId, stepIndex, content), { transactionId: null }),
  };
}

/** The writer on `db` and the raw driver, side by side. */
export const stepSides = (db: Database, raw: RawDriver): Record<SideName, StepSide> => ({ writer: writerSide(db), raw: rawSide(raw) });
