import { createHash, randomUUID } from "node:crypto";
import { parseStepContent, type StepInput, stepSessionId } from "@reev/db";
import type { Query, RawDriver } from "./raw-driver.js";

/**
 * The floor: what `DatabaseWriter` does per step, by hand on the raw driver — the same statements,
 * the same locking and the same checks, in one transaction per call — and nothing else (no schema
 * validation, no query builder). Whatever the writer costs above this is its own overhead.
 */

type Locked = { execution_id: string; open_transaction_id: string | null; status: string };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const date = (v: Date | string | null | undefined) => (v == null ? null : v instanceof Date ? v : new Date(v));

async function lockExecution(q: Query, executionId: string): Promise<Locked> {
  const rows = await q<Locked>(
    `SELECT execution_id, open_transaction_id::text AS open_transaction_id, status::text AS status
     FROM execution_sessions WHERE execution_id = $1 FOR UPDATE`,
    [executionId],
  );
  if (!rows[0]) throw new Error(`Execution "${executionId}" does not exist`);
  return rows[0];
}

const STEP_COLUMNS =
  "session_id, execution_id, step_index, content, content_sha256, state, transaction_id, step_id, status, score, started_at, finished_at, duration_ms, error, committed_at";
const STEP_VALUES = "$1, $2, $3, $4, $5, $6::step_state, $7::uuid, $8, $9::step_status, $10, $11, $12, $13, $14, $15";
const TOOL_COLUMNS = "session_id, call_index, tool_name, input, output, success, duration_ms, error";

export class RawStepWriter {
  constructor(readonly driver: RawDriver) {}

  async createExecution(executionId: string): Promise<void> {
    await this.driver.query(`INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt) VALUES ($1, 'bench', 'bench', 'bench')`, [
      executionId,
    ]);
  }

  /** One transaction: lock the execution, look for the step, insert it, insert its tool calls in one statement. */
  async storeStep(executionId: string, step: StepInput): Promise<void> {
    const { stepIndex, toolCalls = [] } = step;
    const content = step.content ?? JSON.stringify({ ...step, content: undefined });
    const contentSha256 = sha256(content);
    const sessionId = stepSessionId(executionId, stepIndex);
    const status = step.status ?? (step.success === true ? "success" : step.success === false ? "failed" : null);
    const toolParams: unknown[] = [];
    const toolRows = toolCalls.map((c, i) => {
      const n = i * 8;
      toolParams.push(sessionId, i, c.toolName, json(c.input), json(c.output), c.success ?? null, c.durationMs ?? null, c.error ?? null);
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::jsonb, $${n + 5}::jsonb, $${n + 6}, $${n + 7}, $${n + 8})`;
    });
    await this.driver.transaction(async (q) => {
      const locked = await lockExecution(q, executionId);
      const transactionId = locked.open_transaction_id;
      const existing = await q<{ content_sha256: string }>(
        `SELECT content_sha256, state::text AS state, transaction_id::text AS transaction_id
         FROM step_sessions WHERE execution_id = $1 AND step_index = $2`,
        [executionId, stepIndex],
      );
      if (existing[0]) {
        if (existing[0].content_sha256 === contentSha256) return;
        throw new Error(`Step ${stepIndex} of execution "${executionId}" is already stored with different content`);
      }
      await q(`INSERT INTO step_sessions (${STEP_COLUMNS}) VALUES (${STEP_VALUES})`, [
        sessionId,
        executionId,
        stepIndex,
        content,
        contentSha256,
        transactionId ? "pending" : "committed",
        transactionId,
        step.stepId ?? null,
        status,
        step.score ?? null,
        date(step.startedAt),
        date(step.finishedAt),
        step.durationMs ?? null,
        step.error ?? null,
        transactionId ? null : new Date(),
      ]);
      if (toolRows.length) await q(`INSERT INTO tool_calls (${TOOL_COLUMNS}) VALUES ${toolRows.join(", ")}`, toolParams);
    });
  }

  /** The seed's path: parse the content (with @reev/db's own parser), then the same transaction. */
  async storeStepSession(executionId: string, stepIndex: number, content: string): Promise<void> {
    const fields = parseStepContent(content) ?? {};
    await this.storeStep(executionId, { ...fields, stepIndex, content });
  }

  async beginTransaction(executionId: string): Promise<void> {
    await this.driver.transaction(async (q) => {
      const locked = await lockExecution(q, executionId);
      if (locked.open_transaction_id) throw new Error(`Execution "${executionId}" already has an open transaction`);
      await q(`UPDATE execution_sessions SET open_transaction_id = $2::uuid, transaction_opened_at = $3 WHERE execution_id = $1`, [
        executionId,
        randomUUID(),
        new Date(),
      ]);
    });
  }

  async commitTransaction(executionId: string): Promise<void> {
    await this.driver.transaction(async (q) => {
      const locked = await lockExecution(q, executionId);
      if (!locked.open_transaction_id) throw new Error(`Execution "${executionId}" has no open transaction`);
      await q(
        `UPDATE step_sessions SET state = 'committed', committed_at = $3
         WHERE execution_id = $1 AND transaction_id = $2::uuid AND state = 'pending'`,
        [executionId, locked.open_transaction_id, new Date()],
      );
      await q(`UPDATE execution_sessions SET open_transaction_id = NULL, transaction_opened_at = NULL WHERE execution_id = $1`, [executionId]);
    });
  }
}
