/**
 * `pnpm bench` (issue 4 §1): reev's writer against the raw driver doing the same work, on the same
 * data and database, interleaved in one run — the step write path, a bulk import, consolidation at
 * growing sizes, concurrent executions, the CLI's cold start and the memory of consolidation — on
 * embedded PGlite, and on PostgreSQL when REEV_BENCH_DATABASE_URL is set. Progress goes to stderr,
 * the tables to stdout; results/latest.json and results/latest.html (results/smoke.* for a smoke
 * run) keep every number.
 * Exits non-zero when anything fails or any side stored other than exactly what it was asked to.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Backend, openPGliteDir, openPGliteMemory, openPostgres } from "./backends.js";
import { type BackendKey, type BenchConfig, benchConfig } from "./bench-config.js";
import { CleanupScope } from "./cleanup.js";
import { progress } from "./progress.js";
import { renderHtml } from "./report-html.js";
import { formatResults } from "./report-text.js";
import type { BackendResult, BenchResults } from "./results.js";
import { api } from "./scenario-api.js";
import { bulkImport } from "./scenario-bulk-import.js";
import { cli } from "./scenario-cli.js";
import { concurrency } from "./scenario-concurrency.js";
import { consolidation } from "./scenario-consolidation.js";
import { evaluation } from "./scenario-eval.js";
import { memory } from "./scenario-memory.js";
import { purge } from "./scenario-purge.js";
import { stepWritePath } from "./scenario-step-writes.js";
import { msSince, now } from "./stats.js";
import { checkTargets } from "./targets.js";
import { warmUp } from "./warm-up.js";

function open(scope: CleanupScope, key: BackendKey, config: BenchConfig): Promise<Backend> {
  if (key === "memory") return openPGliteMemory(scope);
  if (key === "dir") return openPGliteDir(scope);
  return openPostgres(scope, config.postgresUrl!);
}

async function measureBackend(key: BackendKey, config: BenchConfig): Promise<BackendResult> {
  const scope = new CleanupScope();
  try {
    progress(`[${key}] opening…`);
    const backend = await open(scope, key, config);
    const result: BackendResult = { key: backend.key, name: backend.name, description: backend.description };
    const wanted = new Set(config.scenarios);
    await warmUp(backend, config);
    if (wanted.has("steps")) result.steps = await stepWritePath(backend, config);
    if (wanted.has("bulk")) result.bulk = await bulkImport(backend, config);
    if (wanted.has("consolidation")) result.consolidation = await consolidation(backend, config);
    if (wanted.has("concurrency")) result.concurrency = await concurrency(backend, config);
    if (wanted.has("memory")) result.memory = await memory(scope, backend, config);
    if (wanted.has("api")) result.api = await api(scope, backend, config);
    if (wanted.has("eval")) result.evaluation = await evaluation(backend, config);
    if (wanted.has("purge")) result.purge = await purge(backend, config);
    return result;
  } finally {
    progress(`[${key}] closing…`);
    await scope.close();
  }
}

async function measureCli(config: BenchConfig): Promise<BenchResults["cli"]> {
  if (!config.scenarios.includes("cli")) return undefined;
  const scope = new CleanupScope();
  try {
    return await cli(scope, config);
  } finally {
    await scope.close();
  }
}

function machine(loadBefore: number): BenchResults["machine"] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown CPU",
    node: process.versions.node,
    platform: `${os.platform()} ${os.release()}`,
    totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
  };
}

async function main(): Promise<void> {
  const started = now();
  const loadBefore = os.loadavg()[0]!;
  const config = benchConfig(process.argv.slice(2), process.env);
  if (!(globalThis as { gc?: unknown }).gc)
    progress("note: run with node --expose-gc so the bench can collect garbage before each timed round");
  const postgresSkipped = config.postgresUrl
    ? null
    : "REEV_BENCH_DATABASE_URL is not set (set it to a server the bench may create a database on)";
  if (postgresSkipped) progress(`PostgreSQL not measured: ${postgresSkipped}`);
  const backends: BackendResult[] = [];
  for (const key of config.backends) backends.push(await measureBackend(key, config));
  const cliResult = await measureCli(config);
  const { postgresUrl: _, ...shownConfig } = config;
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: machine(loadBefore),
    config: shownConfig,
    postgresSkipped,
    backends,
    ...(cliResult ? { cli: cliResult } : {}),
    targets: checkTargets({ backends, cli: cliResult }),
    durationS: msSince(started) / 1000,
  };
  // A smoke run (CI) must not overwrite the last real measurement.
  const base = fileURLToPath(new URL(`../results/${config.smoke ? "smoke" : "latest"}`, import.meta.url));
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.html`, renderHtml(results));
  process.stdout.write(`\n${formatResults(results)}\n\n`);
  progress(`Done in ${results.durationS.toFixed(0)} s. Results: ${base}.json, ${base}.html`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
