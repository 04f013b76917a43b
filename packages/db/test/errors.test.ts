// DatabaseError from real failures: constraint violations, timeouts, and on PostgreSQL a real deadlock,
// a real serialization failure and a lock not granted in time — each classified by what a caller can
// do (code, retryable, HTTP status) — and the writer's bounded retry of what a repeat can cure.
import pg from "pg";
import { describe, expect } from "vitest";
import { type Database, type DatabaseError, maskUrl, openDatabase } from "../src/index.js";
import { prismaClientOf, toDatabaseError } from "../src/internal.js";
import { createFaultInjector } from "../src/testing/fault-injection.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, expectDbError, lockWaiters, uid } from "./helpers.js";

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** What a caller branches on. */
const verdict = (e: DatabaseError) => ({ code: e.code, retryable: e.retryable, httpStatus: e.httpStatus });

/**
 * Keeps an interactive transaction busy until Prisma has expired it (the next statement then fails):
 * its timeout, waited for as a condition. Each turn yields to the event loop, because in-process
 * PGlite answers in microtasks and Prisma's timer would otherwise never get to run.
 */
async function untilExpired(query: () => Promise<unknown>): Promise<never> {
  for (;;) {
    await query();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe.each(testBackends())("real failures on $name, classified", (backend) => {
  test.override({ backend });

  test("a unique violation is a CONFLICT: never retryable, 409; the cause is kept", async ({ db }) => {
    const id = await createExecution(db.writer);
    const raw = await caught(
      prismaClientOf(db).executionSession.create({ data: { executionId: id, flowId: "f", agent: "a", prompt: "p" } }),
    );
    expect((raw as { code?: string }).code).toBe("P2002");
    const error = toDatabaseError(raw, `create execution "${id}"`);
    expect(verdict(error)).toEqual({ code: "CONFLICT", retryable: false, httpStatus: 409 });
    expect(error.cause).toBe(raw);
    expect(error.message).toContain(`create execution "${id}"`);
    // Through the writer, a taken id with other fields is a CONFLICT too (same fields: a retry).
    const refused = await expectDbError(
      db.writer.createExecutionSession({ executionId: id, flowId: "f", agent: "a", prompt: "other" }),
      "CONFLICT",
    );
    expect(verdict(refused)).toEqual({ code: "CONFLICT", retryable: false, httpStatus: 409 });
  });

  test("a missing record (P2025) and a missing parent (P2003) are NOT_FOUND, 404, and nothing is written", async ({ db }) => {
    const missing = uid("missing");
    const update = toDatabaseError(
      await caught(prismaClientOf(db).executionSession.update({ where: { executionId: missing }, data: { error: "x" } })),
      "update",
    );
    expect(verdict(update)).toEqual({ code: "NOT_FOUND", retryable: false, httpStatus: 404 });
    const raw = await caught(
      prismaClientOf(db).stepSession.create({
        data: { sessionId: `${missing}_step_0`, executionId: missing, stepIndex: 0, content: "x", contentSha256: "0".repeat(64) },
      }),
    );
    expect((raw as { code?: string }).code).toBe("P2003");
    const error = toDatabaseError(raw, "store a step");
    expect(verdict(error)).toEqual({ code: "NOT_FOUND", retryable: false, httpStatus: 404 });
    expect(error.message).toMatch(/parent record does not exist; create it first/);
    expect(await prismaClientOf(db).stepSession.count({ where: { executionId: missing } })).toBe(0);
  });

  test("an interactive transaction that outlives its timeout (P2028) is a TIMEOUT: retryable, 504", async ({ db }) => {
    const raw = await caught(prismaClientOf(db).$transaction((tx) => untilExpired(() => tx.$queryRaw`SELECT 1`), { timeout: 100 }));
    expect((raw as { code?: string }).code).toBe("P2028");
    const error = toDatabaseError(raw, "run a slow transaction");
    expect(verdict(error)).toEqual({ code: "TIMEOUT", retryable: true, httpStatus: 504 });
    expect(error.message).toMatch(/raise the timeout/);
    // The connection is usable afterwards.
    expect(await prismaClientOf(db).executionSession.count({ where: { executionId: "none" } })).toBe(0);
  });

  test("withDatabaseTransaction that times out: TIMEOUT, run once (only contention is repeated), nothing written", async ({ db }) => {
    const id = await createExecution(db.writer);
    let attempts = 0;
    const error = await expectDbError(
      db.writer.withDatabaseTransaction(
        async (w) => {
          attempts++;
          await w.storeStepSession(id, 0, "slow");
          await untilExpired(() => w.getExecutionSession(id));
        },
        { timeout: 100 },
      ),
      "TIMEOUT",
    );
    expect(attempts).toBe(1);
    expect(error.retryable).toBe(true);
    expect(await prismaClientOf(db).stepSession.count({ where: { executionId: id } })).toBe(0);
  });
});

const postgres = testBackends().filter((b) => b.name === "postgres");

describe.each(postgres)("contention on $name: real deadlocks, serialization failures and lock timeouts", (backend) => {
  test.override({ backend });

  /** A separate connection, to hold locks against the writer. */
  async function connect(db: Database): Promise<pg.Client> {
    if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
    const client = new pg.Client({ connectionString: db.target.url });
    await client.connect();
    return client;
  }

  test("a deadlock (40P01) is CONTENTION: retryable, 503; CONFLICT is left for what can never succeed", async ({ db }) => {
    const [a, b] = [await createExecution(db.writer), await createExecution(db.writer)];
    const [one, two] = [await connect(db), await connect(db)];
    try {
      await one.query("BEGIN");
      await two.query("BEGIN");
      await one.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [a]);
      await two.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [b]);
      // Each now waits for the other: PostgreSQL picks one and aborts it.
      const first = one.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [b]).then(
        () => undefined,
        (e: unknown) => e,
      );
      await lockWaiters(db, 1);
      const second = two.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [a]).then(
        () => undefined,
        (e: unknown) => e,
      );
      const failures = (await Promise.all([first, second])).filter((e) => e !== undefined);
      expect(failures.map((e) => (e as { code?: string }).code)).toEqual(["40P01"]);
      const error = toDatabaseError(failures[0], "lock two executions");
      expect(verdict(error)).toEqual({ code: "CONTENTION", retryable: true, httpStatus: 503 });
      expect(error.message).toMatch(/deadlock/);
    } finally {
      await Promise.allSettled([one.query("ROLLBACK"), two.query("ROLLBACK")]);
      await Promise.allSettled([one.end(), two.end()]);
    }
  });

  test("a serialization failure (40001) under REPEATABLE READ, through Prisma: CONTENTION, retryable", async ({ db }) => {
    const id = await createExecution(db.writer);
    const prisma = prismaClientOf(db);
    const other = await connect(db);
    try {
      const raw = await caught(
        prisma.$transaction(
          async (tx) => {
            await tx.$queryRaw`SELECT error FROM execution_sessions WHERE execution_id = ${id}`; // the snapshot is taken
            await other.query("UPDATE execution_sessions SET error = 'changed' WHERE execution_id = $1", [id]); // and committed
            await tx.$executeRaw`UPDATE execution_sessions SET error = 'mine' WHERE execution_id = ${id}`;
          },
          { isolationLevel: "RepeatableRead" },
        ),
      );
      const error = toDatabaseError(raw, "update the execution");
      expect(verdict(error)).toEqual({ code: "CONTENTION", retryable: true, httpStatus: 503 });
      expect((await db.writer.getExecutionSession(id))?.error).toBe("changed");
    } finally {
      await other.end();
    }
  });

  test("withDatabaseTransaction repeats its function after a real deadlock: both transactions commit, each effect once", async ({ db }) => {
    const [a, b] = [await createExecution(db.writer), await createExecution(db.writer)];
    const attempts = { ab: 0, ba: 0 };
    let bothHoldOne!: () => void;
    const bothHold = new Promise<void>((resolve) => {
      bothHoldOne = resolve;
    });
    let holding = 0;
    /** Locks `first`, waits until the other transaction holds its own first row, then locks `second`. */
    const crosswise = (name: "ab" | "ba", first: string, second: string) =>
      db.writer.withDatabaseTransaction(async (w) => {
        attempts[name]++;
        await w.setConsolidationStatus(first, "in_progress");
        if (++holding === 2) bothHoldOne();
        await bothHold;
        await w.setConsolidationStatus(second, "in_progress", { error: `set by ${name}` });
        return name;
      });
    const results = await Promise.all([crosswise("ab", a, b), crosswise("ba", b, a)]);
    expect(results).toEqual(["ab", "ba"]);
    // PostgreSQL aborted exactly one of them; that one ran again, after the other had committed.
    expect(attempts.ab + attempts.ba).toBe(3);
    const retried = attempts.ab === 2 ? "ab" : "ba";
    const lastWritten = retried === "ab" ? b : a;
    expect((await db.writer.getExecutionSession(lastWritten))?.consolidation).toMatchObject({
      status: "in_progress",
      error: `set by ${retried}`,
    });
  });

  test("a lock not granted in time (55P03) is CONTENTION; the writer repeats its call a bounded number of times, then reports it", async ({
    db,
  }) => {
    if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
    const id = await createExecution(db.writer);
    // A second client of the same database whose every lock wait gives up after 100 ms.
    const url = new URL(db.target.url);
    url.searchParams.set("options", "-c lock_timeout=100");
    const statements = createFaultInjector();
    const impatient = await openDatabase({ url: url.toString(), migrate: false, wrapAdapter: statements.wrapAdapter });
    const holder = await connect(db);
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [id]);
      statements.record();
      const error = await expectDbError(impatient.writer.finishExecutionSession(id, { status: "completed" }), "CONTENTION");
      // One interactive transaction per attempt.
      const attempts = statements.disarm().statements.filter((s) => s.kind === "begin");
      expect(verdict(error)).toEqual({ code: "CONTENTION", retryable: true, httpStatus: 503 });
      expect(error.message).toMatch(/lock timeout/);
      // Three attempts (the default), each stopped at the lock; nothing was written.
      expect(attempts).toHaveLength(3);
      expect((await db.writer.getExecutionSession(id))?.status).toBe("running");
      // Once the lock is free, the same call succeeds.
      await holder.query("COMMIT");
      expect((await impatient.writer.finishExecutionSession(id, { status: "completed" })).status).toBe("completed");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
      await impatient.close();
    }
  });

  test("a writer told to try once reports the first contention", async ({ db }) => {
    if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
    const id = await createExecution(db.writer);
    const url = new URL(db.target.url);
    url.searchParams.set("options", "-c lock_timeout=50");
    const statements = createFaultInjector();
    const impatient = await openDatabase({
      url: url.toString(),
      migrate: false,
      wrapAdapter: statements.wrapAdapter,
      writer: { retry: { maxAttempts: 1 } },
    });
    const holder = await connect(db);
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [id]);
      statements.record();
      await expectDbError(impatient.writer.beginTransaction(id), "CONTENTION");
      expect(statements.disarm().statements.filter((s) => s.kind === "begin")).toHaveLength(1);
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
      await impatient.close();
    }
  });
});

