/**
 * Shared by writer-property.test.ts and large-payloads.test.ts: hostile inputs as fast-check
 * arbitraries, whole-table snapshots (to prove a rejected call wrote nothing, and exactly what an
 * accepted one wrote), and the error contract every public writer method must keep.
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { expect } from "vitest";
import { DATABASE_ERROR_CODES, type Database, DatabaseError, type DatabaseErrorCode, stepSessionId } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";

/**
 * A fixed seed keeps CI deterministic; REEV_FC_SEED explores other inputs, REEV_FC_RUNS scales how
 * many (e.g. REEV_FC_RUNS=10 for a long local hunt). fast-check prints the seed and the shrunk
 * counterexample of any failure, so a red run can be replayed exactly.
 */
export const FC_SEED = process.env.REEV_FC_SEED ? Number(process.env.REEV_FC_SEED) : 20_250_611;
export const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.REEV_FC_RUNS ?? 1)));
export const fcOptions = (numRuns: number): fc.Parameters<unknown> => ({ seed: FC_SEED, numRuns: runs(numRuns), endOnFailure: false });

// ── Strings ──────────────────────────────────────────────────────────────────────────────────────

/** Valid text that must be stored byte for byte: quotes, backslashes, SQL, emoji, line separators. */
export const CLEAN_SPECIALS = [
  " ",
  "'; DROP TABLE step_sessions; --",
  '"); DELETE FROM execution_sessions; --',
  "' OR '1'='1",
  "\\",
  "\\\\'\\\"",
  "\\u0000", // the six characters, not NUL: JSON/YAML must not decode them on the way in
  '"quoted"',
  "😀🧪👩‍👩‍👧",
  "é ü ß 中文 € ﷽",
  "\u2028\u2029",
  // Not leading: PGlite drops a leading BOM on read (an upstream bug, pinned in large-payloads.test.ts).
  "a byte-order mark \uFEFF inside",
  "\r\n\t",
  "NULL",
  "null",
  "undefined",
  "{{previous.response}}",
  "%s %n %d",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-looking string is the hostile input
  "${process.exit(1)}",
  "<script>alert(1)</script>",
  "$1 $$ $$",
  "-- comment",
  "/* */",
  "x".repeat(255),
  "é".repeat(255),
] as const;

/** Text PostgreSQL cannot store as given: the writer must refuse it, never store something else. */
export const UNSTORABLE_SPECIALS = ["\u0000", "a\u0000b", "\uD800", "\uDFFF", "x\uDBFFy", "\uDC00\uD800", "😀".slice(0, 1)] as const;

/** Every UTF-16 code unit, lone surrogates included (fast-check's "binary" unit never yields them). */
const utf16Unit = fc.nat(0xffff).map((c) => String.fromCharCode(c));

/** Well-formed, NUL-free text: any input built only from this must be stored exactly. */
export const cleanText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }).filter((s) => !s.includes("\u0000")) },
  { weight: 2, arbitrary: fc.constantFrom(...CLEAN_SPECIALS) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...CLEAN_SPECIALS), fc.string({ unit: "grapheme", maxLength: 5 })), { maxLength: 4 })
      .map((parts) => parts.join("")),
  },
);

/** Any string at all: lone surrogates, NUL, over-long, empty. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  cleanText,
  fc.string({ unit: utf16Unit, maxLength: 20 }),
  fc.constantFrom(...UNSTORABLE_SPECIALS, "", "x".repeat(256), "é".repeat(256)),
  fc.tuple(cleanText, fc.constantFrom(...UNSTORABLE_SPECIALS), cleanText).map((parts) => parts.join("")),
);

// ── Numbers, dates, shapes ───────────────────────────────────────────────────────────────────────

export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    0.5,
    1.5,
    -0.000001,
    1.000001,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc.double(),
  fc.integer(),
);

/** Dates PostgreSQL and JavaScript disagree about, and strings that are nearly dates. */
export const nastyDate: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    new Date(Number.NaN),
    new Date(8.64e15), // JavaScript's last day, year 275760
    new Date(-8.64e15), // year -271821
    new Date("+010000-01-01T00:00:00Z"), // the first year with five digits
    new Date("0001-01-01T00:00:00Z"),
    new Date("-000001-01-01T00:00:00Z"),
    new Date(Date.UTC(-4713, 0, 1)),
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-01-01",
    "yesterday",
    "2024-01-01T00:00:00", // no offset
    "2024-01-01T00:00:00.123456789+14:00",
    "",
    0,
    Date.now(),
  ),
  fc.date({ noInvalidDate: false }),
);

