import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { shellWord } from "./hint.js";

/** The example flows that ship inside @reev/cli (reev demo runs them), one directory up from src/ and dist/. */
export const EXAMPLES_DIR = fileURLToPath(new URL("../examples/", import.meta.url));

/**
 * The examples directory as a command a user copies names it: relative to the working directory when
 * inside it (`packages/cli/examples/` in a checkout), else absolute; quoted for the shell.
 */
export function examplesArgument(cwd = process.cwd()): string {
  const path = relative(cwd, EXAMPLES_DIR);
  return shellWord(path && !path.startsWith("..") && !isAbsolute(path) ? `${path}/` : EXAMPLES_DIR);
}