describe("connection failures", () => {
  test("an unreachable PostgreSQL → CONNECTION naming host and database, password masked; retryable (it may come up)", async () => {
    const error = await expectDbError(openDatabase({ url: "postgresql://reev:s3cret@127.0.0.1:1/nope" }), "CONNECTION");
    expect(error.message).toContain("127.0.0.1:1");
    expect(error.message).toContain("/nope");
    expect(error.message).toContain("***");
    expect(error.message).not.toContain("s3cret");
    expect(error.message).toBe(
      "Cannot reach the PostgreSQL server at 127.0.0.1:1 (postgresql://reev:***@127.0.0.1:1/nope). Start the server, or fix the host and port in the URL.",
    );
    expect(verdict(error)).toEqual({ code: "CONNECTION", retryable: true, httpStatus: 503 });
    expect(`${String(error.cause)} ${JSON.stringify(error.cause)}`).not.toContain("s3cret");
  });

  const url = process.env.REEV_TEST_DATABASE_URL;
  test.runIf(url)("a database that does not exist on a running server → CONNECTION naming it, not retryable", async () => {
    const u = new URL(url!);
    const name = `reev_no_such_db_${Date.now()}`;
    u.pathname = `/${name}`;
    const error = await expectDbError(openDatabase({ url: u.toString() }), "CONNECTION");
    expect(error.message).toBe(
      `The PostgreSQL server has no database "${name}" (${maskUrl(u.toString())}). Create it (createdb ${name}), or fix the database name in the URL.`,
    );
    expect(error.retryable).toBe(false);
  });

  test.runIf(url)('a role that does not exist → CONNECTION saying so (not "denied access"), password masked, not retryable', async () => {
    const u = new URL(url!);
    u.username = "reev_no_such_role";
    u.password = "s3cret";
    const error = await expectDbError(openDatabase({ url: u.toString() }), "CONNECTION");
    expect(error.message).toBe(
      `The PostgreSQL server refused the login: role "reev_no_such_role" does not exist (${maskUrl(u.toString())}). Check the user and password in the URL.`,
    );
    expect(error.message).not.toContain("s3cret");
    expect(error.retryable).toBe(false);
  });

  // The test server runs without SSL (as CI's and a fresh install's do): a URL that asks for it is refused.
  test.runIf(url)(
    "sslmode=require against a server without SSL → CONNECTION saying the server does not accept SSL, and what to do",
    async () => {
      const u = new URL(url!);
      u.searchParams.set("sslmode", "require");
      const error = await expectDbError(openDatabase({ url: u.toString() }), "CONNECTION");
      expect(error.message).toBe(
        `The PostgreSQL server at ${u.hostname}:${u.port || "5432"} does not accept SSL connections, and the URL asks for SSL with sslmode=require (${maskUrl(u.toString())}). Remove sslmode from the URL, or enable SSL on the server.`,
      );
      expect(error.retryable).toBe(false);
    },
  );

  // A server with SSL on and a self-signed certificate (not one CI runs): REEV_TEST_SSL_DATABASE_URL.
  const sslUrl = process.env.REEV_TEST_SSL_DATABASE_URL;
  test.runIf(sslUrl)("sslmode=require against a self-signed certificate → CONNECTION: not trusted; sslrootcert, or no-verify", async () => {
    const u = new URL(sslUrl!);
    u.searchParams.set("sslmode", "require");
    const error = await expectDbError(openDatabase({ url: u.toString() }), "CONNECTION");
    expect(error.message).toBe(
      `The PostgreSQL server at ${u.hostname}:${u.port || "5432"} sent a certificate that is not trusted (self-signed certificate), and the URL asks for SSL with sslmode=require, which checks it (${maskUrl(u.toString())}). Add the server's CA certificate to the URL as sslrootcert=/path/to/root.crt, or use sslmode=no-verify to encrypt without checking the certificate.`,
    );
    expect(error.retryable).toBe(false);
  });
});
