// Bad input → DatabaseError VALIDATION naming the field, and nothing written (row counts unchanged).
import { describe, expect } from "vitest";
import { DatabaseWriter, MAX_ID_LENGTH } from "../src/index.js";
import { DEFAULT_MAX_CONTENT_BYTES, prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, rowCounts, uid } from "./helpers.js";

type Case = [name: string, call: (w: DatabaseWriter, executionId: string) => Promise<unknown>, field: string];

const CAP = 1024;
const long = "x".repeat(MAX_ID_LENGTH + 1);

const stepIndexCases: Case[] = [
  ["negative stepIndex", (w, id) => w.storeStepSession(id, -1, "x"), "stepIndex"],
  ["fractional stepIndex", (w, id) => w.storeStepSession(id, 1.5, "x"), "stepIndex"],
  ["NaN stepIndex", (w, id) => w.storeStepSession(id, Number.NaN, "x"), "stepIndex"],
  ["Infinity stepIndex", (w, id) => w.storeStepSession(id, Number.POSITIVE_INFINITY, "x"), "stepIndex"],
  ['non-numeric stepIndex ("3")', (w, id) => w.storeStepSession(id, "3" as never, "x"), "stepIndex"],
  ["stepIndex over INT4", (w, id) => w.storeStepSession(id, 2 ** 31, "x"), "stepIndex"],
  ["negative stepIndex via storeStep", (w, id) => w.storeStep(id, { stepIndex: -1 }), "stepIndex"],
  ["non-numeric stepIndex via storeStep", (w, id) => w.storeStep(id, { stepIndex: "0" as never }), "stepIndex"],
];

const idCases: Case[] = [
  ["empty executionId (storeStepSession)", (w) => w.storeStepSession("", 0, "x"), "executionId"],
  ["executionId over 255 chars (storeStepSession)", (w) => w.storeStepSession(long, 0, "x"), "executionId"],
  ["empty executionId (beginTransaction)", (w) => w.beginTransaction(""), "executionId"],
  ["executionId over 255 chars (commitTransaction)", (w) => w.commitTransaction(long), "executionId"],
  ["non-string executionId", (w) => w.storeStepSession(42 as never, 0, "x"), "executionId"],
  [
    "empty executionId (createExecutionSession)",
    (w) => w.createExecutionSession({ executionId: "", flowId: "f", agent: "a", prompt: "p" }),
    "executionId",
  ],
  [
    "executionId over 255 chars (createExecutionSession)",
    (w) => w.createExecutionSession({ executionId: long, flowId: "f", agent: "a", prompt: "p" }),
    "executionId",
  ],
  ["flowId over 255 chars", (w) => w.createExecutionSession({ executionId: uid(), flowId: long, agent: "a", prompt: "p" }), "flowId"],
  ["empty agent", (w) => w.createExecutionSession({ executionId: uid(), flowId: "f", agent: "", prompt: "p" }), "agent"],
  ["empty consolidatedId", (w, id) => w.storeConsolidatedSession("", id, "c", {}), "consolidatedId"],
  ["consolidatedId over 255 chars", (w, id) => w.storeConsolidatedSession(long, id, "c", {}), "consolidatedId"],
  ["empty executionId (storeConsolidatedSession)", (w) => w.storeConsolidatedSession(uid("c"), "", "c", {}), "executionId"],
  ["empty stepId", (w, id) => w.storeStep(id, { stepIndex: 0, stepId: "" }), "stepId"],
  ["toolName over 255 chars", (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: long }] }), "toolCalls[0].toolName"],
];

