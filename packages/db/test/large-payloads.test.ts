/**
 * Large payloads on real databases: 10 MB of step content (storeStep, storeStepSession, storeSteps)
 * and of consolidated content come back byte for byte — multi-byte text, emoji, quotes, backslashes,
 * SQL and JSON look-alikes included — and so do megabytes of tool-call JSON. Content just over a cap
 * (the default 16 MiB and a small configured one) is refused with a VALIDATION error naming the field
 * and both sizes, and nothing at all is written.
 *
 * The strings are compared exactly (first differing index on failure, not a 10 MB diff), in UTF-8
 * bytes on the JavaScript side and with octet_length() on the database side.
 */
import { beforeAll, describe, expect } from "vitest";
import { type Database, DatabaseWriter } from "../src/index.js";
import { DEFAULT_MAX_CONTENT_BYTES, prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, uid } from "./helpers.js";
import { expectSameText } from "./property-support.js";

const MiB = 1024 * 1024;
const TEN_MB = 10 * MiB;

/**
 * Everything that has broken text storage somewhere: 1-, 2-, 3- and 4-byte UTF-8, a ZWJ family,
 * combining marks, right-to-left text, a BOM, line and paragraph separators, CR/LF, quotes,
 * backslashes, escapes that must stay escapes ("\\u0000" is six characters, not NUL), SQL, JSON and
 * YAML syntax, template and format placeholders.
 */
const PIECE =
  "ASCII 'single' \"double\" `back` back\\slash \\\\ \\n \\u0000 \\uD800 é ü ß ñ 中文 日本語 한국어 € ₿ ﷽ עברית العربية " +
  '😀 🧪 👩‍👩‍👧‍👦 🇺🇳 e\u0301 \u2028 \u2029 \uFEFF \t \'; DROP TABLE step_sessions; -- {"json": [1, 2.5e-7, null]} ' +
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-looking string is the hostile input
  "key: value\n- item\n%s %n ${x} {{previous.response}} $1 $$ E'\\x00'\r\n";

/** Exactly `bytes` UTF-8 bytes: PIECE repeated, then ASCII to the byte. Starts with `prefix`. */
function text(bytes: number, prefix = ""): string {
  const head = `${prefix}`;
  const pieceBytes = Buffer.byteLength(PIECE);
  const room = bytes - Buffer.byteLength(head);
  const body = PIECE.repeat(Math.floor(room / pieceBytes));
  const out = head + body + "x".repeat(room - Buffer.byteLength(body));
  expect(Buffer.byteLength(out)).toBe(bytes);
  return out;
}

/** The first `units` UTF-16 units, one fewer rather than half a surrogate pair (that would be unstorable). */
function cut(s: string, units: number): string {
  const code = s.charCodeAt(units - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? units - 1 : units);
}

/** Rows and content fingerprints of every table, computed by the database (no MBs pulled into JS). */
async function fingerprint(db: Database) {
  return {
    executions: await prismaClientOf(db).$queryRawUnsafe(
      "SELECT execution_id, status::text, open_transaction_id::text, consolidation_status::text, md5(prompt) AS prompt FROM execution_sessions ORDER BY execution_id",
    ),
    steps: await prismaClientOf(db).$queryRawUnsafe(
      "SELECT session_id, state::text, md5(content) AS content, octet_length(content) AS bytes, content_sha256 FROM step_sessions ORDER BY session_id",
    ),
    toolCalls: await prismaClientOf(db).$queryRawUnsafe(
      "SELECT execution_id, step_index, call_index, md5(input::text) AS input, md5(output::text) AS output FROM tool_calls ORDER BY execution_id, step_index, call_index",
    ),
    consolidated: await prismaClientOf(db).$queryRawUnsafe(
      "SELECT consolidated_session_id, md5(consolidated_content) AS content, octet_length(consolidated_content) AS bytes FROM consolidated_sessions ORDER BY consolidated_session_id",
    ),
  };
}

async function storedBytes(db: Database, sql: string, id: string): Promise<number> {
  const rows = await prismaClientOf(db).$queryRawUnsafe<{ bytes: number | bigint }[]>(sql, id);
  return Number(rows[0]?.bytes);
}
const stepBytes = (db: Database, sessionId: string) =>
  storedBytes(db, "SELECT octet_length(content) AS bytes FROM step_sessions WHERE session_id = $1", sessionId);
const consolidatedBytes = (db: Database, id: string) =>
  storedBytes(db, "SELECT octet_length(consolidated_content) AS bytes FROM consolidated_sessions WHERE consolidated_session_id = $1", id);

