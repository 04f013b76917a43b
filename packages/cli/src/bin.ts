// The CLI's entry point: runs main with this process's arguments and sets the exit code. Started by
// bin/reev.js (the linked `reev` command), scripts/reev.mjs and the tests; main.ts stays importable
// without running anything, since an installed bin is reached through a symlink that a "was I
// started directly?" check on process.argv[1] would not recognise.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
