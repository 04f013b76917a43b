/**
 * Property-based: hostile input thrown at every public DatabaseWriter method, on real databases.
 *
 * Each run builds a small world (an execution that is running, has an open transaction, is finished,
 * or does not exist, with committed and pending steps and maybe a consolidated session), then makes
 * one call with generated arguments. The call must either
 *   - reject with a DatabaseError whose code says the input was refused (VALIDATION naming the field,
 *     NOT_FOUND, CONFLICT, TRANSACTION_STATE) and leave every row of every table as it was, or
 *   - succeed and have written exactly what it was given: the whole tables are compared before and
 *     after, and what changed is checked field by field against the input.
 * Inputs built only from valid parts must be accepted (or refused with the one code the world
 * state calls for), so the writer cannot pass by refusing everything.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect } from "vitest";
import {
  CONSOLIDATION_STATUSES,
  type Database,
  DatabaseError,
  type DatabaseWriter,
  EXECUTION_STATUSES,
  STEP_STATUSES,
  stepSessionId,
} from "../src/index.js";
import { parseStepContent, prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { uid } from "./helpers.js";
import {
  anyShape,
  asStoredJson,
  attempt,
  changedTables,
  cleanJson,
  cleanText,
  type Diff,
  describeValue,
  expectTypedError,
  fcOptions,
  nastyNumber,
  nastyString,
  nastyValue,
  type Outcome,
  orNasty,
  reshaped,
  type Snapshot,
  snapshot,
  stepOfCall,
} from "./property-support.js";

// ── The world each run starts from ───────────────────────────────────────────────────────────────

type WorldSpec = { state: "running" | "open" | "finished" | "missing"; committed: number; pending: number; consolidated: boolean };
type World = WorldSpec & { id: string; transactionId: string | null; consolidatedId: string | null };

const worldSpec: fc.Arbitrary<WorldSpec> = fc.record({
  state: fc.constantFrom("running", "open", "finished", "missing"),
  committed: fc.nat(2),
  pending: fc.nat(1),
  consolidated: fc.boolean(),
});

/** Built through the writer's happy path, which the other test files prove. */
async function build(w: DatabaseWriter, spec: WorldSpec): Promise<World> {
  const id = uid("prop");
  const world: World = { ...spec, id, transactionId: null, consolidatedId: null };
  if (spec.state === "missing") return world;
  await w.createExecutionSession({ executionId: id, flowId: "flow-prop", agent: "agent-prop", prompt: "prompt" });
  for (let i = 0; i < spec.committed; i++) {
    await w.storeStep(id, {
      stepIndex: i,
      stepId: `s${i}`,
      status: "success",
      score: 0.5,
      toolCalls: [{ toolName: "t", input: { i }, output: { ok: true }, success: true }],
    });
  }
  if (spec.consolidated) {
    world.consolidatedId = uid("cons");
    await w.storeConsolidatedSession(world.consolidatedId, id, "seed", { avgScore: 0.5 });
  }
  if (spec.state === "open") {
    world.transactionId = await w.beginTransaction(id);
    for (let j = 0; j < spec.pending; j++)
      await w.storeStep(id, { stepIndex: spec.committed + j, content: `pending ${j}`, toolCalls: [{ toolName: "p" }] });
  }
  if (spec.state === "finished") await w.finishExecutionSession(id, { status: "completed" });
  return world;
}

// Placeholders resolved once the world exists: the world's execution, a fresh unique id.
const SELF = "\u0001SELF";
const FRESH = "\u0001FRESH";
const SELF_CONSOLIDATED = "\u0001SELF_CONSOLIDATED";
const CURRENT_TX = "\u0001CURRENT_TX";
let fresh = 0;
function resolve(value: unknown, world: World): unknown {
  if (value === SELF) return world.id;
  if (value === FRESH) return `${uid("fresh")}-${++fresh}`;
  if (value === SELF_CONSOLIDATED) return world.consolidatedId ?? `${uid("cons")}-missing`;
  if (value === CURRENT_TX) return world.transactionId ?? randomUUID();
  return value;
}
function resolveRecord(value: unknown, world: World): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype)
    return resolve(value, world);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, world)]));
}

// ── Generators of valid parts ────────────────────────────────────────────────────────────────────

/** Code-point-safe truncation: cutting a surrogate pair in half would make clean text unclean. */
function fitLength(text: string, max: number): string {
  let out = "";
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}
const cleanId = cleanText.map((s) => fitLength(s, 255)).filter((s) => s.length > 0);
const freshOr = (other: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary: fc.constant(FRESH) }, { weight: 1, arbitrary: other });
const cleanDate = fc
  .date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true })
  .chain((d) => fc.constantFrom<Date | string>(d, d.toISOString(), d.toISOString().replace("Z", "+00:00")));
const cleanInt32 = fc.oneof(fc.constantFrom(0, 2 ** 31 - 1), fc.nat());
const cleanScore = fc.oneof(fc.constantFrom(0, 1, 0.5), fc.double({ min: 0, max: 1, noNaN: true }));
const RUNNING: WorldSpec = { state: "running", committed: 1, pending: 0, consolidated: false };
const OPEN: WorldSpec = { state: "open", committed: 1, pending: 1, consolidated: false };
const DAY = 86_400_000;
/** The database may stamp times with its own clock: a few ms either side of a cutoff prove nothing. */
const CLOCK_SLACK = 5;
const targetId = fc.oneof(
  { weight: 6, arbitrary: fc.constant(SELF) },
  { weight: 1, arbitrary: nastyString },
  { weight: 1, arbitrary: anyShape },
);

const cleanToolCall = fc.record(
  {
    toolName: cleanId,
    input: cleanJson,
    output: cleanJson,
    success: fc.option(fc.boolean(), { nil: null }),
    durationMs: fc.option(cleanInt32, { nil: null }),
    error: fc.option(cleanText, { nil: null }),
  },
  { requiredKeys: ["toolName"] },
);
const cleanStepFields = {
  stepId: fc.option(cleanId, { nil: null }),
  status: fc.option(fc.constantFrom(...STEP_STATUSES), { nil: null }),
  success: fc.option(fc.boolean(), { nil: null }),
  score: fc.option(cleanScore, { nil: null }),
  startedAt: fc.option(cleanDate, { nil: null }),
  finishedAt: fc.option(cleanDate, { nil: null }),
  durationMs: fc.option(cleanInt32, { nil: null }),
  error: fc.option(cleanText, { nil: null }),
  toolCalls: fc.array(cleanToolCall, { maxLength: 3 }),
};
const stepIndex = fc.oneof({ weight: 4, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.constant(2 ** 31 - 1) });
const cleanStep = fc.record({ stepIndex, ...cleanStepFields, content: cleanText }, { requiredKeys: ["stepIndex"] });
const dirtyStep = reshaped(
  fc.record(
    {
      stepIndex: orNasty(stepIndex),
      stepId: orNasty(cleanId),
      status: orNasty(fc.constantFrom(...STEP_STATUSES)),
      success: orNasty(fc.boolean()),
      score: fc.oneof(cleanScore, nastyNumber),
      startedAt: orNasty(cleanDate),
      finishedAt: orNasty(cleanDate),
      durationMs: fc.oneof(cleanInt32, nastyNumber),
      error: orNasty(cleanText),
      toolCalls: orNasty(fc.array(reshaped(cleanToolCall as fc.Arbitrary<Record<string, unknown>>), { maxLength: 3 })),
      content: orNasty(cleanText),
    },
    { requiredKeys: ["stepIndex"] },
  ),
);
const cleanGuard = fc.constantFrom<unknown>(
  undefined,
  {},
  { transactionId: CURRENT_TX },
  { transactionId: "00000000-0000-4000-8000-000000000000" },
);
const anyGuard = fc.oneof(
  { weight: 3, arbitrary: cleanGuard },
  { weight: 1, arbitrary: anyShape },
  { weight: 1, arbitrary: fc.record({ transactionId: nastyValue }) },
);
const resolveGuard = (guard: unknown, world: World) =>
  guard && typeof guard === "object" && "transactionId" in guard ? { ...guard, transactionId: resolve(guard.transactionId, world) } : guard;

