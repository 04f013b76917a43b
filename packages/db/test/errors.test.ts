// DatabaseError and toDatabaseError, with real Prisma errors provoked from the database; connection failures.
import { describe, expect, it } from "vitest";
import { DATABASE_ERROR_CODES, DatabaseError, openDatabase, toDatabaseError } from "../src/index.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, sleep, uid } from "./helpers.js";

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("DatabaseError", () => {
  test("has a code, a field, a cause and the name DatabaseError", () => {
    const cause = new Error("root");
    const error = new DatabaseError("VALIDATION", "bad input", { cause, field: "stepIndex" });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "DatabaseError", code: "VALIDATION", field: "stepIndex", message: "bad input", cause });
    expect(DatabaseError.is(error)).toBe(true);
    expect(DatabaseError.is(error, "VALIDATION")).toBe(true);
    expect(DatabaseError.is(error, "CONFLICT")).toBe(false);
    expect(DatabaseError.is(cause)).toBe(false);
    expect(DATABASE_ERROR_CODES).toEqual(
      expect.arrayContaining(["VALIDATION", "NOT_FOUND", "CONFLICT", "TRANSACTION_STATE", "TIMEOUT", "CONNECTION", "MIGRATION"]),
    );
  });

  test("toDatabaseError passes a DatabaseError through and wraps anything else with the action and the cause", () => {
    const original = new DatabaseError("CONFLICT", "x");
    expect(toDatabaseError(original, "do a thing")).toBe(original);
    const plain = new Error("line one\nthe useful last line");
    expect(toDatabaseError(plain, "store step 3")).toMatchObject({
      code: "INTERNAL",
      cause: plain,
      message: expect.stringMatching(/^Failed to store step 3: the useful last line/),
    });
    expect(toDatabaseError("a string", "read")).toMatchObject({ code: "INTERNAL", cause: "a string", message: "Failed to read: a string" });
    // Classification is by Prisma's code / the adapter's kind, never by meta.target.
    const fake = (props: object) => Object.assign(new Error("m"), props);
    expect(toDatabaseError(fake({ code: "P2034" }), "a").code).toBe("CONFLICT");
    expect(toDatabaseError(fake({ code: "P1001" }), "a").code).toBe("CONNECTION");
    expect(toDatabaseError(fake({ code: "ECONNREFUSED" }), "a").code).toBe("CONNECTION");
    expect(
      toDatabaseError(fake({ code: "P2010", meta: { driverAdapterError: { cause: { kind: "UniqueConstraintViolation" } } } }), "a").code,
    ).toBe("CONFLICT");
    expect(
      toDatabaseError(fake({ code: "P2010", meta: { driverAdapterError: { cause: { kind: "ForeignKeyConstraintViolation" } } } }), "a")
        .code,
    ).toBe("NOT_FOUND");
    expect(toDatabaseError(fake({ code: "P2002", meta: { target: [] } }), "a").code).toBe("CONFLICT");
  });
});

describe.each(testBackends())("Prisma errors from $name mapped onto DatabaseError", (backend) => {
  test.override({ backend });

  test("P2002 (unique violation) → CONFLICT, cause kept", async ({ db }) => {
    const id = await createExecution(db.writer);
    const raw = await caught(db.prisma.executionSession.create({ data: { executionId: id, flowId: "f", agent: "a", prompt: "p" } }));
    expect((raw as { code?: string }).code).toBe("P2002");
    const error = toDatabaseError(raw, `create execution "${id}"`);
    expect({ code: error.code, cause: error.cause }).toEqual({ code: "CONFLICT", cause: raw });
    expect(error.message).toContain(`create execution "${id}"`);
    // Through the writer, a taken id with other fields is a CONFLICT too (same fields: a retry).
    await expectDbError(
      db.writer.createExecutionSession({ executionId: id, flowId: "f", agent: "a", prompt: "p" }),
      "CONFLICT",
      "executionId",
    );
    expect(await db.prisma.executionSession.count({ where: { executionId: id } })).toBe(1);
  });

  test("P2025 (record to update not found) → NOT_FOUND", async ({ db }) => {
    const raw = await caught(db.prisma.executionSession.update({ where: { executionId: uid("missing") }, data: { error: "x" } }));
    expect((raw as { code?: string }).code).toBe("P2025");
    const error = toDatabaseError(raw, "update the execution");
    expect(error).toMatchObject({ code: "NOT_FOUND", cause: raw });
    expect(error.message).toMatch(/^Failed to update the execution: .+/);
  });

  test("P2003 (foreign key violation): a step without its execution → NOT_FOUND", async ({ db }) => {
    const missing = uid("missing");
    const raw = await caught(
      db.prisma.stepSession.create({
        data: { sessionId: `${missing}_step_0`, executionId: missing, stepIndex: 0, content: "x", contentSha256: "0".repeat(64) },
      }),
    );
    expect((raw as { code?: string }).code).toBe("P2003");
    const error = toDatabaseError(raw, "store a step");
    expect(error).toMatchObject({ code: "NOT_FOUND", cause: raw });
    expect(error.message).toMatch(/parent record does not exist; create it first/);
    expect(await db.prisma.stepSession.count({ where: { executionId: missing } })).toBe(0);
  });

  test("P2028 (interactive transaction timed out) → TIMEOUT", async ({ db }) => {
    const raw = await caught(
      db.prisma.$transaction(
        async () => {
          await sleep(300);
        },
        { timeout: 100 },
      ),
    );
    expect((raw as { code?: string }).code).toBe("P2028");
    const error = toDatabaseError(raw, "run a slow transaction");
    expect(error).toMatchObject({ code: "TIMEOUT", cause: raw });
    expect(error.message).toMatch(/raise the timeout/);
    // The connection is usable afterwards.
    expect(await db.prisma.executionSession.count({ where: { executionId: "none" } })).toBe(0);
  });

  test("a writer transaction that times out → TIMEOUT from runInTransaction, and nothing is written", async ({ db }) => {
    const id = await createExecution(db.writer);
    const error = await expectDbError(
      db.writer.runInTransaction(
        async (w) => {
          await w.storeStepSession(id, 0, "slow");
          await sleep(300);
        },
        { timeout: 100 },
      ),
      "TIMEOUT",
    );
    expect((error.cause as { code?: string }).code).toBe("P2028");
    expect(await db.prisma.stepSession.count({ where: { executionId: id } })).toBe(0);
  });
});

describe("connection failures", () => {
  test("an unreachable PostgreSQL → CONNECTION naming host and database, password masked", async () => {
    const error = await expectDbError(openDatabase({ url: "postgresql://reev:s3cret@127.0.0.1:1/nope" }), "CONNECTION");
    expect(error.message).toContain("127.0.0.1:1");
    expect(error.message).toContain("/nope");
    expect(error.message).toContain("***");
    expect(error.message).not.toContain("s3cret");
    expect(error.message).toMatch(/Is the server running/);
    expect(error.cause).toBeDefined();
    expect(`${String(error.cause)} ${JSON.stringify(error.cause)}`).not.toContain("s3cret");
  });

  const url = process.env.REEV_TEST_DATABASE_URL;
  it.runIf(url)("a database that does not exist on a running server → CONNECTION naming it", async () => {
    const u = new URL(url!);
    const name = `reev_no_such_db_${Date.now()}`;
    u.pathname = `/${name}`;
    const error = await expectDbError(openDatabase({ url: u.toString() }), "CONNECTION");
    expect(error.message).toContain(name);
    expect(error.message).toMatch(/does not exist|database/i);
  });
});
