/**
 * Property-based: the `reev` CLI entry, `main(argv, io)` in process, under random argv, random flow
 * files and random --db values, on a real database (a PGlite directory; PostgreSQL as well when
 * REEV_TEST_DATABASE_URL is set).
 *
 * Every call must resolve (never throw) to exit code 0, 1 or 2, print no stack trace, say what went
 * wrong on a failure ("reev: …"), and:
 *   - exit 2 (bad input) leaves every row of every table as it was, and prints nothing on stdout;
 *   - read-only commands never change a row, and on a healthy database never exit 1;
 *   - a flow file that passes validation is recorded completely and exactly (the execution, every
 *     step in order, the scripted tool calls, one consolidated session), whatever its content, and
 *     its diagrams land inside --out; one that does not pass exits 2 naming the file, having run
 *     nothing.
 * The working directory is a temporary one: relative paths a random argv may name stay inside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { type Database, EXECUTION_STATUSES, openDatabase } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { createPostgresDatabase, type TestBackend, testBackends } from "@reev/db/testing";
import { type FlowPlan, parseFlowPlan, pickAttempt, unscriptedSteps } from "@reev/orchestrator";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { diagramFileStem } from "../src/commands/run.js";
import { main } from "../src/main.js";
import { fixture } from "./support/run-cli.js";

/** Fixed for reproducible CI; REEV_FC_SEED / REEV_FC_RUNS explore further (fast-check prints the seed of a failure). */
const SEED = process.env.REEV_FC_SEED ? Number(process.env.REEV_FC_SEED) : 20_250_611;
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.REEV_FC_RUNS ?? 1)));

// ── Running the CLI in process ───────────────────────────────────────────────────────────────────

type Run = { argv: string[]; code: number; stdout: string; stderr: string; show: string };

/** A stack frame as Node prints one: "    at fn (file:line:col)". */
const STACK_FRAME = /^\s+at\s.+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

const printable = (s: string) => JSON.stringify(s).slice(1, -1);