const metricCases: Case[] = [
  ["avgScore NaN", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { avgScore: Number.NaN }), "metadata.avgScore"],
  [
    "avgScore Infinity",
    (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { avgScore: Number.POSITIVE_INFINITY }),
    "metadata.avgScore",
  ],
  ["avgScore above 1", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { avgScore: 1.01 }), "metadata.avgScore"],
  ["avgScore below 0", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { avgScore: -0.01 }), "metadata.avgScore"],
  ["successRate −1", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { successRate: -1 }), "metadata.successRate"],
  ["successRate 100.5", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { successRate: 100.5 }), "metadata.successRate"],
  ["successRate NaN", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { successRate: Number.NaN }), "metadata.successRate"],
  [
    "successRate −Infinity",
    (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { successRate: Number.NEGATIVE_INFINITY }),
    "metadata.successRate",
  ],
  ["totalTools fractional", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { totalTools: 2.5 }), "metadata.totalTools"],
  ["totalTools negative", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { totalTools: -1 }), "metadata.totalTools"],
  [
    "executionDurationMs NaN",
    (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { executionDurationMs: Number.NaN }),
    "metadata.executionDurationMs",
  ],
  [
    "executionDurationMs Infinity",
    (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", { executionDurationMs: Number.POSITIVE_INFINITY }),
    "metadata.executionDurationMs",
  ],
  ["metadata not an object", (w, id) => w.storeConsolidatedSession(uid("c"), id, "c", "fast" as never), "metadata"],
  ["step score NaN", (w, id) => w.storeStep(id, { stepIndex: 0, score: Number.NaN }), "score"],
  ["step score 1.5", (w, id) => w.storeStep(id, { stepIndex: 0, score: 1.5 }), "score"],
  ["step durationMs Infinity", (w, id) => w.storeStep(id, { stepIndex: 0, durationMs: Number.POSITIVE_INFINITY }), "durationMs"],
  [
    "tool call durationMs NaN",
    (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: "t", durationMs: Number.NaN }] }),
    "toolCalls[0].durationMs",
  ],
  [
    "NaN inside tool-call JSON",
    (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: "t", input: { amount: Number.NaN } }] }),
    "toolCalls[0].input",
  ],
  ["invalid startedAt", (w, id) => w.storeStep(id, { stepIndex: 0, startedAt: new Date(Number.NaN) }), "startedAt"],
  ["finish with a non-final status", (w, id) => w.finishExecutionSession(id, { status: "running" as never }), "status"],
  [
    "a recorded owner with pid 0",
    (w) =>
      w.createExecutionSession({
        executionId: uid("o"),
        flowId: "f",
        agent: "a",
        prompt: "p",
        owner: { host: "h", pid: 0, startedAt: null },
      }),
    "owner.pid",
  ],
  [
    "a recorded heartbeat that is no date",
    (w) => w.createExecutionSession({ executionId: uid("o"), flowId: "f", agent: "a", prompt: "p", heartbeatAt: "yesterday" }),
    "heartbeatAt",
  ],
];

const sizeCases: Case[] = [
  ["sessionContent of cap+1 ASCII bytes", (w, id) => w.storeStepSession(id, 0, "a".repeat(CAP + 1)), "sessionContent"],
  [
    "sessionContent under the cap in characters but over it in UTF-8 bytes",
    (w, id) => w.storeStepSession(id, 0, "€".repeat(342)),
    "sessionContent",
  ],
  ["storeStep content over the cap", (w, id) => w.storeStep(id, { stepIndex: 0, content: "a".repeat(CAP + 1) }), "content"],
  [
    "storeStep without content whose JSON form is over the cap",
    (w, id) => w.storeStep(id, { stepIndex: 0, error: "e".repeat(CAP) }),
    "content",
  ],
  ["consolidated content over the cap", (w, id) => w.storeConsolidatedSession(uid("c"), id, "a".repeat(CAP + 1), {}), "content"],
];

const NUL = "\u0000";
const nulCases: Case[] = [
  ["NUL in session content", (w, id) => w.storeStepSession(id, 0, `before${NUL}after`), "sessionContent"],
  ["NUL in executionId", (w) => w.storeStepSession(`exec${NUL}`, 0, "x"), "executionId"],
  ["NUL in consolidatedId", (w, id) => w.storeConsolidatedSession(`c${NUL}`, id, "x", {}), "consolidatedId"],
  ["NUL in consolidated content", (w, id) => w.storeConsolidatedSession(uid("c"), id, `x${NUL}`, {}), "content"],
  ["NUL in prompt", (w) => w.createExecutionSession({ executionId: uid(), flowId: "f", agent: "a", prompt: `p${NUL}` }), "prompt"],
  [
    "NUL in execution metadata",
    (w) => w.createExecutionSession({ executionId: uid(), flowId: "f", agent: "a", prompt: "p", metadata: { k: NUL } }),
    "metadata",
  ],
  ["NUL in a tool name", (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: `t${NUL}` }] }), "toolCalls[0].toolName"],
  [
    "NUL inside tool-call input JSON",
    (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: "t", input: { deep: [{ s: `v${NUL}` }] } }] }),
    "toolCalls[0].input",
  ],
  [
    "NUL in a tool-call output JSON key",
    (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: "t" }, { toolName: "u", output: { [`k${NUL}`]: 1 } }] }),
    "toolCalls[1].output",
  ],
  ["NUL in a step error", (w, id) => w.storeStep(id, { stepIndex: 0, error: NUL }), "error"],
  // Content without a raw NUL, whose JSON escapes decode to one in a structured field (jsonb/text refuse it).
  [
    "escaped \\u0000 in a parsed error field",
    (w, id) => w.storeStepSession(id, 0, '{"success": false, "error": "bad \\u0000 byte"}'),
    "sessionContent.error",
  ],
  [
    "escaped \\u0000 in a parsed tool-call output",
    (w, id) => w.storeStepSession(id, 0, '{"tool_calls": [{"tool": "t", "output": {"a": "\\u0000"}}]}'),
    "sessionContent.toolCalls[0].output",
  ],
  // A lone surrogate has no UTF-8 form: text would silently get U+FFFD (no round trip), jsonb refuses it.
  ["a lone surrogate in session content", (w, id) => w.storeStepSession(id, 0, "half \ud83d of an emoji"), "sessionContent"],
  ["a lone surrogate in storeStep content", (w, id) => w.storeStep(id, { stepIndex: 0, content: "\udc00" }), "content"],
  [
    "a lone surrogate in tool-call input JSON",
    (w, id) => w.storeStep(id, { stepIndex: 0, toolCalls: [{ toolName: "t", input: ["\ud800x"] }] }),
    "toolCalls[0].input",
  ],
  ["a lone surrogate in executionId", (w) => w.storeStepSession("exec\udfff", 0, "x"), "executionId"],
  [
    "an escaped lone surrogate in parsed JSON content",
    (w, id) => w.storeStepSession(id, 0, '{"error": "bad \\ud800 half"}'),
    "sessionContent.error",
  ],
];