/** Tags an input as built only from valid parts, so the oracle can insist on its acceptance. */
const tagged = <C, D>(clean: fc.Arbitrary<C>, dirty: fc.Arbitrary<D>) =>
  fc.oneof(
    { weight: 1, arbitrary: clean.map((args) => ({ clean: true as const, args })) },
    { weight: 1, arbitrary: dirty.map((args) => ({ clean: false as const, args })) },
  );

// ── Oracles ──────────────────────────────────────────────────────────────────────────────────────

const ms = (v: unknown) => (v === null || v === undefined ? null : (v instanceof Date ? v : new Date(v as string)).getTime());
const time = (v: unknown) => (v instanceof Date ? v.getTime() : null);
/** -0 and 0 are one number to an INT or FLOAT column; everything else must come back identical. */
const num = (v: unknown) => (v === undefined || v === null ? null : Object.is(v, -0) ? 0 : v);

type Row = Record<string, unknown>;
/** An execution's own data: what no transaction bookkeeping may change. */
const EXECUTION_DATA = [
  "executionId",
  "flowId",
  "agent",
  "prompt",
  "status",
  "startedAt",
  "finishedAt",
  "durationMs",
  "error",
  "metadata",
  "consolidationStatus",
  "consolidationError",
];
const pick = (row: Row, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k]]));
const rowOf = (s: Snapshot, table: keyof Snapshot, key: string, value: unknown) => s[table].find((r) => r[key] === value);

function expectNothingChanged(o: Outcome<unknown>, what: string) {
  if (o.ok) expect(changedTables(o.diff), `${what} is a read but changed the tables`).toEqual([]);
}
function expectOnly(d: Diff, tables: string[], what: string) {
  expect(
    changedTables(d).every((t) => tables.includes(t)),
    `${what} changed ${changedTables(d)} (allowed: ${tables})`,
  ).toBe(true);
}
function expectFailure(o: Outcome<unknown>, code: string, what: string) {
  expect(o.ok, `${what} should have failed with ${code}`).toBe(false);
  if (!o.ok) expect(o.error.code, `${what}: ${o.error.message}`).toBe(code);
}
function expectSuccess(o: Outcome<unknown>, what: string) {
  if (!o.ok) expect.fail(`${what} was refused: ${o.error.code} (${o.error.field}) ${o.error.message}`);
}

/**
 * An id that is not a string, empty, over 255 characters or holds NUL must be refused as VALIDATION
 * (documented: nothing can store it). The field named may be another bad argument of the same call.
 */
const invalidId = (v: unknown) => typeof v !== "string" || v.length === 0 || v.length > 255 || v.includes("\u0000");
const unstorable = (v: string) => v.includes("\u0000") || !v.isWellFormed();
function expectIdRule(o: Outcome<unknown>, id: unknown, field: string, what: string) {
  if (invalidId(id)) {
    expect(o.ok, `${what}: invalid ${field} ${describeValue(id)} was accepted`).toBe(false);
    if (!o.ok) expect(o.error.code, `${what}: ${o.error.message}`).toBe("VALIDATION");
  }
}

/** Execution state as the tables say, looked up by exactly the id given. */
function executionState(s: Snapshot, id: unknown) {
  const row = typeof id === "string" ? rowOf(s, "executions", "executionId", id) : undefined;
  return {
    row,
    exists: !!row,
    running: row?.status === "running",
    openTx: (row?.openTransactionId as string | null | undefined) ?? null,
  };
}

/** What storeStep/storeStepSession must have stored: the step row and its tool calls, field by field. */
function expectStoredStep(
  o: Outcome<unknown> & { ok: true },
  id: string,
  index: number,
  step: Row,
  content: string | undefined,
  what: string,
) {
  expectStepRow(o, id, index, step, content, what);
  const sessionId = stepSessionId(id, index);
  // Nothing but this step and its tool calls changed.
  expectOnly(o.diff, ["steps", "toolCalls"], what);
  expect([...o.diff.steps.added, ...o.diff.steps.changed.map((c) => c.after)].map((x) => x.sessionId)).toEqual([sessionId]);
  expect(o.diff.steps.removed).toEqual([]);
  expect(
    [...o.diff.toolCalls.added, ...o.diff.toolCalls.removed, ...o.diff.toolCalls.changed.map((c) => c.after)].every(
      (c) => stepOfCall(c) === sessionId,
    ),
  ).toBe(true);
}

/** One stored step row and its tool calls, field by field against the input. */
function expectStepRow(
  o: Outcome<unknown> & { ok: true },
  id: string,
  index: number,
  step: Row,
  content: string | undefined,
  what: string,
) {
  const sessionId = stepSessionId(id, index);
  const row = rowOf(o.after, "steps", "sessionId", sessionId);
  expect(row, `${what}: no row ${sessionId}`).toBeDefined();
  const r = row as Row;
  const state = executionState(o.before, id);
  if (content === undefined) expectContentOf(r.content, step, what);
  else expect(r.content === content, `${what}: content differs: ${describeValue(r.content)} vs ${describeValue(content)}`).toBe(true);
  const status = step.status ?? (step.success === true ? "success" : step.success === false ? "failed" : null);
  expect({
    executionId: r.executionId,
    stepIndex: r.stepIndex,
    stepId: r.stepId,
    status: r.status,
    score: num(r.score),
    startedAt: time(r.startedAt),
    finishedAt: time(r.finishedAt),
    durationMs: num(r.durationMs),
    error: r.error,
    state: r.state,
    transactionId: r.transactionId,
  }).toEqual({
    executionId: id,
    stepIndex: index,
    stepId: step.stepId ?? null,
    status,
    score: num(step.score),
    startedAt: ms(step.startedAt),
    finishedAt: ms(step.finishedAt),
    durationMs: num(step.durationMs),
    error: step.error ?? null,
    state: state.openTx ? "pending" : "committed",
    transactionId: state.openTx,
  });
  const calls = o.after.toolCalls
    .filter((c) => stepOfCall(c) === sessionId)
    .sort((a, b) => (a.callIndex as number) - (b.callIndex as number));
  const given = (step.toolCalls as Row[] | undefined) ?? [];
  expect(
    calls.map((c) => ({
      callIndex: c.callIndex,
      toolName: c.toolName,
      input: c.input,
      output: c.output,
      success: c.success,
      durationMs: num(c.durationMs),
      error: c.error,
    })),
  ).toEqual(
    given.map((c, callIndex) => ({
      callIndex,
      toolName: c.toolName,
      input: asStoredJson(c.input),
      output: asStoredJson(c.output),
      success: c.success ?? null,
      durationMs: num(c.durationMs),
      error: c.error ?? null,
    })),
  );
}

/**
 * Without `content`, what is stored is the step itself as JSON (documented). Which form exactly
 * (extra fields kept or dropped, dates as given or normalised) is the writer's choice; what it
 * says must be the step: same fields, same instants, same tool calls.
 */
