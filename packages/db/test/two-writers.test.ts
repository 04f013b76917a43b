// Two writers, one step: two writers store the same (executionId, stepIndex) at the same moment, many
// rounds over. Whatever the interleaving there is exactly one row, with all of one writer's tool calls
// and none of the other's; with the same content the second writer gets the idempotent no-op
// (`created: false`); with different content it gets CONFLICT — or, for a step still pending in the
// execution's open transaction, replaces it whole (pending steps may be rewritten until commit).
//
// On PostgreSQL the writers are two processes. They start together on a barrier: either a GO line sent
// to both at once (a natural race), or a lock on the execution row that the test holds until it has
// seen both writes blocked on it, then releases — so both statements are provably in flight at once and
// the loser's snapshot predates the winner's commit (the case the writer must re-read). In one process,
// on every backend, two writers race through Promise.all.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect } from "vitest";
import { type Database, DatabaseError, DatabaseWriter, type StepInput } from "../src/index.js";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, lockWaiters, uid } from "./helpers.js";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/two-writers-child.ts", import.meta.url));
const CHILD_APP = "reev_two_writers";

const STEP_A: StepInput = {
  stepIndex: 0,
  stepId: "swap",
  status: "success",
  content: "writer A",
  toolCalls: [{ toolName: "a1" }, { toolName: "a2" }],
};
const STEP_B: StepInput = {
  stepIndex: 0,
  stepId: "swap",
  status: "failed",
  content: "writer B",
  toolCalls: [{ toolName: "b1" }, { toolName: "b2" }, { toolName: "b3" }],
};
const toolsOf = (s: StepInput) => s.toolCalls!.map((t) => t.toolName);

type Variant = { content: "same" | "different"; inTransaction: boolean };
const VARIANTS: Variant[] = [
  { content: "same", inTransaction: false },
  { content: "different", inTransaction: false },
  { content: "same", inTransaction: true },
  { content: "different", inTransaction: true },
];
const label = (v: Variant) => `${v.content} content, ${v.inTransaction ? "pending in an open transaction" : "committed"}`;

/** What a writer reports: the stored step, or a DatabaseError's code. */
type Outcome = { created: boolean; state: string } | { error: string; message?: string };

async function setupRound(db: Database, variant: Variant) {
  const executionId = await createExecution(db.writer, uid("two"));
  const transactionId = variant.inTransaction ? await db.writer.beginTransaction(executionId) : undefined;
  const steps: [StepInput, StepInput] = [STEP_A, variant.content === "same" ? STEP_A : STEP_B];
  return { executionId, transactionId, steps };
}

/**
 * Exactly one row, written whole by one writer, and the outcomes each writer was told agree with it.
 * `outcomes[i]` is what the writer of `steps[i]` heard.
 */
