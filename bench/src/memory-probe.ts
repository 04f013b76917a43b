/**
 * A child process of the memory scenario (§1.6): opens the database, does one thing, and reports its
 * own peak RSS (`process.resourceUsage().maxRSS`) as one JSON line on stdout. Modules are loaded on
 * demand, so a raw child carries no Prisma and no orchestrator.
 *
 *   node memory-probe.js <mode> <database URL or PGlite directory> <executionId> <expected steps>
 *
 * Modes: writer-open (openDatabase, nothing else), consolidate (openDatabase + consolidateExecution),
 * raw-open (the raw driver connects), raw-select (the raw driver reads the same rows).
 */
import { PROBE_MODES, type ProbeMode, type ProbeReport } from "./memory-probe-protocol.js";
import type { RawDriver } from "./raw-driver.js";
import { msSince, now } from "./stats.js";
import { TOOL_CALLS_PER_STEP } from "./step-fixtures.js";

const isPostgres = (url: string) => /^postgres(ql)?:\/\//i.test(url);

async function openRaw(url: string): Promise<{ driver: RawDriver; close(): Promise<void> }> {
  const { pgClientDriver, pgliteDriver } = await import("./raw-driver.js");
  if (isPostgres(url)) {
    const driver = await pgClientDriver(url);
    return { driver, close: () => driver.close() };
  }
  const { newPGlite } = await import("@reev/db/embedded-pglite");
  const pglite = newPGlite({ dataDir: url });
  await pglite.waitReady;
  return { driver: pgliteDriver(pglite), close: () => pglite.close() };
}

/** Runs the mode; returns how many steps it saw (0 for the open-only modes). */
async function probe(mode: ProbeMode, url: string, executionId: string): Promise<number> {
  if (mode === "writer-open" || mode === "consolidate") {
    const { openDatabase } = await import("@reev/db");
    const db = await openDatabase({ url });
    try {
      if (mode === "writer-open") return 0;
      const { consolidateExecution } = await import("@reev/orchestrator");
      const done = await consolidateExecution(db, executionId, {
        consolidatedSessionId: `${executionId}_mem_${process.pid}`,
        timeoutMs: 30 * 60_000,
      });
      // Counted from the metadata: parsing the content back would add to the peak being measured.
      return (done.metadata.totalTools ?? 0) / TOOL_CALLS_PER_STEP;
    } finally {
      await db.close();
    }
  }
  const raw = await openRaw(url);
  try {
    if (mode === "raw-open") return 0;
    const { readCommittedSteps } = await import("./raw-read-steps.js");
    return (await readCommittedSteps(raw.driver, executionId)).steps.length;
  } finally {
    await raw.close();
  }
}

async function main(): Promise<void> {
  const [mode, url, executionId, expected] = process.argv.slice(2);
  if (!PROBE_MODES.includes(mode as ProbeMode) || !url || !executionId || !expected) {
    throw new Error(`usage: memory-probe.js <${PROBE_MODES.join("|")}> <url> <executionId> <expected steps>`);
  }
  const start = now();
  const steps = await probe(mode as ProbeMode, url, executionId);
  const ms = msSince(start);
  if ((mode === "consolidate" || mode === "raw-select") && steps !== Number(expected))
    throw new Error(`${mode} saw ${steps} steps, expected ${expected}`);
  // maxRSS is in KiB.
  const report: ProbeReport = { mode: mode as ProbeMode, maxRssMiB: process.resourceUsage().maxRSS / 1024, ms, steps };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`memory-probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
