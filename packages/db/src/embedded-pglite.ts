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
 * slower (bench/README.md). The flag is V8's, so it holds for the whole process, and only for modules
 * compiled after it: call this before the first PGlite opens.
 */
export function compileWasmForBriefUse(): void {
  setFlagsFromString("--liftoff-only");
}