function sink(onWrite: (text: string) => void): NodeJS.WriteStream {
  return {
    isTTY: false,
    columns: 100,
    write(chunk: string | Uint8Array, ...rest: unknown[]) {
      onWrite(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    },
  } as unknown as NodeJS.WriteStream;
}

/** Runs the CLI once and checks what every invocation owes its caller, whatever the input. */
async function reev(argv: string[], timeoutMs = 60_000): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const label = `reev ${argv.map(printable).join(" ")}`;
  let timer: NodeJS.Timeout | undefined;
  let code: unknown;
  try {
    code = await Promise.race([
      main(argv, { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    expect.fail(`${label} threw instead of exiting: ${error instanceof Error ? error.stack : String(error)}\n--- stderr\n${stderr}`);
  } finally {
    clearTimeout(timer);
  }
  const show = `${label}\n--- exit ${String(code)}\n--- stdout\n${stdout.slice(0, 3000)}\n--- stderr\n${stderr.slice(0, 3000)}`;
  expect([0, 1, 2], show).toContain(code);
  expect(stderr, `${show}\n(a stack trace was printed)`).not.toMatch(STACK_FRAME);
  expect(stdout, `${show}\n(a stack trace was printed)`).not.toMatch(STACK_FRAME);
  const ranAndFailed = argv[0] === "run" && code === 1 && /^\S+ (failed|timed_out|rolled_back)\s/mu.test(stdout);
  if (code !== 0 && !ranAndFailed) expect(stderr, `${show}\n(a failure must say what went wrong)`).toMatch(/^reev: \S/m);
  if (code === 2) expect(stdout, `${show}\n(bad input printed results)`).toBe("");
  return { argv, code: code as number, stdout, stderr, show };
}

// ── The database, table by table ─────────────────────────────────────────────────────────────────

type Tables = {
  executions: Record<string, unknown>[];
  steps: Record<string, unknown>[];
  toolCalls: Record<string, unknown>[];
  attempts: Record<string, unknown>[];
  consolidated: Record<string, unknown>[];
};

async function readTables(db: Database): Promise<Tables> {
  return {
    executions: await prismaClientOf(db).executionSession.findMany({ orderBy: { executionId: "asc" } }),
    steps: await prismaClientOf(db).stepSession.findMany({ orderBy: { sessionId: "asc" } }),
    toolCalls: await prismaClientOf(db).toolCall.findMany({
      orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }, { callIndex: "asc" }],
    }),
    attempts: await prismaClientOf(db).stepAttempt.findMany({
      orderBy: [{ executionId: "asc" }, { stepIndex: "asc" }, { attempt: "asc" }],
    }),
    consolidated: await prismaClientOf(db).consolidatedSession.findMany({ orderBy: { id: "asc" } }),
  };
}

/** One backend's database as the CLI sees it (`--db target`) and as the test reads it. */
type Target = { name: string; target: string; tables(): Promise<Tables>; close(): Promise<void> };

async function openTarget(backend: TestBackend, dir: string): Promise<Target> {
  if (backend.name === "pglite") {
    // A PGlite directory admits one process (and one open) at a time: open it only between CLI calls.
    const target = join(dir, "db-pglite");
    return {
      name: backend.name,
      target,
      tables: async () => {
        const db = await openDatabase({ url: target, migrate: false });
        try {
          return await readTables(db);
        } finally {
          await db.close();
        }
      },
      close: async () => {},
    };
  }
  const created = await createPostgresDatabase(backend.url, { migrated: true });
  let reader: Database | undefined;
  return {
    name: backend.name,
    target: created.url,
    tables: async () => {
      reader ??= await openDatabase({ url: created.url, migrate: false });
      return readTables(reader);
    },
    close: async () => {
      await reader?.close();
      await created.drop();
    },
  };
}

// ── Generators ───────────────────────────────────────────────────────────────────────────────────

const utf16 = fc.nat(0xffff).map((c) => String.fromCharCode(c));
const nastyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: utf16, maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "\u0000",
      "x\uD800",
      "\uDFFF",
      "'; DROP TABLE step_sessions; --",
      '"quoted" \\ back\\slash',
      "😀🧪👩‍👩‍👧",
      "\uFEFFbom",
      "\u2028",
      "{{previous.response}}",
      "{{steps.a.toolCalls[0].output.sol}}",
      "{{context.constructor}}",
      "{{ }}",
      "%s",
      "x".repeat(300),
    ),
  },
);
/** Relative, single-segment names: a random --out or --db must never point outside the working directory. */
const safeSegment = nastyText.map((s) => `p-${s.replace(/[/\\\u0000]/g, "_").slice(0, 40)}`);
const numberText = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "2",
    "-1",
    "-0",
    "1.5",
    "NaN",
    "Infinity",
    "1e3",
    "1e21",
    "2147483648",
    "9007199254740993",
    "0x10",
    " 7",
    "",
    "1_000",
    "+5",
    "٣",
    "1000",
    "1001",
    "3000000000",
  ),
  fc.integer().map(String),
  fc.double().map(String),
);
// --repeat multiplies the executions: a large valid count only makes a run long (see the report), so
// random values stay small or invalid; the huge ones are pinned in examples where they fail fast.
const repeatText = fc.constantFrom("0", "1", "2", "-1", "1.5", "NaN", "abc", "", " 2");

// ── Random flow documents ────────────────────────────────────────────────────────────────────────

