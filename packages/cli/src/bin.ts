// The CLI's entry point: runs main with this process's arguments and sets the exit code. Started by
// bin/reev.js (the linked `reev` command), scripts/reev.mjs and the tests; main.ts stays importable
// without running anything, since an installed bin is reached through a symlink that a "was I
// started directly?" check on process.argv[1] would not recognise.
import { wantsJson } from "./cli-error.js";
import { guardStartup } from "./interrupt.js";

// Before the commands' modules load (a second or more): a Ctrl-C meanwhile is said, not silent.
guardStartup({ stdout: process.stdout, stderr: process.stderr }, wantsJson(process.argv.slice(2)));
const { main } = await import("./main.js");

// A reader that stops early (`reev diagram … | head`) closes the pipe, and the next write fails with
// EPIPE. That is the reader's choice, not reev's failure: the rest of the output is dropped quietly
// and the command finishes what it was doing (a run still records and closes its database) instead
// of dying with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