const stepContent = async (db: Database, executionId: string, stepIndex: number) =>
  (
    await prismaClientOf(db).stepSession.findUnique({
      where: { executionId_stepIndex: { executionId, stepIndex } },
      select: { content: true },
    })
  )?.content;

describe.each(testBackends())("large payloads on $name", (backend) => {
  test.override({ backend });
  let big: string;
  beforeAll(() => {
    big = text(TEN_MB);
  });

  describe("10 MB round trips byte for byte", () => {
    test("storeStep: the content, as consolidation reads it and as the table holds it; the same write again is a no-op", async ({ db }) => {
      const id = await createExecution(db.writer);
      const stored = await db.writer.storeStep(id, { stepIndex: 0, stepId: "big", status: "success", content: big });
      expect(stored).toMatchObject({ state: "committed", created: true });
      const [session] = await db.writer.getSessionsForConsolidation(id);
      expectSameText(session?.content, big, "getSessionsForConsolidation");
      expect(await stepBytes(db, stored.sessionId)).toBe(TEN_MB);

      // A retried 10 MB write is recognised (by fingerprint) and stores nothing new.
      const before = await fingerprint(db);
      expect(await db.writer.storeStep(id, { stepIndex: 0, stepId: "big", status: "success", content: big })).toMatchObject({
        created: false,
      });
      expect(await fingerprint(db)).toEqual(before);
    });

    test("storeStepSession: 10 MB of free text (parsed as YAML, found not to be a step) and a 10 MB JSON step document", async ({ db }) => {
      const id = await createExecution(db.writer);
      await db.writer.storeStepSession(id, 0, big);
      expectSameText(await stepContent(db, id, 0), big, "free text");
      expect(await stepBytes(db, `${id}_step_0`)).toBe(TEN_MB);

      // The executor's format: a JSON step whose response is megabytes of the same hostile text.
      const doc = JSON.stringify({
        stepId: "swap",
        status: "failed",
        score: 0.25,
        error: PIECE,
        response: cut(big, 4 * MiB),
        toolCalls: [{ toolName: "jupiter_swap", input: { note: PIECE }, output: { echo: cut(big, 2 * MiB) }, success: false }],
      });
      await db.writer.storeStepSession(id, 1, doc);
      const [, session] = await db.writer.getSessionsForConsolidation(id);
      expectSameText(session?.content, doc, "JSON step document");
      expect(session).toMatchObject({ stepId: "swap", status: "failed", score: 0.25, error: PIECE });
      expect(session?.toolCalls).toEqual([
        {
          callIndex: 0,
          // The seed's text content says nothing of attempts.
          attempt: null,
          toolName: "jupiter_swap",
          input: { note: PIECE },
          output: { echo: cut(big, 2 * MiB) },
          success: false,
          durationMs: null,
          error: null,
        },
      ]);
    }, 120_000);

    test("storeSteps (bulk import): two 10 MB steps in one call", async ({ db }) => {
      const id = await createExecution(db.writer);
      const other = `${big.slice(0, big.length - 1)}y`;
      const result = await db.writer.storeSteps(id, [
        { stepIndex: 0, content: big },
        { stepIndex: 1, content: other },
      ]);
      expect(result).toEqual({ stored: 2, created: 2 });
      const sessions = await db.writer.getSessionsForConsolidation(id);
      expectSameText(sessions[0]?.content, big, "step 0");
      expectSameText(sessions[1]?.content, other, "step 1");
    }, 120_000);

    test("tool-call JSON of megabytes (deep objects, unicode keys and values, extreme numbers) round-trips as JSON", async ({ db }) => {
      const id = await createExecution(db.writer);
      const unit = {
        "ключ 🔑": PIECE,
        n: [0, -1.5, 1e-300, 1.7976931348623157e308, 2 ** 53],
        ok: true,
        none: null,
        nested: { a: { b: { c: [PIECE] } } },
      };
      const input = { rows: Array.from({ length: 10_000 }, (_, i) => ({ i, ...unit })) };
      const output = Array.from({ length: 5_000 }, (_, i) => `${i}:${PIECE}`);
      const inputBytes = Buffer.byteLength(JSON.stringify(input));
      expect(inputBytes).toBeGreaterThan(4 * MiB);
      // Without `content` the stored content is the step as JSON: ~ the tool calls' size, under the cap.
      const step = { stepIndex: 0, toolCalls: [{ toolName: "bulk", input, output, success: true, durationMs: 1 }] };
      await db.writer.storeStep(id, step);
      const [session] = await db.writer.getSessionsForConsolidation(id);
      expect(session?.toolCalls[0]?.input).toEqual(input);
      expect(session?.toolCalls[0]?.output).toEqual(output);
      expectSameText(session?.content, JSON.stringify(step), "content (the step as JSON)");
    }, 120_000);

    test("consolidated content: storeConsolidatedSession, read back by id and by execution; its cap is not the step cap", async ({
      db,
    }) => {
      const id = await createExecution(db.writer);
      const cid = uid("cons");
      await db.writer.storeConsolidatedSession(cid, id, big, { avgScore: 1, successRate: 100, totalTools: 0 });
      expectSameText(await db.writer.getConsolidatedSession(cid), big, "getConsolidatedSession");
      const [row] = await db.writer.getConsolidatedSessionsByExecution(id);
      expectSameText(row?.consolidatedContent, big, "getConsolidatedSessionsByExecution");
      expect(await consolidatedBytes(db, cid)).toBe(TEN_MB);

      // Consolidated content is held to its own, larger cap (256 MiB): over the step cap is fine.
      const overStepCap = text(DEFAULT_MAX_CONTENT_BYTES + 1);
      const cid2 = uid("cons");
      await db.writer.storeConsolidatedSession(cid2, id, overStepCap, {});
      expectSameText(await db.writer.getConsolidatedSession(cid2), overStepCap, "consolidated content over the step cap");
      expect(await consolidatedBytes(db, cid2)).toBe(DEFAULT_MAX_CONTENT_BYTES + 1);
    }, 120_000);
  });

  test("text that starts with a byte-order mark (U+FEFF) is stored whole; PostgreSQL reads it back whole, PGlite 0.5.16 drops it", async ({
    db,
  }) => {
    // A BOM mid-text survives everywhere (it is in PIECE); a leading one is a decoder's favourite to drop.
    const bom = `\uFEFF${PIECE}`;
    const id = await createExecution(db.writer);
    await db.writer.createExecutionSession({ executionId: `${id}-bom`, flowId: "f", agent: "a", prompt: bom });
    await db.writer.storeStep(id, { stepIndex: 0, content: bom });
    const cid = uid("cons");
    await db.writer.storeConsolidatedSession(cid, id, bom, {});
    // The database holds every byte …
    expect(await stepBytes(db, `${id}_step_0`)).toBe(Buffer.byteLength(bom));
    // … and so must what is read back. Not on PGlite 0.5.16: its wire-protocol reader decodes text with
    // `new TextDecoder("utf-8")`, which strips a leading BOM (no `ignoreBOM`). An upstream bug, pinned
    // here so that the day PGlite fixes it this test fails and is made exact for both backends.
    const read = backend.name === "postgres" ? bom : PIECE;
    expectSameText((await db.writer.getExecutionSession(`${id}-bom`))?.prompt, read, "prompt");
    expectSameText((await db.writer.getSessionsForConsolidation(id))[0]?.content, read, "step content");
    expectSameText(await db.writer.getConsolidatedSession(cid), read, "consolidated content");
  });

  describe("the default 16 MiB cap, counted in UTF-8 bytes", () => {
    test("exactly 16 MiB of 4-byte emoji is accepted and comes back whole", async ({ db }) => {
      const id = await createExecution(db.writer);
      const atCap = "😀".repeat(DEFAULT_MAX_CONTENT_BYTES / 4); // 8 Mi UTF-16 units, 16 MiB of UTF-8
      await db.writer.storeStep(id, { stepIndex: 0, content: atCap });
      expectSameText(await stepContent(db, id, 0), atCap, "content at the cap");
      expect(await stepBytes(db, `${id}_step_0`)).toBe(DEFAULT_MAX_CONTENT_BYTES);
    }, 120_000);

    test("one byte more is refused by every step writer, naming the field and both sizes; nothing is written", async ({ db }) => {
      const id = await createExecution(db.writer);
      // Half the cap in characters, yet over it in bytes: the cap counts bytes.
      const over = `${"😀".repeat(DEFAULT_MAX_CONTENT_BYTES / 4)}a`;
      expect(over.length).toBeLessThan(DEFAULT_MAX_CONTENT_BYTES);
      const sizes = [`${DEFAULT_MAX_CONTENT_BYTES + 1} bytes`, `${DEFAULT_MAX_CONTENT_BYTES}-byte cap`];
      const cases: [string, () => Promise<unknown>, string][] = [
        ["storeStepSession", () => db.writer.storeStepSession(id, 0, over), "sessionContent"],
        ["storeStep with content", () => db.writer.storeStep(id, { stepIndex: 0, content: over }), "content"],
        // Without content, the step's JSON form is the content: megabytes of error text push it over.
        [
          "storeStep without content",
          () => db.writer.storeStep(id, { stepIndex: 0, error: "é".repeat(DEFAULT_MAX_CONTENT_BYTES / 2) }),
          "content",
        ],
        [
          "storeSteps",
          () =>
            db.writer.storeSteps(id, [
              { stepIndex: 0, content: "small" },
              { stepIndex: 1, content: over },
            ]),
          "steps[1].content",
        ],
      ];
      const before = await fingerprint(db);
      for (const [name, call, field] of cases) {
        const error = await expectDbError(call(), "VALIDATION", field);
        expect(error.message, name).toContain(field);
        if (name !== "storeStep without content") for (const size of sizes) expect(error.message, name).toContain(size);
        expect(error.message, name).toMatch(/over the \d+-byte cap/);
      }
      expect(await fingerprint(db)).toEqual(before);
    }, 120_000);
  });

  describe("a small configured cap (1000 bytes; consolidated 2000)", () => {
    const CAP = 1000;
    const CONSOLIDATED_CAP = 2000;
    const smallWriter = (db: Database) =>
      new DatabaseWriter(prismaClientOf(db), { maxContentBytes: CAP, maxConsolidatedBytes: CONSOLIDATED_CAP });

    test("the boundary is exact in bytes: 996 ASCII + one 4-byte emoji is in, 997 + emoji is out", async ({ db }) => {
      const small = smallWriter(db);
      const id = await createExecution(small);
      const atCap = `${"a".repeat(CAP - 4)}😀`;
      const overByOne = `${"a".repeat(CAP - 3)}😀`;
      expect([Buffer.byteLength(atCap), Buffer.byteLength(overByOne)]).toEqual([CAP, CAP + 1]);
      await small.storeStepSession(id, 0, atCap);
      await small.storeStep(id, { stepIndex: 1, content: atCap });
      expect([await stepContent(db, id, 0), await stepContent(db, id, 1)]).toEqual([atCap, atCap]);

      const before = await fingerprint(db);
      for (const [call, field] of [
        [() => small.storeStepSession(id, 2, overByOne), "sessionContent"],
        [() => small.storeStep(id, { stepIndex: 2, content: overByOne }), "content"],
        [
          () =>
            small.storeSteps(id, [
              { stepIndex: 2, content: atCap },
              { stepIndex: 3, content: overByOne },
            ]),
          "steps[1].content",
        ],
      ] as const) {
        const error = await expectDbError(call(), "VALIDATION", field);
        expect(error.message).toContain(`${field} is ${CAP + 1} bytes, over the ${CAP}-byte cap`);
      }
      expect(await fingerprint(db)).toEqual(before);
    });

    test("consolidated content has its own configured cap, checked the same way", async ({ db }) => {
      const small = smallWriter(db);
      const id = await createExecution(small);
      const cid = uid("cons");
      await small.storeConsolidatedSession(cid, id, `${"b".repeat(CONSOLIDATED_CAP - 2)}é`, {});
      expect(await consolidatedBytes(db, cid)).toBe(CONSOLIDATED_CAP);
      const before = await fingerprint(db);
      const error = await expectDbError(
        small.storeConsolidatedSession(uid("cons"), id, `${"b".repeat(CONSOLIDATED_CAP - 1)}é`, {}),
        "VALIDATION",
        "content",
      );
      expect(error.message).toContain(`content is ${CONSOLIDATED_CAP + 1} bytes, over the ${CONSOLIDATED_CAP}-byte cap`);
      expect(await fingerprint(db)).toEqual(before);
    });

    test("a writer bound by withDatabaseTransaction keeps the cap, and the refusal rolls back what the transaction already wrote", async ({
      db,
    }) => {
      const small = smallWriter(db);
      const id = await createExecution(small);
      const before = await fingerprint(db);
      const error = await expectDbError(
        small.withDatabaseTransaction(async (tx) => {
          await tx.storeStep(id, { stepIndex: 0, content: "written first" });
          await tx.storeConsolidatedSession(uid("cons"), id, "also written", {});
          await tx.storeStep(id, { stepIndex: 1, content: "x".repeat(CAP + 1) });
        }),
        "VALIDATION",
        "content",
      );
      expect(error.message).toContain(`${CAP + 1} bytes`);
      expect(await fingerprint(db)).toEqual(before);
    });
  });
});