type Doc = Record<string, unknown>;
const idText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: nastyText },
  {
    weight: 1,
    arbitrary: fc.constantFrom("a/../../../escaped", "a/b", "..", "x".repeat(256), "😀".repeat(120), "é".repeat(200)),
  },
);
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(nastyText, fc.oneof(nastyText, fc.double(), fc.constant(null)), { maxKeys: 3, noNullPrototype: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, "\u0000", { k: "\uD800" }),
);
const toolCallDoc = fc.record(
  {
    toolName: idText,
    input: jsonish,
    output: jsonish,
    success: fc.boolean(),
    // Valid durations are played by the scripted agent, so the valid ones stay short.
    durationMs: fc.oneof(fc.nat(50), fc.constantFrom(2 ** 31, -1, 1.5)),
    error: nastyText,
  },
  { requiredKeys: ["toolName"] },
);
const attemptDoc = fc.record(
  {
    delayMs: fc.oneof(fc.nat(3), fc.constantFrom(-1, 1.5)),
    response: nastyText,
    toolCalls: fc.array(toolCallDoc, { maxLength: 2 }),
    score: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(1.5, -0.1)),
    fail: nastyText,
    hang: fc.constant(true),
  },
  { requiredKeys: [] },
);
const stepDoc = fc.record(
  {
    stepId: idText,
    prompt: nastyText,
    requiredTools: fc.array(idText, { maxLength: 2 }),
    critical: fc.boolean(),
    // Valid timeouts are short (a hanging step waits for its timeout); invalid ones fail validation.
    timeoutMs: fc.oneof(fc.integer({ min: 20, max: 120 }), fc.constantFrom(0, -5, 1.5, "100")),
    retry: fc.record({
      attempts: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 1.5)),
      backoffMs: fc.oneof(fc.nat(5), fc.constant(-1)),
      maxBackoffMs: fc.oneof(fc.nat(10), fc.constant(-1)),
    }),
    script: fc.array(attemptDoc, { maxLength: 3 }),
  },
  { requiredKeys: ["stepId", "prompt"] },
);
const planDoc: fc.Arbitrary<Doc> = fc.record(
  {
    flowId: idText,
    prompt: nastyText,
    context: fc.dictionary(fc.string({ maxLength: 6 }), jsonish, { maxKeys: 3, noNullPrototype: true }),
    atomic: fc.boolean(),
    steps: fc.array(stepDoc, { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: ["flowId", "prompt", "steps"] },
);
/** A document as written, with a field dropped, a typo'd extra field, or a field of the wrong type. */
const mutatedPlan: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: planDoc },
  {
    weight: 1,
    arbitrary: fc
      .tuple(planDoc, fc.constantFrom("flowId", "prompt", "steps"))
      .map(([d, k]) => Object.fromEntries(Object.entries(d).filter(([key]) => key !== k))),
  },
  { weight: 1, arbitrary: fc.tuple(planDoc, fc.constantFrom("retyr", "Steps", "flow_id")).map(([d, k]) => ({ ...d, [k]: 1 })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(planDoc, fc.constantFrom("flowId", "steps", "atomic", "context"), fc.jsonValue({ maxDepth: 1 }))
      .map(([d, k, v]) => ({ ...d, [k]: v })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A hang waits for the step's timeout: keep it only where a short valid timeout is set, or runs take 30 s. */
function boundHangs(doc: unknown): unknown {
  if (!doc || typeof doc !== "object" || !Array.isArray((doc as Doc).steps)) return doc;
  const steps = ((doc as Doc).steps as unknown[]).map((step) => {
    if (!step || typeof step !== "object" || !Array.isArray((step as Doc).script)) return step;
    const timeout = (step as Doc).timeoutMs;
    const short = Number.isInteger(timeout) && (timeout as number) > 0 && (timeout as number) <= 1_000;
    return short
      ? step
      : { ...step, script: ((step as Doc).script as Doc[]).map((a) => (a && typeof a === "object" ? { ...a, hang: false } : a)) };
  });
  return { ...(doc as Doc), steps };
}

/**
 * Flows that must pass validation: every field valid, the agent's own words (responses, failures,
 * tool-call JSON) as hostile as the rest, since the executor must record whatever an agent says.
 */
const cleanText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(
    "'; DROP TABLE step_sessions; --",
    '"quoted" \\ back\\slash',
    "😀🧪👩‍👩‍👧",
    "\u2028",
    "%s",
    "{{previous.response}}",
    "{{steps.s0.toolCalls[0].output}}",
    "{{context.k}}",
    "{{nope}}",
  ),
);
const cleanId = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("a/../../../escaped", "a/b", "..", "é".repeat(200), "😀".repeat(120), "'; DROP TABLE x; --", "\\"),
  },
);
const agentJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(cleanText, fc.oneof(nastyText, fc.double(), fc.constant(null)), { maxKeys: 3, noNullPrototype: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, "\u0000", "\uD800", [undefined]),
);
const cleanToolCall = fc.record(
  {
    toolName: cleanId,
    input: agentJson,
    output: agentJson,
    success: fc.boolean(),
    // Played, not copied: the scripted agent waits this long, so keep it short (storability of large
    // durations is the database tests' business).
    durationMs: fc.nat(3),
    error: nastyText,
  },
  { requiredKeys: ["toolName"] },
);
const cleanStep = (hangs: boolean) =>
  fc.record(
    {
      stepId: cleanId,
      prompt: cleanText,
      requiredTools: fc.array(cleanId, { maxLength: 2 }),
      critical: fc.boolean(),
      timeoutMs: fc.integer({ min: 20, max: 120 }),
      retry: fc.integer({ min: 0, max: 5 }).chain((backoffMs) =>
        fc.record({
          attempts: fc.integer({ min: 1, max: 3 }),
          backoffMs: fc.constant(backoffMs),
          maxBackoffMs: fc.integer({ min: backoffMs, max: 10 }),
        }),
      ),
      script: fc.array(
        fc.record(
          {
            delayMs: fc.nat(3),
            response: nastyText,
            toolCalls: fc.array(cleanToolCall, { maxLength: 2 }),
            score: fc.double({ min: 0, max: 1, noNaN: true }),
            fail: nastyText,
            hang: fc.constant(hangs),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: hangs ? ["stepId", "prompt", "timeoutMs"] : ["stepId", "prompt"] },
  );
const cleanPlan: fc.Arbitrary<Doc> = fc.record(
  {
    flowId: cleanId,
    prompt: cleanText,
    context: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3, noNullPrototype: true }),
    atomic: fc.boolean(),
    steps: fc.uniqueArray(fc.oneof({ weight: 4, arbitrary: cleanStep(false) }, { weight: 1, arbitrary: cleanStep(true) }), {
      minLength: 1,
      maxLength: 4,
      selector: (st) => st.stepId,
    }),
  },
  { requiredKeys: ["flowId", "prompt", "steps"] },
);

const flowFile = fc.record({
  doc: fc.oneof({ weight: 3, arbitrary: cleanPlan }, { weight: 2, arbitrary: mutatedPlan }).map(boundHangs),
  format: fc.constantFrom("yaml", "yml", "json", "txt", "raw"),
  raw: fc.string({ unit: "binary", maxLength: 60 }),
});

function writeFlow(dir: string, n: number, file: { doc: unknown; format: string; raw: string }): { path: string; text: string } {
  const ext = file.format === "raw" ? "yaml" : file.format;
  const text = file.format === "raw" ? file.raw : file.format === "json" ? (JSON.stringify(file.doc) ?? "null") : toYaml(file.doc);
  const path = join(dir, `flow-${n}.${ext}`);
  writeFileSync(path, text);
  return { path, text };
}

// ── What a valid flow must leave in the database ─────────────────────────────────────────────────

/** What the executor stores for an agent's value: JSON, with NUL and lone surrogates as U+FFFD, in keys too. */
const storable = (text: string) => text.replaceAll("\u0000", "\ufffd").toWellFormed();
const scrubbed = (v: unknown): unknown =>
  typeof v === "string"
    ? storable(v)
    : Array.isArray(v)
      ? v.map(scrubbed)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), scrubbed(x)]))
        : v;
