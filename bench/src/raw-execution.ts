import type { RawDriver } from "./raw-driver.js";

/** The execution row every scenario writes under, as `createExecutionSession` inserts it. */
export async function createExecution(driver: RawDriver, executionId: string): Promise<void> {
  await driver.query(`INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt) VALUES ($1, 'bench', 'bench', 'bench')`, [
    executionId,
  ]);
}
