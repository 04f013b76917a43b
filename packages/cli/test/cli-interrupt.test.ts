/**
 * Interrupted and crashed runs end, visibly (issue 9 §1), end to end in child processes on a PGlite
 * directory and on PostgreSQL (when REEV_TEST_DATABASE_URL is set). Each case runs a generated flow,
 * atomic or not, whose step K hangs until it is stopped, and hits `reev run` with SIGINT, SIGTERM or
 * SIGKILL once its progress says step K started. K is drawn from a seeded PRNG
 * (REEV_SIGNAL_SEED=<n> replays a draw; the seed is in the suite's name). Then `reev list` marks the
 * killed runs abandoned, `reev recover` finishes them, `reev diagram` draws every run, and every run
 * has a final status and a consolidation that lists exactly its committed steps.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "./support/live-cli.js";
import { runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const SEED = Number(process.env.REEV_SIGNAL_SEED ?? 20261203);
const STEPS = 5;

/** mulberry32: a tiny seeded PRNG, so a failing draw can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Signal = "SIGINT" | "SIGTERM" | "SIGKILL";
type Case = { name: string; signal: Signal; atomic: boolean; hangAt: number };

/** The cases of one backend: each signal, atomic or not, at a seeded step. */
function cases(seed: number): Case[] {
  const random = prng(seed);
  const kinds: [Signal, boolean][] = [
    ["SIGINT", false],
    ["SIGINT", true],
    ["SIGTERM", false],
    ["SIGKILL", false],
    ["SIGKILL", true],
  ];
  return kinds.map(([signal, atomic]) => {
    const hangAt = Math.floor(random() * STEPS);
    return { name: `${signal}-${atomic ? "atomic" : "steps"}-at-${hangAt}`, signal, atomic, hangAt };
  });
}

/** A flow of STEPS quick steps whose step `hangAt` waits until it is stopped (its timeout is 10 min away). */
function writeFlow(dir: string, c: Case): string {
  const steps = Array.from({ length: STEPS }, (_, i) =>
    i === c.hangAt
      ? `  - { stepId: s${i}, prompt: "step ${i}", timeoutMs: 600000, script: [{ hang: true }] }`
      : `  - { stepId: s${i}, prompt: "step ${i}", requiredTools: [t${i}], script: [{ response: "r${i}" }] }`,
  );
  const path = join(dir, `${c.name}.yaml`);
  writeFileSync(path, [`flowId: ${c.name}`, `prompt: "interrupt me"`, `atomic: ${c.atomic}`, "steps:", ...steps, ""].join("\n"));
  return path;
}

const stepIds = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => `s${from + i}`);

/** What each case leaves committed, in step order, and how its run ends. */
function expected(c: Case, pid: number): { status: string; error: string; committed: string[] } {
  if (c.signal === "SIGKILL") {
    return {
      status: "failed",
      error: `abandoned: process ${pid} on ${hostname()} exited without finishing`,
      committed: c.atomic ? [] : stepIds(0, c.hangAt),
    };
  }
  const why = `interrupted (${c.signal})`;
  return {
    status: "cancelled",
    error: `Stopped: ${why}${c.atomic ? "; every step was rolled back" : ""}`,
    committed: c.atomic ? [] : stepIds(0, STEPS),
  };
}

type Backend = { name: string; url: () => Promise<string>; cleanup: () => Promise<void> };

function backends(temp: () => string): Backend[] {
  // On tmpfs where there is one: a killed process leaves its writes in the page cache either way, so
  // the disk would add only fsync latency to the many short CLI processes here.
  let shm: string | undefined;
  const pglite: Backend = {
    name: "pglite",
    url: async () => {
      shm = existsSync("/dev/shm") ? mkdtempSync(join("/dev/shm", "reev-cli-interrupt-")) : undefined;
      return join(shm ?? temp(), "db");
    },
    cleanup: async () => {
      if (shm) rmSync(shm, { recursive: true, force: true });
    },
  };
  const base = process.env.REEV_TEST_DATABASE_URL;
  if (!base) return [pglite];
  let database: { url: string; drop(): Promise<void> } | undefined;
  const postgres: Backend = {
    name: "postgres",
    url: async () => {
      database ??= await createPostgresDatabase(base, { migrated: true });
      return database.url;
    },
    cleanup: async () => database?.drop(),
  };
  return [pglite, postgres];
}