const asRecorded = (value: unknown): unknown => (value === undefined ? null : scrubbed(JSON.parse(JSON.stringify(value) ?? "null")));

function expectRecorded(plan: FlowPlan, repeat: number, before: Tables, after: Tables, r: Run, outDir: string): void {
  expect(r.stdout, `${r.show}\n(a flow that passed validation could not be recorded)`).not.toMatch(/could not (be )?record/);
  const known = new Set(before.executions.map((e) => e.executionId));
  const added = after.executions.filter((e) => !known.has(e.executionId));
  expect(added, r.show).toHaveLength(repeat);
  for (const e of added) {
    const what = `${r.show}\n--- execution ${String(e.executionId)}`;
    expect(
      {
        flowId: e.flowId === plan.flowId,
        prompt: e.prompt === plan.prompt,
        agent: e.agent,
        open: e.openTransactionId,
        metadata: e.metadata,
      },
      what,
    ).toEqual({
      flowId: true,
      prompt: true,
      agent: "scripted",
      open: null,
      metadata: { atomic: plan.atomic, steps: plan.steps.map((s) => s.stepId) },
    });
    expect(["completed", "failed", "timed_out", "rolled_back"], what).toContain(e.status);
    const steps = after.steps
      .filter((s) => s.executionId === e.executionId)
      .sort((a, b) => (a.stepIndex as number) - (b.stepIndex as number));
    if (e.status === "rolled_back") {
      expect(plan.atomic, what).toBe(true);
      expect(steps, what).toEqual([]);
      continue;
    }
    // Every step, in order, committed, under its own id; the skipped ones too.
    expect(
      steps.map((s) => [s.stepIndex, s.stepId, s.state]),
      what,
    ).toEqual(plan.steps.map((s, i) => [i, s.stepId, "committed"]));
    for (const [i, row] of steps.entries()) {
      const step = plan.steps[i]!;
      const attempts = after.attempts.filter((a) => a.executionId === e.executionId && a.stepIndex === row.stepIndex);
      // Every attempt recorded, numbered 1…n; a skipped step has none.
      expect(
        attempts.map((a) => a.attempt),
        what,
      ).toEqual(attempts.map((_, n) => n + 1));
      if (row.status === "skipped") expect(attempts, what).toEqual([]);
      else expect(attempts.at(-1)?.status, what).toBe(row.status);
      const recorded = { status: row.status as string, attempts: attempts.length };
      const calls = after.toolCalls
        // The last attempt's calls: the ones that made a successful step succeed.
        .filter((c) => c.executionId === row.executionId && c.stepIndex === row.stepIndex && c.attempt === recorded.attempts)
        .sort((a, b) => (a.callIndex as number) - (b.callIndex as number))
        .map((c) => ({
          toolName: c.toolName,
          input: c.input,
          output: c.output,
          success: c.success,
          error: c.error,
        }));
      if (recorded.status !== "success") continue;
      // A successful step's tool calls are the script's for its last attempt, or one per required tool.
      const attempt = pickAttempt(step.script ?? [], recorded.attempts);
      const expected = attempt?.toolCalls
        ? attempt.toolCalls.map((c) => ({
            toolName: storable(c.toolName),
            input: asRecorded(c.input ?? {}),
            output: asRecorded(c.output ?? null),
            success: c.success,
            error: c.error === undefined ? null : storable(c.error),
          }))
        : step.requiredTools.map((t) => ({
            toolName: storable(t),
            input: {},
            output: { ok: true },
            success: true,
            error: null,
          }));
      expect(calls, `${what}\n--- step ${i}`).toEqual(expected);
      // Durations are measured as the calls are played: at least the script's, never beyond the step.
      const measured = after.toolCalls.filter(
        (c) => c.executionId === row.executionId && c.stepIndex === row.stepIndex && c.attempt === recorded.attempts,
      );
      const scripted = attempt?.toolCalls?.map((c) => c.durationMs) ?? measured.map(() => 0);
      for (const [n, c] of measured.entries()) {
        expect(c.durationMs as number, `${what}\n--- step ${i} call ${n}`).toBeGreaterThanOrEqual(scripted[n] ?? 0);
      }
      expect(
        measured.reduce((sum, c) => sum + (c.durationMs as number), 0),
        `${what}\n--- step ${i}`,
      ).toBeLessThanOrEqual(row.durationMs as number);
    }
    // Consolidated once, and drawn inside --out.
    const consolidated = after.consolidated.filter((c) => c.executionId === e.executionId);
    expect(consolidated, what).toHaveLength(1);
    expect(e.consolidationStatus, what).toBe("completed");
    const stem = diagramFileStem(e.executionId as string);
    for (const ext of [".mmd", ".html"])
      expect(existsSync(join(outDir, stem + ext)), `${what}\n--- ${stem}${ext} not in ${outDir}`).toBe(true);
  }
  const listed = [...r.stdout.matchAll(/^ {2}(\/.+\.(?:mmd|html))$/gm)].map((m) => m[1] as string);
  for (const path of listed) expect(path.startsWith(resolve(outDir) + sep), `${r.show}\n--- ${path} is outside --out ${outDir}`).toBe(true);
  const completed = added.every((e) => e.status === "completed");
  expect(r.code, `${r.show}\n(exit 0 exactly when every run completed)`).toBe(completed ? 0 : 1);
}