const structuredCases: Case[] = [
  ['{"score": 7}', (w, id) => w.storeStepSession(id, 0, '{"score": 7}'), "sessionContent.score"],
  ["YAML score: -0.5", (w, id) => w.storeStepSession(id, 0, "step_id: s\nscore: -0.5\n"), "sessionContent.score"],
  ['success: "yes"', (w, id) => w.storeStepSession(id, 0, '{"success": "yes"}'), "sessionContent.success"],
  ["execution_time_ms: -5", (w, id) => w.storeStepSession(id, 0, "step_id: s\nexecution_time_ms: -5\n"), "sessionContent.durationMs"],
  ["execution_time_ms fractional", (w, id) => w.storeStepSession(id, 0, '{"execution_time_ms": 1.5}'), "sessionContent.durationMs"],
  ["started_at not a date", (w, id) => w.storeStepSession(id, 0, '{"started_at": "yesterday"}'), "sessionContent.startedAt"],
  ["tool_calls not a list", (w, id) => w.storeStepSession(id, 0, '{"tool_calls": "get_account_balance"}'), "sessionContent.toolCalls"],
  [
    "a tool call without a name",
    (w, id) => w.storeStepSession(id, 0, '{"tool_calls": [{"input": {}}]}'),
    "sessionContent.toolCalls[0].toolName",
  ],
  ["a tool call that is a number", (w, id) => w.storeStepSession(id, 0, "tool_calls:\n- 123\n"), "sessionContent.toolCalls[0].toolName"],
  ["step_id over 255 chars", (w, id) => w.storeStepSession(id, 0, `{"step_id": "${long}"}`), "sessionContent.stepId"],
];

test.override({ databaseOptions: { writer: { maxContentBytes: CAP, maxConsolidatedBytes: CAP } } });

