import type { Database, ExecutionSessionRecord } from "@reev/db";
import { OrchestratorError } from "@reev/orchestrator";

/** The execution the user named, or NOT_FOUND saying in which database it was looked for. */
export async function requireExecution(db: Database, executionId: string): Promise<ExecutionSessionRecord> {
  const execution = await db.writer.getExecutionSession(executionId);
  if (!execution) throw new OrchestratorError("NOT_FOUND", `No execution "${executionId}" in ${db.description}.`, { path: "executionId" });
  return execution;
}