async function checkRound(
  db: Database,
  executionId: string,
  variant: Variant,
  steps: [StepInput, StepInput],
  outcomes: [Outcome, Outcome],
  where: string,
) {
  const rows = await prismaClientOf(db).stepSession.findMany({
    where: { executionId },
    select: { stepIndex: true, state: true, content: true, toolCalls: { orderBy: { callIndex: "asc" }, select: { toolName: true } } },
  });
  expect(rows.length, where).toBe(1);
  const row = rows[0]!;
  const state = variant.inTransaction ? "pending" : "committed";
  expect({ stepIndex: row.stepIndex, state: row.state }, where).toEqual({ stepIndex: 0, state });
  // Whole: the stored content comes with exactly its own tool calls, never a mix of both writers'.
  const winner = row.content === STEP_A.content ? STEP_A : STEP_B;
  expect({ content: row.content, tools: row.toolCalls.map((t) => t.toolName) }, where).toEqual({
    content: winner.content,
    tools: toolsOf(winner),
  });

  const sorted = (xs: Outcome[]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (variant.content === "same") {
    expect(sorted(outcomes), where).toEqual([
      { created: false, state },
      { created: true, state },
    ]);
  } else if (!variant.inTransaction) {
    // The one that was told "created" is the one whose step is stored; the other heard CONFLICT.
    const created = outcomes.findIndex((o) => "created" in o && o.created);
    expect(created, where).toBeGreaterThanOrEqual(0);
    expect(steps[created]!.content, where).toBe(row.content);
    expect(outcomes[1 - created], where).toMatchObject({ error: "CONFLICT" });
  } else {
    // Pending in the same open transaction: the later write replaces the earlier, both succeed.
    expect(outcomes, where).toEqual([
      { created: true, state },
      { created: true, state },
    ]);
  }
  // The stored fingerprint is the stored content's: writing it again is a no-op.
  expect(await db.writer.storeStep(executionId, winner), where).toMatchObject({ created: false, state });
}

/** A writer process and its stdout, line by line. */
class WriterProcess {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  #output = "";

  constructor(url: string) {
    this.process = spawn(process.execPath, ["--import", "tsx", CHILD, url], { cwd: PACKAGE_DIR, stdio: ["pipe", "pipe", "pipe"] });
    this.process.stderr?.on("data", (d: Buffer) => {
      this.#output += d.toString();
    });
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      this.#output += `${line}\n`;
      const i = this.#waiters.findIndex((w) => w.match(line));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(line);
      else this.#lines.push(line);
    });
  }

  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  /** The next line starting with `prefix` (one already received counts). */
  next(prefix: string, timeoutMs = 30_000): Promise<string> {
    const match = (l: string) => l.startsWith(prefix);
    const i = this.#lines.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#lines.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms; output:\n${this.#output}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.stdin!.end("\n");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

const postgres = testBackends().filter((b) => b.name === "postgres");

describe.each(postgres)("two writer processes, one step, on $name", (backend) => {
  const ROUNDS_PER_CASE = 6;
  let db: Database;
  let locker: pg.Client;
  const writers: WriterProcess[] = [];

  test.override({ backend });
  test.beforeAll(async ({ databases }) => {
    db = await databases.get(backend);
    if (db.target.kind !== "postgres") throw new Error("expected PostgreSQL");
    const url = new URL(db.target.url);
    url.searchParams.set("application_name", CHILD_APP);
    writers.push(new WriterProcess(url.toString()), new WriterProcess(url.toString()));
    await Promise.all(writers.map((w) => w.next("HELLO")));
    locker = new pg.Client({ connectionString: db.target.url });
    await locker.connect();
  });

  test.afterAll(async () => {
    await Promise.allSettled(writers.map((w) => w.stop()));
    await locker?.end().catch(() => {});
  });

  let round = 0;
  test.each(VARIANTS.flatMap((v) => (["GO line", "row lock"] as const).map((barrier) => [label(v), barrier, v] as const)))(
    "%s, started together on a %s: one row, and the other writer hears the truth",
    async (_label, barrier, variant) => {
      for (let rep = 0; rep < ROUNDS_PER_CASE; rep++) {
        const r = ++round;
        const { executionId, transactionId, steps } = await setupRound(db, variant);
        for (const [i, w] of writers.entries()) w.send(JSON.stringify({ round: r, executionId, step: steps[i], transactionId }));
        await Promise.all(writers.map((w) => w.next(`READY ${r}`)));

        if (barrier === "row lock") {
          await locker.query("BEGIN");
          await locker.query("SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [executionId]);
        }
        try {
          for (const w of writers) w.send(`GO ${r}`);
          if (barrier === "row lock") {
            // Both writes are in flight, queued on the same row lock: releasing it lets them run back to back.
            await lockWaiters(db, 2, { applicationName: CHILD_APP });
          }
        } finally {
          if (barrier === "row lock") await locker.query("COMMIT");
        }

        const outcomes = (await Promise.all(
          writers.map(async (w) => JSON.parse((await w.next(`RESULT ${r} `)).slice(`RESULT ${r} `.length)) as Outcome),
        )) as [Outcome, Outcome];
        await checkRound(
          db,
          executionId,
          variant,
          steps,
          outcomes,
          `round ${r} (${label(variant)}, ${barrier}): ${JSON.stringify(outcomes)}`,
        );
      }
    },
  );
});

describe.each(testBackends())("two writers in one process, one step, on $name", (backend) => {
  const ROUNDS_PER_CASE = 15;
  test.override({ backend });

  test.for(VARIANTS.map((v) => [label(v), v] as const))(
    "%s: one row, and the other writer hears the truth",
    async ([, variant], { db }) => {
      // Two writers of their own, as two parts of an application would have; on PostgreSQL each call
      // takes its own pooled connection, so the two statements really run at once.
      const writers = [new DatabaseWriter(prismaClientOf(db)), new DatabaseWriter(prismaClientOf(db))];
      for (let r = 0; r < ROUNDS_PER_CASE; r++) {
        const { executionId, transactionId, steps } = await setupRound(db, variant);
        const guard = transactionId ? { transactionId } : {};
        const outcomes = (await Promise.all(
          writers.map((w, i) =>
            w.storeStep(executionId, steps[i]!, guard).then(
              (s): Outcome => ({ created: s.created, state: s.state }),
              (e: unknown): Outcome => ({ error: DatabaseError.is(e) ? e.code : String(e) }),
            ),
          ),
        )) as [Outcome, Outcome];
        await checkRound(db, executionId, variant, steps, outcomes, `round ${r} (${label(variant)}): ${JSON.stringify(outcomes)}`);
      }
    },
  );
});