describe.each(testBackends())("input validation on $name", (backend) => {
  test.override({ backend });

  describe.each([
    ["step index", stepIndexCases],
    ["ids", idCases],
    ["metrics and numbers", metricCases],
    ["size cap (1024 bytes)", sizeCases],
    ["NUL characters: rejected clearly, never stored", nulCases],
    ["structured session content", structuredCases],
  ] as const)("%s", (_, cases) => {
    test.for(cases)("%s → VALIDATION on %s, nothing written", async ([, call, field], { db }) => {
      const executionId = await createExecution(db.writer);
      const before = await rowCounts(db);
      const error = await expectDbError(call(db.writer, executionId), "VALIDATION", field);
      expect(error.message).toMatch(/^Invalid input: /);
      expect({ retryable: error.retryable, httpStatus: error.httpStatus }).toEqual({ retryable: false, httpStatus: 400 });
      expect(error.message).toContain(field.split(/[.[]/).at(-1)!.replace("]", ""));
      expect(await rowCounts(db)).toEqual(before);
    });
  });

  test("a value of the wrong kind is said in a person's words, with what was given (not zod's 'Invalid input: expected …')", async ({
    db,
  }) => {
    const executionId = await createExecution(db.writer);
    const badCall = await expectDbError(
      db.writer.storeStep(executionId, { stepIndex: 0, toolCalls: [{ toolName: 5 as never }] }),
      "VALIDATION",
      "toolCalls[0].toolName",
    );
    expect(badCall.message).toBe("Invalid input: toolCalls[0].toolName must be text, not 5");
    const badTime = await expectDbError(
      db.writer.createExecutionSession({ executionId: uid("e"), flowId: "f", prompt: "p", agent: "a", startedAt: "yesterday" }),
      "VALIDATION",
      "startedAt",
    );
    expect(badTime.message).toBe(
      'Invalid input: startedAt must be a date and time in ISO 8601 (2026-12-05T14:30:00.000Z), not the text "yesterday"',
    );
  });

  test("NUL errors say why", async ({ db }) => {
    const executionId = await createExecution(db.writer);
    const error = await expectDbError(db.writer.storeStepSession(executionId, 0, `a${NUL}b`), "VALIDATION", "sessionContent");
    expect(error.message).toMatch(/NUL character/);
  });

  test("the limits themselves are accepted: 255-char ids, 0/100 success rate, 0/1 scores, content of exactly the cap", async ({ db }) => {
    const w = db.writer;
    const id = "e".repeat(MAX_ID_LENGTH - 8) + uid("").slice(1, 9);
    expect(id).toHaveLength(MAX_ID_LENGTH);
    await createExecution(w, id);
    await w.storeStepSession(id, 0, "a".repeat(CAP));
    await w.storeStepSession(id, 1, "€".repeat(341)); // 1023 bytes
    await w.storeStep(id, { stepIndex: 2, score: 0, content: "zero" });
    await w.storeStep(id, { stepIndex: 2 ** 31 - 1, score: 1, content: "max index" });
    const c1 = uid("c").padEnd(MAX_ID_LENGTH, "c");
    await w.storeConsolidatedSession(c1, id, "a".repeat(CAP), { avgScore: 0, successRate: 0, totalTools: 0, executionDurationMs: 0 });
    await w.storeConsolidatedSession(uid("c"), id, "b", { avgScore: 1, successRate: 100 });
    await w.storeConsolidatedSession(uid("c"), id, "c", { avgScore: null, successRate: null, totalTools: null, executionDurationMs: null });
    expect((await w.getSessionsForConsolidation(id)).map((s) => s.stepIndex)).toEqual([0, 1, 2, 2 ** 31 - 1]);
    expect(await w.getConsolidatedSession(c1)).toHaveLength(CAP);
  });

  test("the default step cap: one byte over is rejected before reaching the database, counted in UTF-8 bytes", async ({ db }) => {
    const executionId = await createExecution(db.writer);
    const defaultWriter = new DatabaseWriter(prismaClientOf(db));
    const before = await rowCounts(db);
    const tooBig = "a".repeat(DEFAULT_MAX_CONTENT_BYTES + 1);
    const error = await expectDbError(defaultWriter.storeStepSession(executionId, 0, tooBig), "VALIDATION", "sessionContent");
    expect(error.message).toContain(`${DEFAULT_MAX_CONTENT_BYTES + 1} bytes`);
    expect(error.message).toContain(`${DEFAULT_MAX_CONTENT_BYTES}-byte cap`);
    // Counted in UTF-8 bytes: 8 Mi two-byte characters plus one is over, though only ~8 M characters.
    await expectDbError(
      defaultWriter.storeStepSession(executionId, 0, `${"é".repeat(DEFAULT_MAX_CONTENT_BYTES / 2)}a`),
      "VALIDATION",
      "sessionContent",
    );
    expect(await rowCounts(db)).toEqual(before);
    // …and the writer with the 1 KiB cap rejects what the default writer accepts.
    await expectDbError(db.writer.storeStepSession(executionId, 0, "a".repeat(CAP + 1)), "VALIDATION", "sessionContent");
    await defaultWriter.storeStepSession(executionId, 0, "a".repeat(CAP + 1));
    expect((await rowCounts(db)).steps).toBe(before.steps + 1);
  });

  test("a consolidated session has its own, larger cap: content over the step cap is stored, over its own cap refused", async ({ db }) => {
    const executionId = await createExecution(db.writer);
    const defaultWriter = new DatabaseWriter(prismaClientOf(db));
    const before = await rowCounts(db);
    const big = "a".repeat(DEFAULT_MAX_CONTENT_BYTES + 1);
    const cid = uid("c");
    await defaultWriter.storeConsolidatedSession(cid, executionId, big, {});
    expect((await defaultWriter.getConsolidatedSession(cid))?.length).toBe(big.length);
    const small = new DatabaseWriter(prismaClientOf(db), { maxConsolidatedBytes: 100 });
    const error = await expectDbError(small.storeConsolidatedSession(uid("c"), executionId, "b".repeat(101), {}), "VALIDATION", "content");
    expect(error.message).toContain("101 bytes, over the 100-byte cap");
    expect((await rowCounts(db)).consolidated).toBe(before.consolidated + 1);
  });
});
