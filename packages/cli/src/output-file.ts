import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { CliError } from "./cli-error.js";
import type { CliIO } from "./context.js";
import { systemErrorWords } from "./error-report.js";

/** What to say of an --out that is a directory: the file's name is what is missing, not a permission. */
export const OUT_IS_DIRECTORY = "--out takes the name of the file to write, not of a directory: add a file name to it.";

/** A file the CLI could not write, in words: which file, why, and that another --out is the way out. */
export function cannotWrite(error: unknown, path: string): CliError {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EISDIR")
    return new CliError("IO", `Cannot write ${path}: it is a directory.`, { field: "--out", hint: OUT_IS_DIRECTORY, cause: error });
  const why = error instanceof Error ? systemErrorWords(error) : String(error);
  return new CliError("IO", `Cannot write ${path}: ${why}.`, {
    field: "--out",
    hint: "Choose another --out, or make that directory writable.",
    cause: error,
  });
}

/** Writes a file, creating its directory; a failure is a CliError naming the file. */
export async function writeOutputFile(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    throw cannotWrite(error, path);
  }
}

/**
 * A command's document: to the --out file when given (saying so on stderr, unless `json`: with
 * --json stderr carries the error's JSON line and nothing else), else to stdout.
 */
export async function emit(text: string, out: string | undefined, io: CliIO, { json = false }: { json?: boolean } = {}): Promise<void> {
  if (!out) {
    io.stdout.write(text);
    return;
  }
  await writeOutputFile(out, text);
  if (!json) io.stderr.write(`Wrote ${out}\n`);
}