/** Every kind of value: wrong types, BigInt, Dates, Maps, typed and sparse arrays, null prototypes. */
export const anyShape: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 2,
    withBigInt: true,
    withDate: true,
    withNullPrototype: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withBoxedValues: true,
    withObjectString: true,
  }),
  fc.constantFrom(null, undefined, [], {}, 1n, Symbol("s"), () => 1, new Date(Number.NaN), Object.create(null), [[]], { length: 1 }),
);

export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(nastyString, nastyNumber, nastyDate, anyShape);

/** `valid` three times in four, anything otherwise. */
export const orNasty = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: nastyValue });

/** A record as given, with a field dropped, with an extra field, or replaced by anything. */
export function reshaped(record: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc.tuple(record, fc.nat()).map(([r, n]) => {
        const keys = Object.keys(r);
        const copy = { ...r };
        if (keys.length) delete copy[keys[n % keys.length] as string];
        return copy;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(record, fc.string({ maxLength: 8 }), nastyValue).map(([r, k, v]) => ({ ...r, [k]: v })) },
    { weight: 1, arbitrary: anyShape },
  );
}

// ── JSON as jsonb stores it ──────────────────────────────────────────────────────────────────────

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Clean JSON values: finite numbers (huge and tiny too), clean strings and keys, nesting. */
export const cleanJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.constantFrom(0, 1e21, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53),
    cleanText,
    fc.array(tie("value"), { maxLength: 4 }),
    // Plain objects: the writer documents JSON as plain objects (null-prototype ones are refused).
    fc.dictionary(cleanText, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/**
 * What reading a JSON value back from jsonb gives: a JSON round trip (-0 becomes 0, undefined
 * entries drop). Key order is jsonb's own, which toEqual ignores.
 */
export const asStoredJson = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));

// ── Snapshots ────────────────────────────────────────────────────────────────────────────────────

export type Snapshot = {
  executions: Record<string, unknown>[];
  steps: Record<string, unknown>[];
  toolCalls: Record<string, unknown>[];
  consolidated: Record<string, unknown>[];
};

/** Every row of the four tables, every column, in primary-key order. */
export async function snapshot(db: Database): Promise<Snapshot> {
  const executions = await prismaClientOf(db).executionSession.findMany({ orderBy: { executionId: "asc" } });
  const steps = await prismaClientOf(db).stepSession.findMany({ orderBy: { sessionId: "asc" } });
  const toolCalls = await prismaClientOf(db).toolCall.findMany({
    orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }, { callIndex: "asc" }],
  });
  const consolidated = await prismaClientOf(db).consolidatedSession.findMany({ orderBy: { id: "asc" } });
  return { executions, steps, toolCalls, consolidated };
}

type Row = Record<string, unknown>;

/** The session id of the step a tool-call row belongs to (tool calls are keyed by the step's key). */
export const stepOfCall = (call: Row) => stepSessionId(call.executionId as string, call.stepIndex as number);

/** Each table's primary key, as one string. */
const KEYS: Record<keyof Snapshot, (row: Row) => string> = {
  executions: (r) => String(r.executionId),
  steps: (r) => JSON.stringify([r.executionId, r.stepIndex]),
  toolCalls: (r) => JSON.stringify([r.executionId, r.stepIndex, r.callIndex]),
  consolidated: (r) => JSON.stringify([r.executionId, r.consolidatedSessionId]),
};

export type TableDiff = {
  added: Record<string, unknown>[];
  removed: Record<string, unknown>[];
  changed: { before: Record<string, unknown>; after: Record<string, unknown> }[];
};
export type Diff = Record<keyof Snapshot, TableDiff>;

