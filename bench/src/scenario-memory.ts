import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "./backends.js";
import type { BenchConfig } from "./bench-config.js";
import { runChild } from "./child-process.js";
import type { CleanupScope } from "./cleanup.js";
import { whole } from "./format.js";
import { PROBE_MODES, type ProbeMode, type ProbeReport } from "./memory-probe-protocol.js";
import { populateExecution } from "./populate.js";
import { progress } from "./progress.js";
import { pgliteDriver } from "./raw-driver.js";
import { median } from "./stats.js";
import { openWithPGlite } from "./writer-pglite.js";

/**
 * §1.6 Memory: the peak RSS of a fresh child process consolidating N steps (`consolidateExecution`)
 * against a child doing the raw SELECT of the same rows, each beside a child that only opens the
 * database the same way, so the cost of reading can be told from the cost of starting up. On
 * PostgreSQL the children open the bench's database; PGlite runs inside the process that opens it,
 * so there a directory database is filled first and the children open it one after the other.
 */
export type MemoryMode = { mode: ProbeMode; label: string; maxRssMiB: number; roundsMiB: number[]; ms: number };

export type MemoryResult = {
  steps: number;
  where: string;
  modes: MemoryMode[];
  /** Peak RSS of the consolidating child ÷ the raw-reading child's. */
  rssRatio: number;
  /** What reading adds over opening, MiB: consolidate − writer-open, raw-select − raw-open. */
  addedMiB: { writer: number; raw: number };
};

const LABELS: Record<ProbeMode, string> = {
  "writer-open": "openDatabase only",
  consolidate: "consolidateExecution",
  "raw-open": "raw driver: open only",
  "raw-select": "raw driver: SELECT the rows",
};

const PROBE = fileURLToPath(new URL("./memory-probe.js", import.meta.url));

/**
 * The probe is started through `sh`, which forks it: Linux keeps a process's RSS high-water mark
 * across fork + exec, so a child spawned straight from the bench would report at least the bench's
 * own peak (hundreds of MiB with PGlite loaded) as its maxRSS. Forked from a small shell, it starts
 * clean. (`; exit` keeps the shell from exec-ing the command in its own place.)
 */
const probeArgs = (args: string[]) => ["-c", '"$0" "$@"; exit $?', process.execPath, PROBE, ...args];

/** A database the children can open, holding one execution of `steps` committed steps. */
async function prepare(scope: CleanupScope, backend: Backend, steps: number): Promise<{ url: string; executionId: string; where: string }> {
  const executionId = `mem-${steps}`;
  if (backend.childUrl) {
    await populateExecution(backend.raw, executionId, steps);
    return { url: backend.childUrl, executionId, where: `child processes on ${backend.description}` };
  }
  const dir = mkdtempSync(join(tmpdir(), "reev-bench-memory-"));
  scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const url = join(dir, "db");
  const { db, pglite } = await openWithPGlite(url);
  try {
    await populateExecution(pgliteDriver(pglite), executionId, steps);
  } finally {
    await db.close();
  }
  return { url, executionId, where: `child processes on an embedded PGlite directory (${url})` };
}

export async function memory(scope: CleanupScope, backend: Backend, config: BenchConfig): Promise<MemoryResult> {
  progress(`[${backend.key}] 6 memory: filling an execution of ${whole(config.memorySteps)} steps`);
  const { url, executionId, where } = await prepare(scope, backend, config.memorySteps);
  const reports = new Map<ProbeMode, ProbeReport[]>(PROBE_MODES.map((m) => [m, []]));
  for (let round = 0; round < config.memoryRounds; round++) {
    // Rotated each round, so no mode always runs right after another (page cache, server state).
    const order = PROBE_MODES.map((_, i) => PROBE_MODES[(i + round) % PROBE_MODES.length]!);
    for (const mode of order) {
      progress(`[${backend.key}] 6 memory: round ${round + 1}/${config.memoryRounds}, ${LABELS[mode]}`);
      const run = await runChild(scope, "sh", probeArgs([mode, url, executionId, String(config.memorySteps)]));
      if (run.code !== 0) throw new Error(`[${backend.key}] memory probe ${mode} failed (exit ${run.code}):\n${run.stderr}`);
      reports.get(mode)!.push(JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ProbeReport);
    }
  }
  const modes = PROBE_MODES.map((mode): MemoryMode => {
    const rs = reports.get(mode)!;
    return {
      mode,
      label: LABELS[mode],
      maxRssMiB: median(rs.map((r) => r.maxRssMiB)),
      roundsMiB: rs.map((r) => r.maxRssMiB),
      ms: median(rs.map((r) => r.ms)),
    };
  });
  const rss = (mode: ProbeMode) => modes.find((m) => m.mode === mode)!.maxRssMiB;
  return {
    steps: config.memorySteps,
    where,
    modes,
    rssRatio: rss("consolidate") / rss("raw-select"),
    addedMiB: { writer: rss("consolidate") - rss("writer-open"), raw: rss("raw-select") - rss("raw-open") },
  };
}
