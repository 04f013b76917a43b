/**
 * `pnpm bench`: reev's step write path (DatabaseWriter on Prisma interactive transactions) against
 * the raw driver doing the same work, side by side, on in-memory PGlite, PGlite in a directory and
 * PostgreSQL, in one run. Prints a table, writes results/latest.json and results/latest.html.
 * Progress goes to stderr, the table to stdout.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { type Backend, checkPostgres, pgliteDirBackend, pgliteMemoryBackend, postgresBackend, postgresBaseUrl } from "./backends.js";
import { type BenchConfig, CASES } from "./cases.js";
import { CleanupScope } from "./cleanup.js";
import { progress } from "./progress.js";
import { renderHtml } from "./report-html.js";
import { formatResults } from "./report-text.js";
import type { BackendResult, BenchResults } from "./results.js";
import { runCase, warmUp } from "./run-case.js";
import { msSince, now } from "./stats.js";

function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

const config: BenchConfig = {
  steps: intFromEnv("REEV_BENCH_STEPS", 300),
  rounds: intFromEnv("REEV_BENCH_ROUNDS", 3),
  concurrency: intFromEnv("REEV_BENCH_CONCURRENCY", 8),
  txSteps: intFromEnv("REEV_BENCH_TX_STEPS", 100),
  warmup: intFromEnv("REEV_BENCH_WARMUP", 200),
};

/** `REEV_BENCH_BACKENDS=memory,dir,postgres` (default: all three) picks backends. */
const wanted = new Set((process.env.REEV_BENCH_BACKENDS ?? "memory,dir,postgres").split(",").map((s) => s.trim()));


type BackendPlan = { key: string; name: string; open(scope: CleanupScope): Promise<Backend> } | { key: string; name: string; skipped: string };

async function plan(): Promise<BackendPlan[]> {
  const plans: BackendPlan[] = [];
  if (wanted.has("memory")) plans.push({ key: "pglite-memory", name: "PGlite in-memory", open: pgliteMemoryBackend });
  if (wanted.has("dir")) plans.push({ key: "pglite-dir", name: "PGlite directory", open: pgliteDirBackend });
  if (wanted.has("postgres")) {
    const { url, explicit } = postgresBaseUrl();
    try {
      const version = await checkPostgres(url);
      plans.push({ key: "postgres", name: `PostgreSQL ${version}`, open: (scope) => postgresBackend(scope, url, version) });
    } catch (error) {
      const reason = `cannot connect to ${url.replace(/:[^:@/]*@/, ":***@")}: ${(error as Error).message}`;
      // Asked for by name: failing to reach it is an error. Only guessed: say so and go on.
      if (explicit) throw new Error(`PostgreSQL: ${reason}`);
      progress(`PostgreSQL skipped: ${reason} (set REEV_BENCH_DATABASE_URL to measure it)`);
      plans.push({ key: "postgres", name: "PostgreSQL", skipped: `${reason}; set REEV_BENCH_DATABASE_URL or REEV_TEST_DATABASE_URL` });
    }
  }
  return plans;
}

async function measure(p: Extract<BackendPlan, { open: unknown }>): Promise<BackendResult> {
  const scope = new CleanupScope();
  try {
    progress(`[${p.key}] opening…`);
    const backend = await p.open(scope);
    await warmUp(backend, config);
    const cases = [];
    for (const c of CASES) cases.push(await runCase(backend, c, config));
    return { key: backend.key, name: backend.name, description: backend.description, cases };
  } finally {
    progress(`[${p.key}] closing…`);
    await scope.close();
  }
}

async function main(): Promise<void> {
  const started = now();
  const loadBefore = os.loadavg()[0]!;
  const backends: BackendResult[] = [];
  for (const p of await plan()) {
    backends.push("skipped" in p ? { key: p.key, name: p.name, description: "", skipped: p.skipped, cases: [] } : await measure(p));
  }
  const cpus = os.cpus();
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? "unknown CPU",
      node: process.versions.node,
      platform: `${os.platform()} ${os.release()}`,
      totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
    },
    config,
    backends,
    durationS: msSince(started) / 1000,
  };
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${dir}latest.html`, renderHtml(results));
  process.stdout.write(`\n${formatResults(results)}\n\n`);
  progress(`Done in ${results.durationS.toFixed(0)} s. Results: ${dir}latest.json, ${dir}latest.html`);
  if (!(globalThis as { gc?: unknown }).gc) progress("note: run with node --expose-gc so the bench can collect garbage between cases");
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