function expectContentOf(stored: unknown, step: Row, what: string): void {
  if (typeof step.content === "string") {
    expect(stored === step.content, `${what}: content differs: ${describeValue(stored)} vs ${describeValue(step.content)}`).toBe(true);
    return;
  }
  const doc = JSON.parse(stored as string) as Row;
  expect(doc.stepIndex, `${what}: content ${describeValue(stored)}`).toBe(step.stepIndex);
  for (const key of ["stepId", "status", "success", "score", "durationMs", "error"]) {
    if (step[key] !== undefined) expect(doc[key], `${what}: content.${key}`).toEqual(asStoredJson(step[key]));
  }
  for (const key of ["startedAt", "finishedAt"]) {
    if (step[key] !== undefined && step[key] !== null) expect(ms(doc[key]), `${what}: content.${key}`).toBe(ms(step[key]));
  }
  const calls = (step.toolCalls as Row[] | undefined) ?? [];
  expect(
    ((doc.toolCalls as Row[] | undefined) ?? []).map((c) => [c.toolName, c.input ?? null, c.output ?? null]),
    `${what}: content.toolCalls`,
  ).toEqual(calls.map((c) => [c.toolName, asStoredJson(c.input), asStoredJson(c.output)]));
}

/** The store methods share one life cycle: which outcome a clean input must get in this world. */
function expectStoreOutcome(o: Outcome<unknown>, id: unknown, index: number, guard: unknown, clean: boolean, what: string): boolean {
  const state = executionState(o.before, id);
  const existing = typeof id === "string" ? rowOf(o.before, "steps", "sessionId", stepSessionId(id, index)) : undefined;
  const guardTx = guard && typeof guard === "object" ? (guard as { transactionId?: unknown }).transactionId : undefined;
  if (o.ok) {
    expect(state.exists, `${what}: stored a step for an execution that does not exist`).toBe(true);
    if (guardTx !== undefined) expect(guardTx, `${what}: stored outside the transaction it was pinned to`).toBe(state.openTx);
    if (!existing) expect(state.running, `${what}: a finished execution's record changed`).toBe(true);
    if (existing?.state === "committed") expect(o.diff.steps.changed, `${what}: a committed step was overwritten`).toEqual([]);
    if ((o.value as { created?: boolean } | undefined)?.created === false)
      expect(changedTables(o.diff), `${what}: a no-op retry changed the tables`).toEqual([]);
    return true;
  }
  if (!clean) return false;
  if (!state.exists) expectFailure(o, "NOT_FOUND", what);
  else if (guardTx !== undefined && guardTx !== state.openTx) expectFailure(o, "TRANSACTION_STATE", what);
  else if (!existing && !state.running) expectFailure(o, "TRANSACTION_STATE", what);
  else if (!existing) expectSuccess(o, what);
  else expect(["CONFLICT", "TRANSACTION_STATE"], `${what}: ${o.error.message}`).toContain(o.error.code);
  return false;
}

// ── The properties ───────────────────────────────────────────────────────────────────────────────

