import { setFlagsFromString } from "node:v8";
import { PGlite } from "@electric-sql/pglite";

/**
 * PostgreSQL's default 128 MB of shared buffers is sized for a server that stays up. PGlite's
 * WebAssembly engine zeroes them at every start: on a 2-core machine that was 0.4 of the ~1.5 s of
 * CPU it takes to open a data directory, in every `reev` command, and over 100 MiB of each process's
 * memory. An embedded database's files are cached by the operating system anyway (PGlite reads them
 * through Node's `fs`), so 16 MB is kept. The WAL buffers stay at the 4 MB that 128 MB implied, so a
 * bulk import flushes the log no more often than before.
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB", "-c", "wal_buffers=4MB"];

/**
 * Every embedded PGlite reev opens: a data directory, or in memory when `dataDir` is absent (started
 * from a dumped data directory when `loadDataDir` is given). One place, so the CLI, the migrations,
 * the tests and the bench's raw side run the same engine settings.
 */
export function newPGlite(where: { dataDir?: string; loadDataDir?: Blob } = {}): PGlite {
  return new PGlite({ ...where, startParams: START_PARAMS });
}

/**
 * For a process that opens the embedded database for a few queries and exits (`reev list`, `reev
 * show`): WebAssembly compiled by V8's baseline compiler only. By default V8 compiles every function
 * again, optimised, once it has run a while, and PostgreSQL runs thousands of them hot while it starts:
 * a `reev list` spent over half of its 1.2 s of CPU (and 100 MiB) optimising code it then hardly ran.
 * A long process keeps the default: baseline code alone made bulk writes and large reads 10–35%
 * slower (bench/README.md). The flags are V8's, so they hold for the whole process, and only for
 * modules compiled after them: call this before the first PGlite opens. They are V8's production
 * switches for tiering, not `--liftoff-only` (a testing flag that makes a function the baseline
 * compiler cannot handle a compile error instead of an optimised compile): the same saving, measured.
 */
export function compileWasmForBriefUse(): void {
  for (const flag of BASELINE_WASM_FLAGS) setFlagsFromString(flag);
}

/** No tier-up of WebAssembly to V8's optimising compiler; as node flags too (tests, vitest.config.ts). */
export const BASELINE_WASM_FLAGS = ["--no-wasm-dynamic-tiering", "--no-wasm-tier-up"] as const;