/** What changed between two snapshots, row by row (by primary key). */
export function diff(before: Snapshot, after: Snapshot): Diff {
  const out = {} as Diff;
  for (const table of Object.keys(KEYS) as (keyof Snapshot)[]) {
    const key = KEYS[table];
    const old = new Map(before[table].map((r) => [key(r), r]));
    const now = new Map(after[table].map((r) => [key(r), r]));
    out[table] = {
      added: [...now].filter(([k]) => !old.has(k)).map(([, r]) => r),
      removed: [...old].filter(([k]) => !now.has(k)).map(([, r]) => r),
      changed: [...now]
        .filter(([k, r]) => old.has(k) && !isDeepStrictEqual(old.get(k), r))
        .map(([k, r]) => ({ before: old.get(k)!, after: r })),
    };
  }
  return out;
}

/** The tables that changed, for "nothing else changed" assertions. */
export function changedTables(d: Diff): string[] {
  return (Object.keys(d) as (keyof Snapshot)[]).filter((t) => d[t].added.length || d[t].removed.length || d[t].changed.length);
}

// ── The error contract ───────────────────────────────────────────────────────────────────────────

/**
 * On a healthy database, bad input may only be refused for what it is. INTERNAL means the input got
 * past validation and the database (or the writer's own code) choked on it; CONNECTION and TIMEOUT
 * mean the same in disguise. None of them is an acceptable answer to bad input.
 */
export const INPUT_ERROR_CODES: readonly DatabaseErrorCode[] = ["VALIDATION", "NOT_FOUND", "CONFLICT", "TRANSACTION_STATE"];

export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint"
        ? `${v}n`
        : typeof v === "string"
          ? [...v]
              .map((c) => (c.length === 1 && /[\ud800-\udfff\u0000]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c))
              .join("")
          : v,
    );
  } catch {
    return String(value);
  }
}

/** Asserts `error` is a DatabaseError the caller can act on: a known input code; VALIDATION names a field. */
export function expectTypedError(error: unknown, what: string): asserts error is DatabaseError {
  const detail = `${what} threw ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : describeValue(error)}`;
  expect(error, detail).toBeInstanceOf(DatabaseError);
  const e = error as DatabaseError;
  expect(DATABASE_ERROR_CODES, detail).toContain(e.code);
  expect(INPUT_ERROR_CODES, `${detail} (code ${e.code}: bad input slipped past validation)`).toContain(e.code);
  expect(e.message.length, detail).toBeGreaterThan(10);
  if (e.code === "VALIDATION") {
    expect(
      typeof e.field === "string" && e.field.length > 0,
      `${detail}: a VALIDATION error must name the field (got ${describeValue(e.field)})`,
    ).toBe(true);
  }
}

export type Outcome<T> =
  | { ok: true; value: T; before: Snapshot; after: Snapshot; diff: Diff }
  | { ok: false; error: DatabaseError; before: Snapshot };

/**
 * Runs one call between two snapshots. A rejection must be a typed input error and leave every row of
 * every table exactly as it was; a success returns what changed, for the caller's own oracle.
 */
export async function attempt<T>(db: Database, what: string, call: () => Promise<T>): Promise<Outcome<T>> {
  const before = await snapshot(db);
  let value: T;
  try {
    value = await call();
  } catch (error) {
    expectTypedError(error, what);
    expect(await snapshot(db), `${what} failed with ${error.code} but changed the tables`).toEqual(before);
    return { ok: false, error, before };
  }
  const after = await snapshot(db);
  return { ok: true, value, before, after, diff: diff(before, after) };
}

/** First index where two long strings differ (a 10 MB toEqual diff would drown the report). */
export function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return a.length === b.length ? -1 : n;
}

export function expectSameText(actual: string | null | undefined, expected: string, what: string): void {
  expect(typeof actual, `${what}: nothing read back`).toBe("string");
  const at = firstDifference(actual as string, expected);
  expect(
    at,
    `${what}: differs at UTF-16 index ${at} (lengths ${actual?.length} vs ${expected.length}): ${describeValue((actual as string).slice(at, at + 20))} vs ${describeValue(expected.slice(at, at + 20))}`,
  ).toBe(-1);
  expect(Buffer.byteLength(actual as string, "utf8")).toBe(Buffer.byteLength(expected, "utf8"));
}