describe.each(testBackends())("every DatabaseWriter method under hostile input on $name", (backend) => {
  test.override({ backend });
  let db: Database;
  let w: DatabaseWriter;
  // Each property starts from empty tables, so the whole-table snapshots stay small.
  test.beforeEach(async ({ db: fileDatabase }) => {
    db = fileDatabase;
    w = db.writer;
    await prismaClientOf(db).$executeRawUnsafe(
      "TRUNCATE execution_sessions, step_sessions, step_attempts, tool_calls, consolidated_sessions, evaluation_runs",
    );
  });

  /**
   * One property per method. `examples` run first, whatever the seed: inputs that once broke the
   * writer (see the report of issue 4), so they are proven on every run, not only when drawn.
   */
  const property = <A>(
    name: string,
    numRuns: number,
    args: fc.Arbitrary<A>,
    body: (world: World, args: A) => Promise<void>,
    examples: [WorldSpec, A][] = [],
  ) =>
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(worldSpec, args, async (spec, a) => body(await build(w, spec), a)),
        { ...fcOptions(numRuns), examples },
      );
    });

  property(
    "createExecutionSession stores exactly what it is given, or refuses it",
    30,
    tagged(
      fc.record(
        {
          executionId: freshOr(fc.constant(SELF)),
          flowId: cleanId,
          agent: cleanId,
          prompt: cleanText,
          metadata: cleanJson,
          startedAt: cleanDate,
        },
        { requiredKeys: ["executionId", "flowId", "agent", "prompt"] },
      ),
      reshaped(
        fc.record({
          executionId: freshOr(nastyString),
          flowId: orNasty(cleanId),
          agent: orNasty(cleanId),
          prompt: orNasty(cleanText),
          metadata: fc.oneof(cleanJson, anyShape),
          startedAt: orNasty(cleanDate),
        }),
      ),
    ),
    async (world, { clean, args }) => {
      const input = resolveRecord(args, world) as Row;
      const what = `createExecutionSession(${describeValue(input)})`;
      const t0 = Date.now();
      const o = await attempt(db, what, () => w.createExecutionSession(input as never));
      const t1 = Date.now();
      if (!o.ok) {
        if (clean && executionState(o.before, input.executionId).exists) expectFailure(o, "CONFLICT", what);
        else if (clean) expectSuccess(o, what);
        return;
      }
      expect(executionState(o.before, input.executionId).exists, `${what}: overwrote an existing execution`).toBe(false);
      expectOnly(o.diff, ["executions"], what);
      expect(o.diff.executions.added).toHaveLength(1);
      const row = o.diff.executions.added[0] as Row;
      expect(
        row.executionId === input.executionId && row.flowId === input.flowId && row.agent === input.agent && row.prompt === input.prompt,
        `${what}: stored ${describeValue(row)}`,
      ).toBe(true);
      expect(row.metadata, `${what}: metadata`).toEqual(input.metadata === undefined ? null : asStoredJson(input.metadata));
      const started = (row.startedAt as Date).getTime();
      if (input.startedAt === undefined) {
        // The database's clock; the server runs on this machine.
        expect(started).toBeGreaterThanOrEqual(t0 - 2_000);
        expect(started).toBeLessThanOrEqual(t1 + 2_000);
      } else {
        expect(started, `${what}: startedAt`).toBe(ms(input.startedAt));
      }
      expect({ status: row.status, open: row.openTransactionId, finishedAt: row.finishedAt }).toEqual({
        status: "running",
        open: null,
        finishedAt: null,
      });
      // The returned record and a fresh read describe the stored row.
      const read = await w.getExecutionSession(input.executionId as string);
      expect(read).toEqual(o.value);
      expect(read?.startedAt.getTime()).toBe(started);
    },
    [
      // Not an object at all: VALIDATION must still name what is wrong (it named "").
      [RUNNING, { clean: false, args: null }],
      // A top-level JSON number lost digits on the way into jsonb (0.30000000000000004 → 0.3).
      [RUNNING, { clean: true, args: { executionId: FRESH, flowId: "f", agent: "a", prompt: "p", metadata: 0.1 + 0.2 } }],
      // Dates PostgreSQL cannot hold, or holds but cannot give back to JavaScript (year 10000+).
      [
        RUNNING,
        {
          clean: false,
          args: { executionId: FRESH, flowId: "f", agent: "a", prompt: "p", startedAt: new Date("+010000-01-01T00:00:00Z") },
        },
      ],
      [RUNNING, { clean: false, args: { executionId: FRESH, flowId: "f", agent: "a", prompt: "p", startedAt: "0000-01-01T00:00:00Z" } }],
      // Lone surrogates would come back as U+FFFD.
      [RUNNING, { clean: false, args: { executionId: FRESH, flowId: "f", agent: "a", prompt: "x\uD800y" } }],
    ],
  );

  property(
    "getExecutionSession reads, never writes, and returns only the execution asked for",
    20,
    fc.oneof(targetId, fc.constant(FRESH)),
    async (world, idArg) => {
      const id = resolve(idArg, world);
      const what = `getExecutionSession(${describeValue(id)})`;
      const o = await attempt(db, what, () => w.getExecutionSession(id as never));
      expectNothingChanged(o, what);
      expectIdRule(o, id, "executionId", what);
      if (!o.ok) return;
      const row = executionState(o.before, id).row;
      if (o.value === null) expect(row, `${what}: exists but read as null`).toBeUndefined();
      else {
        expect(o.value.executionId === id, `${what}: returned ${describeValue(o.value.executionId)}`).toBe(true);
        expect({ flowId: o.value.flowId, status: o.value.status, tx: o.value.openTransaction?.transactionId ?? null }).toEqual({
          flowId: row?.flowId,
          status: row?.status,
          tx: row?.openTransactionId,
        });
      }
    },
  );

  property(
    "listExecutionSessions filters, orders and pages, and never writes",
    30,
    tagged(
      fc.option(
        fc.record(
          {
            status: fc.constantFrom(...EXECUTION_STATUSES),
            flowId: fc.constantFrom("flow-prop", "no-such-flow"),
            limit: fc.integer({ min: 1, max: 1000 }),
            offset: fc.nat(3),
          },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
      reshaped(
        fc.record({
          status: orNasty(fc.constantFrom(...EXECUTION_STATUSES)),
          flowId: orNasty(fc.constant("flow-prop")),
          limit: fc.oneof(fc.integer({ min: 1, max: 1000 }), nastyNumber, nastyValue),
          offset: fc.oneof(fc.nat(3), nastyNumber, nastyValue),
        }),
      ),
    ),
    async (_world, { clean, args }) => {
      const what = `listExecutionSessions(${describeValue(args)})`;
      const o = await attempt(db, what, () => w.listExecutionSessions(args as never));
      expectNothingChanged(o, what);
      if (!o.ok) {
        if (clean) expectSuccess(o, what);
        return;
      }
      const q = { limit: 50, offset: 0, ...(args as Row) } as { status?: string; flowId?: string; limit: number; offset: number };
      const matching = o.before.executions.filter((e) => (!q.status || e.status === q.status) && (!q.flowId || e.flowId === q.flowId));
      expect(o.value.length).toBe(Math.max(0, Math.min(q.limit, matching.length - q.offset)));
      const ids = new Set(matching.map((e) => e.executionId));
      for (const e of o.value) expect(ids.has(e.executionId), `${what}: ${e.executionId} does not match the filter`).toBe(true);
      for (let i = 1; i < o.value.length; i++) {
        const [a, b] = [o.value[i - 1]!, o.value[i]!];
        expect(a.startedAt.getTime()).toBeGreaterThanOrEqual(b.startedAt.getTime());
        // Ties in the list's keyset order: the id descending, byte-wise as the database's C collation compares.
        if (a.startedAt.getTime() === b.startedAt.getTime())
          expect(Buffer.compare(Buffer.from(a.executionId), Buffer.from(b.executionId))).toBe(1);
      }
    },
    [[RUNNING, { clean: false, args: null as never }]],
  );

  property(
    "finishExecutionSession finishes a running execution exactly as told, or refuses",
    20,
    fc.tuple(
      targetId,
      tagged(
        fc.record(
          {
            status: fc.constantFrom("completed", "failed", "timed_out", "rolled_back"),
            error: fc.option(cleanText, { nil: null }),
            durationMs: cleanInt32,
            // Within days of the start: a computed duration must fit the INT4 column (24.8 days).
            finishedAt: fc.integer({ min: -3 * DAY, max: 3 * DAY }).map((d) => new Date(Date.now() + d)),
          },
          { requiredKeys: ["status"] },
        ),
        reshaped(
          fc.record({
            status: orNasty(fc.constantFrom(...EXECUTION_STATUSES)),
            error: orNasty(cleanText),
            durationMs: fc.oneof(cleanInt32, nastyNumber),
            finishedAt: orNasty(cleanDate),
          }),
        ),
      ),
    ),
    async (world, [idArg, { clean, args }]) => {
      const id = resolve(idArg, world);
      const input = args as Row;
      const what = `finishExecutionSession(${describeValue(id)}, ${describeValue(input)})`;
      const t0 = Date.now();
      const o = await attempt(db, what, () => w.finishExecutionSession(id as never, input as never));
      const t1 = Date.now();
      expectIdRule(o, id, "executionId", what);
      const state = executionState(o.before, id);
      if (!o.ok) {
        if (clean && idArg === SELF) {
          if (!state.exists) expectFailure(o, "NOT_FOUND", what);
          else if (!state.running || state.openTx) expectFailure(o, "TRANSACTION_STATE", what);
          else expectSuccess(o, what);
        }
        return;
      }
      expect(state.running && !state.openTx, `${what}: finished an execution that was not running, or had an open transaction`).toBe(true);
      expectOnly(o.diff, ["executions"], what);
      expect(o.diff.executions.changed.map((c) => c.after.executionId)).toEqual([id]);
      const row = o.diff.executions.changed[0]!.after;
      expect(row.status).toBe(input.status);
      expect(row.error === (input.error ?? null), `${what}: error ${describeValue(row.error)}`).toBe(true);
      const finished = (row.finishedAt as Date).getTime();
      if (input.finishedAt !== undefined) expect(finished).toBe(ms(input.finishedAt));
      else expect(finished >= t0 && finished <= t1 + 1).toBe(true);
      const started = (state.row!.startedAt as Date).getTime();
      expect(row.durationMs).toBe(input.durationMs === undefined ? Math.max(0, finished - started) : num(input.durationMs));
    },
    [
      // 30 days after the start: the computed duration overflowed INT4 and the database refused it
      // with a VALIDATION error naming no field.
      [RUNNING, [SELF, { clean: false, args: { status: "completed", finishedAt: new Date(Date.now() + 30 * DAY) } }]],
      [RUNNING, [SELF, { clean: false, args: null }]],
      // A finish time PostgreSQL cannot hold (year 0): refused by the database, not by validation.
      [RUNNING, [SELF, { clean: false, args: { status: "failed", durationMs: 0, finishedAt: new Date("0000-12-31T23:59:59.999Z") } }]],
    ],
  );

  property("beginTransaction opens one transaction on a running execution, or refuses", 30, targetId, async (world, idArg) => {
    const id = resolve(idArg, world);
    const what = `beginTransaction(${describeValue(id)})`;
    const o = await attempt(db, what, () => w.beginTransaction(id as never));
    expectIdRule(o, id, "executionId", what);
    const state = executionState(o.before, id);
    if (!o.ok) {
      if (idArg === SELF) {
        if (!state.exists) expectFailure(o, "NOT_FOUND", what);
        else if (!state.running || state.openTx) expectFailure(o, "TRANSACTION_STATE", what);
        else expectSuccess(o, what);
      }
      return;
    }
    expect(state.running && !state.openTx, `${what}: opened a second transaction, or one on a finished execution`).toBe(true);
    expect(o.value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expectOnly(o.diff, ["executions"], what);
    expect(o.diff.executions.changed.map((c) => [c.after.executionId, c.after.openTransactionId])).toEqual([[id, o.value]]);
  });

  for (const verb of ["commit", "rollback"] as const) {
    property(
      `${verb}Transaction ends exactly the open transaction it is pinned to, or refuses`,
      40,
      fc.tuple(targetId, tagged(cleanGuard, anyGuard)),
      async (world, [idArg, { clean, args }]) => {
        const id = resolve(idArg, world);
        const guard = resolveGuard(args, world);
        const what = `${verb}Transaction(${describeValue(id)}, ${describeValue(guard)})`;
        const o = await attempt(db, what, () =>
          verb === "commit" ? w.commitTransaction(id as never, guard as never) : w.rollbackTransaction(id as never, guard as never),
        );
        expectIdRule(o, id, "executionId", what);
        const state = executionState(o.before, id);
        const guardTx = guard && typeof guard === "object" ? (guard as { transactionId?: unknown }).transactionId : undefined;
        if (!o.ok) {
          if (clean && idArg === SELF) {
            if (!state.exists) expectFailure(o, "NOT_FOUND", what);
            else if (!state.openTx || (guardTx !== undefined && guardTx !== state.openTx)) expectFailure(o, "TRANSACTION_STATE", what);
            else expectSuccess(o, what);
          }
          return;
        }
        expect(state.openTx, `${what}: ended a transaction that was not open`).not.toBeNull();
        if (guardTx !== undefined) expect(guardTx).toBe(state.openTx);
        const pending = o.before.steps.filter((s) => s.executionId === id && s.state === "pending" && s.transactionId === state.openTx);
        expect(o.diff.executions.changed.map((c) => [c.after.executionId, c.after.openTransactionId, c.after.transactionOpenedAt])).toEqual(
          [[id, null, null]],
        );
        expect(pick(o.diff.executions.changed[0]!.after, EXECUTION_DATA)).toEqual(
          pick(o.diff.executions.changed[0]!.before, EXECUTION_DATA),
        );
        if (verb === "commit") {
          expectOnly(o.diff, ["executions", "steps"], what);
          expect(o.diff.steps.changed.map((c) => c.after.sessionId).sort()).toEqual(pending.map((s) => s.sessionId).sort());
          for (const c of o.diff.steps.changed) {
            expect({ ...c.after, committedAt: null }).toEqual({ ...c.before, state: "committed", committedAt: null });
            expect(c.after.committedAt).toBeInstanceOf(Date);
          }
        } else {
          expectOnly(o.diff, ["executions", "steps", "toolCalls"], what);
          expect(o.diff.steps.removed.map((s) => s.sessionId).sort()).toEqual(pending.map((s) => s.sessionId).sort());
          const gone = new Set(pending.map((s) => s.sessionId));
          expect(o.diff.toolCalls.removed.every((c) => gone.has(stepOfCall(c)))).toBe(true);
          expect(o.after.toolCalls.some((c) => gone.has(stepOfCall(c)))).toBe(false);
        }
      },
    );
  }

  const olderThan = tagged(
    fc.option(fc.record({ olderThanMs: fc.oneof(fc.constantFrom(0, 1, 60_000), fc.nat(10_000_000)) }, { requiredKeys: [] }), {
      nil: undefined,
    }),
    fc.oneof(anyShape, fc.record({ olderThanMs: fc.oneof(nastyNumber, nastyValue) })),
  );
  // olderThanMs went unchecked into a Date: NaN, a huge age, null or an object failed inside Prisma.
  const olderThanExamples: [WorldSpec, typeof olderThan extends fc.Arbitrary<infer A> ? A : never][] = [
    [OPEN, { clean: false, args: { olderThanMs: 1e20 } }],
    [OPEN, { clean: false, args: { olderThanMs: Number.NaN } }],
    [OPEN, { clean: false, args: null }],
    [OPEN, { clean: false, args: { olderThanMs: Date.now() + 2_100 * 365 * DAY } }], // a cutoff before year 1
  ];

  property(
    "listOpenTransactions reports the open transactions and their pending steps, and never writes",
    30,
    olderThan,
    async (_world, { clean, args }) => {
      const what = `listOpenTransactions(${describeValue(args)})`;
      const t0 = Date.now();
      const o = await attempt(db, what, () => w.listOpenTransactions(args as never));
      const t1 = Date.now();
      expectNothingChanged(o, what);
      if (!o.ok) {
        if (clean) expectSuccess(o, what);
        return;
      }
      const age = (args as { olderThanMs?: number } | undefined)?.olderThanMs ?? 0;
      for (const e of o.before.executions.filter((x) => x.openTransactionId)) {
        const opened = (e.transactionOpenedAt as Date).getTime();
        const listed = o.value.find((t) => t.executionId === e.executionId);
        if (opened <= t0 - age - CLOCK_SLACK) expect(listed, `${what}: ${e.executionId} opened at ${opened} is missing`).toBeDefined();
        if (opened > t1 - age + CLOCK_SLACK) expect(listed, `${what}: ${e.executionId} is too young to list`).toBeUndefined();
        if (listed) {
          expect(listed.transactionId).toBe(e.openTransactionId);
          expect(listed.pendingSteps).toBe(
            o.before.steps.filter((s) => s.transactionId === e.openTransactionId && s.state === "pending").length,
          );
        }
      }
      expect(o.value.every((t) => executionState(o.before, t.executionId).openTx === t.transactionId)).toBe(true);
    },
    olderThanExamples,
  );

  property(
    "recoverOpenTransactions rolls back exactly the transactions it reports",
    30,
    olderThan,
    async (_world, { clean, args }) => {
      const what = `recoverOpenTransactions(${describeValue(args)})`;
      const t0 = Date.now();
      const o = await attempt(db, what, () => w.recoverOpenTransactions(args as never));
      const t1 = Date.now();
      if (!o.ok) {
        if (clean) expectSuccess(o, what);
        return;
      }
      const age = (args as { olderThanMs?: number } | undefined)?.olderThanMs ?? 0;
      const recovered = new Map(o.value.map((t) => [t.executionId, t]));
      for (const e of o.before.executions.filter((x) => x.openTransactionId)) {
        const opened = (e.transactionOpenedAt as Date).getTime();
        if (opened <= t0 - age - CLOCK_SLACK)
          expect(recovered.has(e.executionId as string), `${what}: left ${e.executionId} open`).toBe(true);
        if (opened > t1 - age + CLOCK_SLACK)
          expect(recovered.has(e.executionId as string), `${what}: recovered a transaction too young`).toBe(false);
      }
      const pending = o.before.steps.filter(
        (s) => s.state === "pending" && [...recovered.values()].some((t) => t.transactionId === s.transactionId),
      );
      for (const t of recovered.values()) {
        expect(t.transactionId).toBe(executionState(o.before, t.executionId).openTx);
        expect(t.pendingSteps).toBe(pending.filter((s) => s.transactionId === t.transactionId).length);
      }
      expectOnly(o.diff, ["executions", "steps", "toolCalls"], what);
      expect(o.diff.executions.changed.map((c) => c.after.executionId).sort()).toEqual([...recovered.keys()].sort());
      for (const c of o.diff.executions.changed) {
        expect(c.after.openTransactionId).toBeNull();
        expect(c.after.transactionOpenedAt).toBeNull();
        // What the execution says (its bookkeeping of past transactions aside) is untouched.
        expect(pick(c.after, EXECUTION_DATA)).toEqual(pick(c.before, EXECUTION_DATA));
      }
      expect(o.diff.steps.removed.map((s) => s.sessionId).sort()).toEqual(pending.map((s) => s.sessionId).sort());
      expect(o.diff.steps.changed).toEqual([]);
    },
    olderThanExamples,
  );

  property(
    "storeStepSession stores the content byte for byte with the fields parsed from it, or refuses",
    30,
    fc.tuple(
      targetId,
      tagged(
        fc.record({
          index: stepIndex,
          // A step document as the executor writes it, or free text.
          content: fc.oneof(
            fc.record(cleanStepFields, { requiredKeys: [] }).map((step) => ({ step: step as Row, text: JSON.stringify(step) })),
            cleanText.map((text) => ({ step: undefined, text })),
          ),
          guard: cleanGuard,
        }),
        fc.record({
          index: orNasty(stepIndex),
          content: fc.oneof(
            nastyString,
            anyShape,
            dirtyStep.map((s) => JSON.stringify(s) ?? ""),
          ),
          guard: anyGuard,
        }),
      ),
    ),
    async (world, [idArg, { clean, args }]) => {
      const id = resolve(idArg, world);
      const guard = resolveGuard(args.guard, world);
      const content = (
        typeof args.content === "object" && args.content !== null && "text" in args.content ? args.content.text : args.content
      ) as string;
      const what = `storeStepSession(${describeValue(id)}, ${describeValue(args.index)}, ${describeValue(content)}, ${describeValue(guard)})`;
      const o = await attempt(db, what, () => w.storeStepSession(id as never, args.index as never, content as never, guard as never));
      expectIdRule(o, id, "executionId", what);
      if (typeof content === "string" && unstorable(content)) expect(o.ok, `${what}: unstorable content was accepted`).toBe(false);
      if (!expectStoreOutcome(o as Outcome<void>, id, args.index as number, guard, clean && idArg === SELF, what) || !o.ok) return;
      const existing = rowOf(o.before, "steps", "sessionId", stepSessionId(id as string, args.index as number));
      if (existing && !o.diff.steps.changed.length && !o.diff.steps.added.length) {
        // Accepted as a retry of what is stored: then it must be the very same content.
        expect(existing.content === content, `${what}: accepted as a retry of different content`).toBe(true);
        return;
      }
      const parsed =
        clean && typeof args.content === "object" && args.content !== null && "step" in args.content ? args.content.step : undefined;
      const fields = parsed ?? (clean ? ((parseStepContent(content) ?? {}) as Row) : undefined);
      if (fields) expectStoredStep(o, id as string, args.index as number, fields, content, what);
      else {
        const row = rowOf(o.after, "steps", "sessionId", stepSessionId(id as string, args.index as number));
        expect(row?.content === content, `${what}: content differs`).toBe(true);
      }
    },
    [
      // A guard that is not an object, or pins a transaction id PostgreSQL cannot even read.
      [RUNNING, [SELF, { clean: false, args: { index: 5, content: "x", guard: null } }]],
      [RUNNING, [SELF, { clean: false, args: { index: 5, content: "x", guard: { transactionId: "\u0000" } } }]],
      // A step document whose date JavaScript cannot read back once stored.
      [
        RUNNING,
        [
          SELF,
          {
            clean: false,
            args: {
              index: 5,
              content: '{"started_at": "9999-12-31T23:59:59Z", "finished_at": "+010000-01-01T00:00:00Z"}',
              guard: undefined,
            },
          },
        ],
      ],
    ],
  );

  property(
    "storeStep stores the step and its tool calls exactly, or refuses; a committed step is never overwritten",
    30,
    fc.tuple(targetId, tagged(fc.record({ step: cleanStep, guard: cleanGuard }), fc.record({ step: dirtyStep, guard: anyGuard }))),
    async (world, [idArg, { clean, args }]) => {
      const id = resolve(idArg, world);
      const guard = resolveGuard(args.guard, world);
      const step = args.step as Row;
      const what = `storeStep(${describeValue(id)}, ${describeValue(step)}, ${describeValue(guard)})`;
      const o = await attempt(db, what, () => w.storeStep(id as never, step as never, guard as never));
      expectIdRule(o, id, "executionId", what);
      const index = (step && typeof step === "object" ? step.stepIndex : undefined) as number;
      if (!expectStoreOutcome(o, id, index, guard, clean && idArg === SELF, what) || !o.ok) return;
      if (!o.value.created) {
        // Accepted as a retry: what is stored must be this very step.
        expectContentOf(rowOf(o.before, "steps", "sessionId", stepSessionId(id as string, index))?.content, step, `${what} (a retry)`);
        return;
      }
      expect(o.value.sessionId).toBe(stepSessionId(id as string, index));
      expectStoredStep(o, id as string, index, step, undefined, what);
    },
    [
      // An extra BigInt field: validation ignored it, then the JSON form of the step threw a TypeError.
      [RUNNING, [SELF, { clean: false, args: { step: { stepIndex: 5, extra: 1n }, guard: undefined } }]],
      [
        RUNNING,
        [SELF, { clean: false, args: { step: { stepIndex: 5, startedAt: new Date("+010000-01-01T00:00:00Z") }, guard: undefined } }],
      ],
      [RUNNING, [SELF, { clean: false, args: { step: { stepIndex: 5, finishedAt: new Date(-8.64e15) }, guard: undefined } }]],
      [RUNNING, [SELF, { clean: false, args: { step: { stepIndex: 5 }, guard: null } }]],
      [RUNNING, [SELF, { clean: false, args: { step: { stepIndex: 5 }, guard: { transactionId: "\u0000" } } }]],
      [
        RUNNING,
        [
          SELF,
          { clean: false, args: { step: { stepIndex: 5, toolCalls: [{ toolName: "t", input: { k: "\uD800" } }] }, guard: undefined } },
        ],
      ],
    ],
  );

  property("getSessionsForConsolidation returns the committed steps in order, and never writes", 30, targetId, async (world, idArg) => {
    const id = resolve(idArg, world);
    const what = `getSessionsForConsolidation(${describeValue(id)})`;
    const o = await attempt(db, what, () => w.getSessionsForConsolidation(id as never));
    expectNothingChanged(o, what);
    expectIdRule(o, id, "executionId", what);
    if (!o.ok) {
      if (idArg === SELF) expectSuccess(o, what);
      return;
    }
    const committed = o.before.steps
      .filter((s) => s.executionId === id && s.state === "committed")
      .sort((a, b) => (a.stepIndex as number) - (b.stepIndex as number));
    expect(o.value.map((s) => [s.sessionId, s.stepIndex, s.content, s.stepId, s.score])).toEqual(
      committed.map((s) => [s.sessionId, s.stepIndex, s.content, s.stepId, s.score]),
    );
    for (const s of o.value) {
      const calls = o.before.toolCalls
        .filter((c) => stepOfCall(c) === s.sessionId)
        .sort((a, b) => (a.callIndex as number) - (b.callIndex as number));
      expect(s.toolCalls.map((c) => [c.toolName, c.input, c.output])).toEqual(
        calls.map((c) => [c.toolName, c.input ?? null, c.output ?? null]),
      );
    }
  });

  property(
    "storeConsolidatedSession stores the content and metrics exactly, with the real session ids, or refuses",
    25,
    fc.tuple(
      targetId,
      tagged(
        fc.record({
          cid: freshOr(fc.constant(SELF_CONSOLIDATED)),
          content: cleanText,
          metadata: fc.record(
            {
              avgScore: fc.option(cleanScore, { nil: null }),
              totalTools: fc.option(cleanInt32, { nil: null }),
              successRate: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
              executionDurationMs: fc.option(cleanInt32, { nil: null }),
            },
            { requiredKeys: [] },
          ),
        }),
        fc.record({
          cid: freshOr(fc.oneof(nastyString, anyShape)),
          content: fc.oneof(nastyString, anyShape),
          metadata: reshaped(
            fc.record({ avgScore: nastyNumber, totalTools: nastyNumber, successRate: nastyNumber, executionDurationMs: nastyNumber }),
          ),
        }),
      ),
    ),
    async (world, [idArg, { clean, args }]) => {
      const id = resolve(idArg, world);
      const cid = resolve(args.cid, world);
      const what = `storeConsolidatedSession(${describeValue(cid)}, ${describeValue(id)}, ${describeValue(args.content)}, ${describeValue(args.metadata)})`;
      const o = await attempt(db, what, () =>
        w.storeConsolidatedSession(cid as never, id as never, args.content as never, args.metadata as never),
      );
      expectIdRule(o, id, "executionId", what);
      expectIdRule(o, cid, "consolidatedId", what);
      const taken = o.before.consolidated.some((c) => c.consolidatedSessionId === cid);
      if (!o.ok) {
        if (clean && idArg === SELF) {
          if (!executionState(o.before, id).exists) expectFailure(o, "NOT_FOUND", what);
          else if (taken) expectFailure(o, "CONFLICT", what);
          else expectSuccess(o, what);
        }
        return;
      }
      expect(taken, `${what}: a second consolidated session under one id`).toBe(false);
      expectOnly(o.diff, ["consolidated"], what);
      expect(o.diff.consolidated.added).toHaveLength(1);
      const row = o.diff.consolidated.added[0]!;
      expect(
        row.consolidatedSessionId === cid && row.executionId === id && row.consolidatedContent === args.content,
        `${what}: stored ${describeValue(row)}`,
      ).toBe(true);
      const committed = o.before.steps
        .filter((s) => s.executionId === id && s.state === "committed")
        .sort((a, b) => (a.stepIndex as number) - (b.stepIndex as number));
      expect(row.originalSessionIds).toEqual(committed.map((s) => s.sessionId));
      const m = (args.metadata ?? {}) as Row;
      expect([row.avgScore, row.totalTools, row.successRate, row.executionDurationMs].map(num)).toEqual(
        [m.avgScore, m.totalTools, m.successRate, m.executionDurationMs].map(num),
      );
      expect(await w.getConsolidatedSession(cid as string)).toBe(args.content);
    },
  );

  property(
    "getConsolidatedSession and getConsolidatedSessionsByExecution read exactly what is stored, and never write",
    30,
    fc.tuple(fc.oneof(fc.constant(SELF_CONSOLIDATED), nastyString, anyShape), targetId),
    async (world, [cidArg, idArg]) => {
      const cid = resolve(cidArg, world);
      const id = resolve(idArg, world);
      const one = await attempt(db, `getConsolidatedSession(${describeValue(cid)})`, () => w.getConsolidatedSession(cid as never));
      expectNothingChanged(one, "getConsolidatedSession");
      expectIdRule(one, cid, "consolidatedId", "getConsolidatedSession");
      if (one.ok)
        expect(one.value).toBe(
          (rowOf(one.before, "consolidated", "consolidatedSessionId", cid)?.consolidatedContent as string | undefined) ?? null,
        );
      const all = await attempt(db, `getConsolidatedSessionsByExecution(${describeValue(id)})`, () =>
        w.getConsolidatedSessionsByExecution(id as never),
      );
      expectNothingChanged(all, "getConsolidatedSessionsByExecution");
      expectIdRule(all, id, "executionId", "getConsolidatedSessionsByExecution");
      if (all.ok) {
        const rows = all.before.consolidated.filter((c) => c.executionId === id);
        expect(all.value.map((c) => c.consolidatedSessionId).sort()).toEqual(rows.map((r) => r.consolidatedSessionId).sort());
        for (const c of all.value)
          expect(c.consolidatedContent).toBe(
            rowOf(all.before, "consolidated", "consolidatedSessionId", c.consolidatedSessionId)?.consolidatedContent,
          );
      } else if (idArg === SELF) expectSuccess(all, "getConsolidatedSessionsByExecution");
    },
  );

  property(
    "setConsolidationStatus moves the status only from what it expects, or refuses",
    20,
    fc.tuple(
      targetId,
      tagged(
        fc.record({
          status: fc.constantFrom(...CONSOLIDATION_STATUSES),
          options: fc.option(
            fc.record(
              {
                expected: fc.oneof(fc.constantFrom(...CONSOLIDATION_STATUSES), fc.subarray([...CONSOLIDATION_STATUSES])),
                error: fc.option(cleanText, { nil: null }),
              },
              { requiredKeys: [] },
            ),
            { nil: undefined },
          ),
        }),
        fc.record({
          status: orNasty(fc.constantFrom(...CONSOLIDATION_STATUSES)),
          options: fc.oneof(
            anyShape,
            fc.record({ expected: fc.oneof(nastyValue, fc.array(nastyString, { maxLength: 2 })), error: nastyValue }, { requiredKeys: [] }),
          ),
        }),
      ),
    ),
    async (world, [idArg, { clean, args }]) => {
      const id = resolve(idArg, world);
      const what = `setConsolidationStatus(${describeValue(id)}, ${describeValue(args.status)}, ${describeValue(args.options)})`;
      const o = await attempt(db, what, () => w.setConsolidationStatus(id as never, args.status as never, args.options as never));
      expectIdRule(o, id, "executionId", what);
      const state = executionState(o.before, id);
      if (!o.ok) {
        if (clean && idArg === SELF) {
          if (state.exists) expectSuccess(o, what);
          else expectFailure(o, "NOT_FOUND", what);
        }
        return;
      }
      const options = (args.options ?? {}) as { expected?: string | string[]; error?: string | null };
      const expected = options.expected === undefined ? undefined : [options.expected].flat();
      const shouldMove = !expected || expected.includes(state.row?.consolidationStatus as string);
      expect(o.value, `${what}: moved=${o.value} from ${state.row?.consolidationStatus}`).toBe(shouldMove);
      if (!shouldMove) {
        expect(changedTables(o.diff)).toEqual([]);
        return;
      }
      expectOnly(o.diff, ["executions"], what);
      const row = rowOf(o.after, "executions", "executionId", id)!;
      expect(row.consolidationStatus).toBe(args.status);
      expect(row.consolidationError === (options.error ?? null), `${what}: error ${describeValue(row.consolidationError)}`).toBe(true);
    },
    [
      // `options` and `expected` went to the database unchecked.
      [RUNNING, [SELF, { clean: false, args: { status: "completed", options: null } }]],
      [RUNNING, [SELF, { clean: false, args: { status: "completed", options: { expected: "bogus" } } }]],
      [RUNNING, [SELF, { clean: false, args: { status: "completed", options: { expected: [42] } } }]],
    ],
  );

  /**
   * withDatabaseTransaction: a random sequence of writes on the bound writer, then maybe the caller's own
   * error. All of it commits or none of it: on any rejection the tables are exactly as before.
   */
  type Op =
    | { kind: "create"; input: unknown }
    | { kind: "step"; step: unknown }
    | { kind: "consolidate"; content: unknown }
    | { kind: "status"; status: unknown }
    | { kind: "nested"; ops: Op[] };
  const opArb: fc.Arbitrary<Op> = fc.letrec<{ op: Op }>((tie) => ({
    op: fc.oneof(
      { depthSize: "small" },
      fc.record({
        kind: fc.constant("create" as const),
        input: fc.oneof(fc.record({ executionId: fc.constant(FRESH), flowId: cleanId, agent: cleanId, prompt: cleanText }), anyShape),
      }),
      fc.record({ kind: fc.constant("step" as const), step: fc.oneof(cleanStep, dirtyStep) }),
      fc.record({ kind: fc.constant("consolidate" as const), content: orNasty(cleanText) }),
      fc.record({ kind: fc.constant("status" as const), status: orNasty(fc.constantFrom(...CONSOLIDATION_STATUSES)) }),
      fc.record({ kind: fc.constant("nested" as const), ops: fc.array(tie("op"), { maxLength: 2 }) }),
    ),
  })).op;

  property(
    "withDatabaseTransaction commits everything or nothing",
    20,
    fc.record({
      ops: fc.array(opArb, { minLength: 1, maxLength: 4 }),
      ownError: fc.oneof(fc.constant(undefined), fc.constant(new Error("caller's own failure")), nastyValue),
      throwOwn: fc.boolean(),
      fn: fc.oneof({ weight: 5, arbitrary: fc.constant("function") }, { weight: 1, arbitrary: anyShape }),
      options: fc.oneof(
        fc.constant(undefined),
        fc.record({ timeout: fc.constantFrom(10_000, 30_000) }),
        anyShape,
        fc.record({ timeout: nastyNumber, maxWait: nastyNumber }, { requiredKeys: [] }),
      ),
    }),
    async (world, args) => {
      const log: string[] = [];
      const effects: ((s: Snapshot) => void)[] = [];
      const run = async (tw: DatabaseWriter, ops: Op[]): Promise<void> => {
        for (const op of ops) {
          if (op.kind === "create") {
            const input = resolveRecord(op.input, world) as Row;
            log.push(`create ${describeValue(input)}`);
            await tw.createExecutionSession(input as never);
            effects.push((s) => expect(rowOf(s, "executions", "executionId", input.executionId)?.prompt).toBe(input.prompt));
          } else if (op.kind === "step") {
            log.push(`step ${describeValue(op.step)}`);
            const stored = await tw.storeStep(world.id, op.step as never);
            effects.push((s) => expect(rowOf(s, "steps", "sessionId", stored.sessionId)).toBeDefined());
          } else if (op.kind === "consolidate") {
            const cid = resolve(FRESH, world) as string;
            log.push(`consolidate ${cid} ${describeValue(op.content)}`);
            await tw.storeConsolidatedSession(cid, world.id, op.content as never, {});
            effects.push((s) => expect(rowOf(s, "consolidated", "consolidatedSessionId", cid)?.consolidatedContent).toBe(op.content));
          } else if (op.kind === "status") {
            log.push(`status ${describeValue(op.status)}`);
            await tw.setConsolidationStatus(world.id, op.status as never);
          } else {
            log.push("nested {");
            await tw.withDatabaseTransaction((inner) => run(inner, op.ops));
            log.push("}");
          }
        }
      };
      const fn =
        args.fn === "function"
          ? async (tw: DatabaseWriter) => {
              await run(tw, args.ops);
              if (args.throwOwn) throw args.ownError;
              return "done";
            }
          : args.fn;
      const before = await snapshot(db);
      let result: unknown;
      let failure: { error: unknown } | undefined;
      try {
        result = await w.withDatabaseTransaction(fn as never, args.options as never);
      } catch (error) {
        failure = { error };
      }
      const what = `withDatabaseTransaction(${args.fn === "function" ? `[${log.join("; ")}]${args.throwOwn ? ` then throw ${describeValue(args.ownError)}` : ""}` : describeValue(args.fn)}, ${describeValue(args.options)})`;
      const after = await snapshot(db);
      if (failure) {
        expect(after, `${what} failed but changed the tables`).toEqual(before);
        // The caller's own error comes back as it was thrown; a transaction given under a second
        // may really time out; anything else must be a typed input error.
        const own = args.fn === "function" && args.throwOwn && failure.error === args.ownError;
        const limits = args.options && typeof args.options === "object" ? (args.options as Row) : {};
        const shortLimit = [limits.timeout, limits.maxWait].some((v) => typeof v === "number" && v > 0 && v < 1_000);
        if (!own && !(shortLimit && DatabaseError.is(failure.error, "TIMEOUT"))) expectTypedError(failure.error, what);
        return;
      }
      if (args.fn !== "function") {
        // Someone else's function (from the random shapes) may well succeed; it wrote nothing.
        expect(typeof args.fn, `${what} accepted a non-function`).toBe("function");
        expect(after).toEqual(before);
        return;
      }
      expect(args.throwOwn, `${what} resolved though the function threw`).toBe(false);
      expect(result).toBe("done");
      for (const effect of effects) effect(after);
      // The last status write wins, as it would outside a transaction.
      const lastStatus = [...args.ops].reverse().find((op) => op.kind === "status") as { status: unknown } | undefined;
      if (lastStatus && !args.ops.some((op) => op.kind === "nested"))
        expect(rowOf(after, "executions", "executionId", world.id)?.consolidationStatus).toBe(lastStatus.status);
    },
    [
      [RUNNING, { ops: [{ kind: "status", status: "completed" }], ownError: undefined, throwOwn: false, fn: null, options: undefined }],
      [
        RUNNING,
        {
          ops: [{ kind: "status", status: "completed" }],
          ownError: undefined,
          throwOwn: false,
          fn: "function",
          options: { timeout: Number.NaN },
        },
      ],
      [
        RUNNING,
        {
          ops: [{ kind: "status", status: "completed" }],
          ownError: undefined,
          throwOwn: false,
          fn: "function",
          options: { timeout: 2 ** 31 },
        },
      ],
      // The caller's own error after real writes: everything rolled back, the error given back as is.
      [
        OPEN,
        {
          ops: [
            { kind: "step", step: { stepIndex: 9, content: "x" } },
            { kind: "consolidate", content: "c" },
          ],
          ownError: new Error("own"),
          throwOwn: true,
          fn: "function",
          options: undefined,
        },
      ],
    ],
  );

  test("storeSteps stores every step exactly, or none of them", async () => {
    await fc.assert(
      fc.asyncProperty(
        worldSpec,
        targetId,
        tagged(
          // Distinct indexes past the world's own steps: all new, so a running execution must take them.
          fc.uniqueArray(
            cleanStep.map((st) => ({ ...st, stepIndex: 3 + (st.stepIndex % 5) })),
            { selector: (st) => st.stepIndex, maxLength: 4 },
          ),
          fc.oneof(
            fc.array(fc.oneof({ weight: 3, arbitrary: cleanStep }, { weight: 1, arbitrary: dirtyStep }), { maxLength: 4 }),
            anyShape,
          ),
        ),
        fc.oneof(cleanGuard, anyGuard),
        async (spec, idArg, { clean, args: steps }, guardArg) => {
          const world = await build(w, spec);
          const id = resolve(idArg, world);
          const guard = resolveGuard(guardArg, world);
          const what = `storeSteps(${describeValue(id)}, ${describeValue(steps)}, ${describeValue(guard)})`;
          const o = await attempt(db, what, () => w.storeSteps(id as never, steps as never, guard as never));
          expectIdRule(o, id, "executionId", what);
          const state = executionState(o.before, id);
          const guardTx = guard && typeof guard === "object" ? (guard as { transactionId?: unknown }).transactionId : undefined;
          const cleanGuardGiven =
            guard === undefined || (typeof guard === "object" && guard !== null && (guardTx === undefined || typeof guardTx === "string"));
          if (!o.ok) {
            if (
              clean &&
              idArg === SELF &&
              cleanGuardGiven &&
              state.exists &&
              state.running &&
              (guardTx === undefined || guardTx === state.openTx)
            )
              expectSuccess(o, what);
            return;
          }
          expect(state.exists, `${what}: stored steps for an execution that does not exist`).toBe(true);
          if (guardTx !== undefined) expect(guardTx, `${what}: stored outside the transaction it was pinned to`).toBe(state.openTx);
          expectOnly(o.diff, ["steps", "toolCalls"], what);
          const given = steps as Row[];
          const sessionIds = new Set(given.map((st) => stepSessionId(id as string, st.stepIndex as number)));
          // Only the given steps changed, and no committed step was overwritten.
          for (const r of [...o.diff.steps.added, ...o.diff.steps.changed.map((c) => c.after)])
            expect(sessionIds.has(r.sessionId as string), `${what}: wrote ${r.sessionId}`).toBe(true);
          for (const c of o.diff.steps.changed)
            expect(c.before.state, `${what}: overwrote committed ${c.before.sessionId}`).toBe("pending");
          expect(o.diff.steps.removed).toEqual([]);
          for (const step of given) {
            const index = step.stepIndex as number;
            const before = rowOf(o.before, "steps", "sessionId", stepSessionId(id as string, index));
            const after = rowOf(o.after, "steps", "sessionId", stepSessionId(id as string, index));
            // A step already stored as given is a retry and stays as it was.
            if (before && isDeepEqualRow(before, after)) expectContentOf(after?.content, step, `${what}: step ${index} (a retry)`);
            else expectStepRow(o, id as string, index, step, undefined, what);
          }
        },
      ),
      {
        ...fcOptions(40),
        examples: [
          [RUNNING, SELF, { clean: false, args: [{ stepIndex: 7 }] }, null],
          [RUNNING, SELF, { clean: false, args: [{ stepIndex: 7, extra: 1n }] }, undefined],
          // Nothing to store, but pinned to a transaction that is not open: the guard must still hold.
          [RUNNING, SELF, { clean: true, args: [] }, { transactionId: CURRENT_TX }],
        ],
      },
    );
  });
});

const isDeepEqualRow = (a: Row | undefined, b: Row | undefined) =>
  JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)) ===
  JSON.stringify(b, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