const temp = cliTempDir("reev-cli-interrupt-");

describe.each(backends(() => temp.dir))(`interrupted and crashed runs on $name (REEV_SIGNAL_SEED=${SEED})`, (backend) => {
  let url: string;
  const plan = cases(SEED + (backend.name === "pglite" ? 0 : 1));
  const runs = new Map<string, { executionId: string; pid: number }>(); // filled by interrupt()
  const reev = (...args: string[]) => runCli([...args, "--db", url], { cwd: temp.dir });

  beforeAll(async () => {
    url = await backend.url();
    // Created and migrated up front, so each run below starts on a ready database.
    await (await openDatabase({ url })).close();
  });
  afterAll(() => backend.cleanup());

  /** Runs case `c` and hits it with its signal at step K; checks what the run printed and how it exited. */
  async function interrupt(c: Case): Promise<void> {
    const run = startCli(["run", writeFlow(temp.dir, c), "--db", url], { cwd: temp.dir });
    const started = await run.waitForLine(/^▶ \S+: (exec_\S+) \(/);
    const executionId = started.match(/(exec_\S+)/)?.[1] as string;
    runs.set(c.name, { executionId, pid: run.pid });
    await run.waitForLine(new RegExp(`step ${c.hangAt} s${c.hangAt} started$`));
    run.child.kill(c.signal);
    const r = await run.done;
    if (c.signal === "SIGKILL") {
      expect(r.signal, show(r)).toBe("SIGKILL");
      return;
    }
    // 128 + the signal's number, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM.
    expect(r.code, show(r)).toBe(c.signal === "SIGINT" ? 130 : 143);
    expect(r.stderr).toContain(`Interrupted (${c.signal})`);
    expect(r.stderr).toMatch(new RegExp(`❌ failed step ${c.hangAt} s${c.hangAt} .* — interrupted \\(${c.signal}\\)$`, "m"));
    // The summary is printed, and says what happened once.
    expect(r.stdout).toContain(`⏹️ cancelled  ${c.name}  ${executionId}`);
    expect(r.stdout).toContain(`error: ${expected(c, run.pid).error}\n`);
    expect(r.stdout).toMatch(/consolidation: completed/);
  }

  // One test, not one per step: the cases, then list, recover and diagram over all of them, so no
  // test depends on another having run first.
  it(`${plan.map((c) => c.name).join(", ")}: each ends as its signal says; list, recover and diagram; every run final and consolidated`, async () => {
    for (const c of plan) await interrupt(c);

    // list marks the killed runs abandoned; recover --dry-run lists them and changes nothing; recover finishes them.
    const killed = plan.filter((c) => c.signal === "SIGKILL").map((c) => runs.get(c.name)!.executionId);
    expect(killed).toHaveLength(2);
    const list = await reev("list", "--json");
    expect(list.code, show(list)).toBe(0);
    const listed = new Map(
      (JSON.parse(list.stdout).executions as { executionId: string; status: string; abandoned: boolean }[]).map((e) => [e.executionId, e]),
    );
    for (const c of plan) {
      const e = listed.get(runs.get(c.name)!.executionId);
      expect(e, c.name).toMatchObject(
        c.signal === "SIGKILL" ? { status: "running", abandoned: true } : { status: "cancelled", abandoned: false },
      );
    }
    const table = await reev("list");
    // Its own glyph, not the running "…": nothing is going on.
    for (const id of killed) expect(table.stdout).toMatch(new RegExp(`^${id} .*⚠️ running \\(abandoned\\)`, "m"));
    // The command to run next, with the --db the list was given.
    expect(table.stdout).toMatch(/reev recover --db \S+ finishes such runs/);

    const dry = await reev("recover", "--dry-run", "--json");
    expect(dry.code, show(dry)).toBe(0);
    const wouldBe = JSON.parse(dry.stdout).runs as { executionId: string; status: string }[];
    expect(wouldBe.map((x) => x.executionId).sort()).toEqual([...killed].sort());
    expect(wouldBe.every((x) => x.status === "running")).toBe(true);

    const recovered = await reev("recover", "--json");
    expect(recovered.code, show(recovered)).toBe(0);
    const done = JSON.parse(recovered.stdout).runs as {
      executionId: string;
      status: string;
      error: string;
      rolledBackSteps: number;
      committedSteps: number;
      consolidation: { status: string };
    }[];
    for (const c of plan.filter((x) => x.signal === "SIGKILL")) {
      const { executionId, pid } = runs.get(c.name)!;
      const want = expected(c, pid);
      expect(
        done.find((x) => x.executionId === executionId),
        c.name,
      ).toMatchObject({
        status: "failed",
        error: want.error,
        // An atomic run's steps before K were pending in its transaction: rolled back.
        rolledBackSteps: c.atomic ? c.hangAt : 0,
        committedSteps: want.committed.length,
        consolidation: { status: "completed" },
      });
    }

    // Every run has a final status and a consolidation of exactly its committed steps, and draws.
    for (const c of plan) {
      const { executionId } = runs.get(c.name)!;
      const diagram = await reev("diagram", executionId);
      expect(diagram.code, show(diagram)).toBe(0);
      expect(diagram.stdout).toMatch(/^stateDiagram-v2/);
    }
    const db = await openDatabase({ url });
    try {
      for (const c of plan) {
        const { executionId, pid } = runs.get(c.name)!;
        const want = expected(c, pid);
        const execution = await db.writer.getExecutionSession(executionId);
        expect(execution, c.name).toMatchObject({
          status: want.status,
          error: want.error,
          openTransaction: null,
          consolidation: { status: "completed" },
        });
        const committed = await db.writer.getSessionsForConsolidation(executionId);
        expect(
          committed.map((s) => s.stepId),
          c.name,
        ).toEqual(want.committed);
        const [newest] = await db.writer.getConsolidatedSessionsByExecution(executionId);
        expect(newest?.originalSessionIds, c.name).toEqual(committed.map((s) => s.sessionId));
        if (c.signal !== "SIGKILL" && !c.atomic) {
          expect(committed.map((s) => [s.status, s.error]).slice(c.hangAt), c.name).toEqual([
            ["failed", `interrupted (${c.signal})`],
            ...stepIds(c.hangAt + 1, STEPS).map(() => ["skipped", `Skipped: interrupted (${c.signal})`]),
          ]);
        }
      }
    } finally {
      await db.close();
    }
    // ~17 CLI processes: ~40 s on an idle 2-core machine, four minutes at a load average of 25.
  }, 480_000);

  it("a live run is never touched: another process's recover leaves it running, and it ends on Ctrl-C", async () => {
    const c: Case = { name: `live-${backend.name}`, signal: "SIGINT", atomic: true, hangAt: 1 };
    const run = startCli(["run", writeFlow(temp.dir, c), "--db", url], { cwd: temp.dir });
    const executionId = (await run.waitForLine(/^▶ \S+: (exec_\S+) \(/)).match(/(exec_\S+)/)?.[1] as string;
    await run.waitForLine(/step 1 s1 started$/);
    const recover = await reev("recover", "--json");
    if (backend.name === "pglite") {
      // The embedded database is the live run's alone: a second process cannot even open it.
      expect(recover.code, show(recover)).not.toBe(0);
      expect(recover.stderr).toContain(`is in use by process ${run.pid}`);
    } else {
      expect(recover.code, show(recover)).toBe(0);
      expect(JSON.parse(recover.stdout).runs).toEqual([]);
      const list = await reev("list", "--json");
      expect((JSON.parse(list.stdout).executions as { executionId: string }[]).find((e) => e.executionId === executionId)).toMatchObject({
        status: "running",
        abandoned: false,
        stale: false,
      });
    }
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stdout).toContain(`⏹️ cancelled  ${c.name}  ${executionId}`);
  });
});
