import { type InsertStepsOutcome, insertStepsStatement, type StepRow, statementName } from "@reev/db/internal";
import type { RawDriver } from "./raw-driver.js";

/**
 * One step, stored by the raw driver exactly as `DatabaseWriter.storeStep` stores it: the writer's
 * own statement (@reev/db/internal), one round trip — lock the execution, look for the step, insert
 * it and its tool calls — sent through `pg` / `PGlite.query` instead of Prisma (on `pg` prepared
 * once per connection under the writer's own name for it, as the writer's driver does). If the writer's
 * statement changes, this side follows by itself; if the writer's way of storing a step changes
 * (another statement, a transaction again), this file changes with it.
 */
export async function storeStepRow(
  driver: RawDriver,
  executionId: string,
  row: StepRow,
  guard: { transactionId?: string | null } = {},
): Promise<void> {
  const statement = insertStepsStatement(executionId, [row], guard);
  const [outcome] = await driver.query<InsertStepsOutcome>(statement.text, statement.values, statementName({ sql: statement.text }));
  checkOutcome(executionId, row, guard, outcome);
}

/** The writer's verdict on the outcome, for the cases the bench can meet: stored now, or the same step already stored. */
function checkOutcome(
  executionId: string,
  row: StepRow,
  guard: { transactionId?: string | null },
  outcome: InsertStepsOutcome | undefined,
): void {
  if (!outcome?.execution_id) throw new Error(`Execution "${executionId}" does not exist`);
  if (guard.transactionId !== undefined && outcome.open_transaction_id !== guard.transactionId) {
    // (null: a transaction is open that this write must not join.)
    throw new Error(`Transaction ${guard.transactionId} of execution "${executionId}" is no longer open`);
  }
  if (outcome.status !== "running") throw new Error(`Execution "${executionId}" already finished as ${outcome.status}`);
  if (outcome.inserted.includes(row.stepIndex)) return;
  const prior = outcome.prior.find((p) => p.step_index === row.stepIndex);
  // The writer retries a step a concurrent writer committed meanwhile, and may replace a pending
  // one; the bench never writes one step twice, so either would be a bug here.
  if (prior?.content_sha256 !== row.contentSha256)
    throw new Error(`Step ${row.stepIndex} of execution "${executionId}" was not stored: ${JSON.stringify(outcome)}`);
}