// ── The properties ───────────────────────────────────────────────────────────────────────────────

describe.each(testBackends())("the reev CLI under hostile input on $name", (backend) => {
  let dir: string;
  let home: string;
  let db: Target;
  let seeded: { executionId: string; consolidatedId: string };
  let flows = 0;
  const savedUrl = process.env.REEV_DATABASE_URL;

  beforeAll(async () => {
    home = process.cwd();
    dir = mkdtempSync(join(tmpdir(), `reev-cli-property-${backend.name}-`));
    // Relative paths in random argv (flow files, --out, the default ./.reev/db) resolve in here.
    process.chdir(dir);
    delete process.env.REEV_DATABASE_URL;
    db = await openTarget(backend, dir);
    const seed = await reev(["run", fixture("succeeds.yaml"), "--db", db.target, "--out", "seed-out"]);
    expect(seed.code, seed.show).toBe(0);
    const executionId = seed.stdout.match(/^\S+ \S+ {2}\S+ {2}(exec_\S+)$/m)?.[1];
    const consolidatedId = seed.stdout.match(/consolidation: completed \((\S+)\)/)?.[1];
    expect(executionId && consolidatedId, seed.show).toBeTruthy();
    seeded = { executionId: executionId!, consolidatedId: consolidatedId! };
    mkdirSync(join(dir, "existing-dir"));
  });

  afterAll(async () => {
    process.chdir(home);
    if (savedUrl !== undefined) process.env.REEV_DATABASE_URL = savedUrl;
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("random argv: exit 0/1/2 with a message, never a stack trace; reads never write; bad input writes nothing", async () => {
    const positional = fc.oneof(
      fc.constantFrom(
        "EXECUTION",
        "CONSOLIDATED",
        fixture("succeeds.yaml"),
        fixture("invalid-retry.yaml"),
        fixture("also-succeeds.json"),
        "no-such-flow.yaml",
        "existing-dir",
        "-",
      ),
      nastyText.filter((s) => !/^--?(db|out|tools)/.test(s)),
    );
    const flag = fc.oneof(
      fc.tuple(fc.constant("--status"), fc.oneof(fc.constantFrom(...EXECUTION_STATUSES, "done", "RUNNING"), nastyText)),
      fc.tuple(fc.constantFrom("--limit", "--offset", "--older-than", "--concurrency"), numberText),
      fc.tuple(fc.constant("--repeat"), repeatText),
      fc.tuple(fc.constant("--format"), fc.oneof(fc.constantFrom("mmd", "html", "json", "jsonl", "xml", "JSON", ""), nastyText)),
      fc.tuple(
        fc.constant("--out"),
        fc.oneof(safeSegment, fc.constantFrom("existing-dir", "existing-dir/file.out", "missing-dir/file.out")),
      ),
      fc.tuple(
        fc.constant("--agent"),
        fc.oneof(
          fc.constant("scripted"),
          nastyText.filter((s) => s !== "openai"),
        ),
      ),
      fc.tuple(fc.constant("--tools"), fc.constantFrom("./no-such-tools.mjs", "")),
      fc.constantFrom(
        ["--dry-run"],
        ["--no-consolidate"],
        ["-h"],
        ["--help"],
        ["--frobnicate"],
        ["-x"],
        ["--dry-run=yes"],
        ["--limit"],
        ["--"],
      ),
    );
    const argvArb = fc.record({
      command: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom("list", "evaluations", "show", "status", "diagram", "export", "recover", "run", "help", "--help", ""),
        },
        { weight: 1, arbitrary: nastyText.filter((s) => s !== "demo" && !/^--?(db|out|tools)/.test(s)) },
      ),
      tail: fc.array(
        fc.oneof(
          flag,
          positional.map((p) => [p]),
        ),
        { maxLength: 5 },
      ),
    });
    let before = await db.tables();
    await fc.assert(
      fc.asyncProperty(argvArb, async ({ command, tail }) => {
        const args = tail.flat().map((a) => (a === "EXECUTION" ? seeded.executionId : a === "CONSOLIDATED" ? seeded.consolidatedId : a));
        // --db right after the command, so a random "--" in the tail cannot turn it into a positional.
        const r = await reev([command, "--db", db.target, ...args]);
        const after = await db.tables();
        if (command === "run" && r.code !== 2 && !args.includes("--help") && !args.includes("-h")) {
          // Only the fixture flows can be valid here (random paths do not exist); each run is recorded.
          expect(r.stdout, r.show).not.toMatch(/could not (be )?record/);
          const known = new Set(before.executions.map((e) => e.executionId));
          const added = after.executions.filter((x) => !known.has(x.executionId));
          for (const e of added) {
            expect(e.status, r.show).not.toBe("running");
            expect(e.openTransactionId, r.show).toBeNull();
          }
          // Exit 1 means a run failed; input the CLI could not use is exit 2. Only writing the
          // diagrams into an unusable --out may fail after every run completed.
          if (r.code === 1 && !/^reev: Cannot write /m.test(r.stderr)) {
            expect(
              added.some((e) => e.status !== "completed"),
              `${r.show}
(exit 1, yet no run failed)`,
            ).toBe(true);
          }
        } else {
          expect(after, `${r.show}\n(changed the tables)`).toEqual(before);
          // A healthy database and a read: nothing can fail but the input (or writing an --out file).
          if (!args.includes("--out")) expect(r.code, `${r.show}\n(exit 1 for a read on a healthy database)`).not.toBe(1);
        }
        before = after;
      }),
      {
        seed: SEED,
        numRuns: runs(12),
        endOnFailure: true,
        examples: [
          // Numbers the flag parser accepts but nothing downstream can use.
          [{ command: "recover", tail: [["--older-than", "100000000000000000000d"]] }],
          [{ command: "list", tail: [["--offset", "3000000000"]] }],
          [{ command: "run", tail: [[fixture("succeeds.yaml")], ["--repeat", "4294967296"], ["--out", "p-x"]] }],
          [{ command: "show", tail: [["x\u0000"]] }],
          [{ command: "export", tail: [["EXECUTION"], ["--format", "jsonl"], ["--out", "existing-dir/file.out"]] }],
        ],
      },
    );
  }, 240_000);

  it("random flow files: a valid one is recorded exactly and completely, an invalid one exits 2 naming it and runs nothing", async () => {
    let before = await db.tables();
    await fc.assert(
      fc.asyncProperty(
        flowFile,
        fc.constantFrom(1, 2),
        fc.constantFrom("1", "2", "4"),
        fc.boolean(),
        async (file, repeat, concurrency, consolidate) => {
          const { path } = writeFlow(dir, ++flows, file);
          // What the CLI will read: writing a lone surrogate to disk already turns it into U+FFFD.
          const text = readFileSync(path, "utf8");
          const outDir = join(dir, `out-${flows}`);
          let plan: FlowPlan | undefined;
          try {
            plan = parseFlowPlan(text, path);
          } catch {
            plan = undefined;
          }
          // The scripted agent cannot replay a step without a script: the run is refused like a bad file.
          if (plan && unscriptedSteps(plan).length) plan = undefined;
          const argv = [
            "run",
            path,
            "--db",
            db.target,
            "--out",
            outDir,
            "--repeat",
            String(repeat),
            "--concurrency",
            concurrency,
            ...(consolidate ? [] : ["--no-consolidate"]),
          ];
          const r = await reev(argv);
          const after = await db.tables();
          if (!plan) {
            expect(r.code, `${r.show}\n--- flow file\n${text}`).toBe(2);
            expect(r.stderr, r.show).toContain(path);
            expect(after, `${r.show}\n(an invalid flow changed the tables)`).toEqual(before);
            expect(existsSync(outDir), `${r.show}\n(an invalid flow wrote diagrams)`).toBe(false);
          } else if (consolidate) {
            expect(r.code, `${r.show}\n--- flow file\n${text}`).not.toBe(2);
            expectRecorded(plan, repeat, before, after, r, outDir);
          } else {
            expect(r.code, `${r.show}\n--- flow file\n${text}`).not.toBe(2);
            expect(r.stdout, r.show).not.toMatch(/could not (be )?record/);
            const known = new Set(before.executions.map((e) => e.executionId));
            const added = after.executions.filter((e) => !known.has(e.executionId));
            expect(
              added.map((e) => [e.flowId === plan.flowId, e.status === "running", e.openTransactionId]),
              r.show,
            ).toEqual(added.map(() => [true, false, null]));
            expect(added, r.show).toHaveLength(repeat);
          }
          before = after;
        },
      ),
      {
        seed: SEED,
        numRuns: runs(10),
        endOnFailure: true,
        examples: [
          // A flowId that is a path: the diagrams must stay inside --out (they were written to ../../..).
          [
            {
              doc: { flowId: "a/../../../escaped", prompt: "p", steps: [{ stepId: "s", prompt: "x", script: [{}] }] },
              format: "json",
              raw: "",
            },
            1,
            "1",
            true,
          ],
          [
            { doc: { flowId: "a/b", prompt: "p", steps: [{ stepId: "s", prompt: "x", script: [{}] }] }, format: "yaml", raw: "" },
            1,
            "1",
            true,
          ],
          [
            { doc: { flowId: "é".repeat(200), prompt: "p", steps: [{ stepId: "s", prompt: "x", script: [{}] }] }, format: "yaml", raw: "" },
            1,
            "1",
            true,
          ],
          // Valid-looking flows the database cannot store: now refused up front, naming the field.
          [{ doc: { flowId: "a\u0000b", prompt: "p", steps: [{ stepId: "s", prompt: "x" }] }, format: "json", raw: "" }, 1, "1", true],
          [{ doc: { flowId: "f", prompt: "p\uD800", steps: [{ stepId: "s\u0000", prompt: "x" }] }, format: "json", raw: "" }, 1, "1", true],
          [
            {
              doc: {
                flowId: "f",
                prompt: "p",
                steps: [{ stepId: "s", prompt: "x", script: [{ toolCalls: [{ toolName: "t", durationMs: 2 ** 31 }] }] }],
              },
              format: "yaml",
              raw: "",
            },
            1,
            "1",
            true,
          ],
          [
            {
              doc: { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x", requiredTools: ["t".repeat(300)] }] },
              format: "yaml",
              raw: "",
            },
            1,
            "1",
            true,
          ],
          // Tool-call JSON the agent returned with keys jsonb cannot hold.
          [
            {
              doc: {
                flowId: "f",
                prompt: "p",
                steps: [{ stepId: "s", prompt: "x", script: [{ toolCalls: [{ toolName: "t", input: { "k\u0000": 1 } }] }] }],
              },
              format: "json",
              raw: "",
            },
            1,
            "1",
            true,
          ],
        ],
      },
    );
  }, 240_000);

  // The random targets never touch this backend's database; run on each, that is checked for each.
  it("random --db values: an unusable one is bad input (exit 2) unless a server is unreachable (exit 1)", async () => {
    writeFileSync(join(dir, "a-regular-file"), "not a database");
    mkdirSync(join(dir, "not-a-db"), { recursive: true });
    writeFileSync(join(dir, "not-a-db", "README"), "something else");
    const before = await db.tables();
    const dbValue = fc.oneof(
      fc.constantFrom(
        "",
        " ",
        "mysql://root@localhost/reev",
        "sqlite:///tmp/x.db",
        "http://example.invalid/db",
        "file://host/x",
        "a-regular-file",
        "a-regular-file/sub",
        "file:a-regular-file/sub",
        "not-a-db",
        "nul\u0000dir",
        "postgresql://postgres@127.0.0.1:1/unreachable",
      ),
    );
    // A fresh directory becomes a new database (seconds each): drawn one time in five.
    const anyDb = fc.oneof({ weight: 4, arbitrary: dbValue }, { weight: 1, arbitrary: safeSegment.map((s) => `./fresh/${s}`) });
    const command = fc.constantFrom(["list"], ["show", "exec_x"], ["status", "exec_x"], ["recover", "--dry-run"], ["export", "exec_x"]);
    await fc.assert(
      fc.asyncProperty(command, anyDb, async (cmd, value) => {
        const r = await reev([...cmd, "--db", value]);
        if (/^postgres(ql)?:\/\//.test(value)) expect(r.code, r.show).toBe(1);
        else expect(r.code, `${r.show}\n(an unusable --db is bad input)`).not.toBe(1);
      }),
      {
        seed: SEED,
        numRuns: runs(10),
        endOnFailure: true,
        examples: [
          [["list"], "a-regular-file"],
          [["list"], "file://host/x"],
          [["list"], "nul\u0000dir"],
          [["list"], "a-regular-file/sub"],
        ],
      },
    );
    // The random targets never included this database.
    expect(await db.tables()).toEqual(before);
  }, 240_000);
});
