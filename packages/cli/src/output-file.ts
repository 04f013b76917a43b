import { accessSync, constants, mkdirSync, rmdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { makeDirectories, missingDirectories, pathStat } from "@reev/db";
import { CliError, invalidArgument } from "./cli-error.js";
import type { CliIO } from "./context.js";
import { systemErrorWords } from "./error-report.js";

/** What to say of an --out that is a directory: the file's name is what is missing, not a permission. */
export const OUT_IS_DIRECTORY = "--out takes the name of the file to write, not of a directory: add a file name to it.";

const errorWords = (error: unknown) => (error instanceof Error ? systemErrorWords(error) : String(error));

/** A file the CLI could not write, in words: which file, why, and that another --out is the way out. */
export function cannotWrite(error: unknown, path: string): CliError {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EISDIR")
    return new CliError("IO", `Cannot write ${path}: it is a directory.`, { field: "--out", hint: OUT_IS_DIRECTORY, cause: error });
  return new CliError("IO", `Cannot write ${path}: ${errorWords(error)}.`, {
    field: "--out",
    hint: "Choose another --out, or make that directory writable.",
    cause: error,
  });
}

/** Why a directory cannot be made under `parent`, in words: ENOENT there means the file system takes no new ones. */
function mkdirWords(error: unknown, parent: string): string {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return `${parent} does not take new directories`;
  return errorWords(error);
}

/**
 * Checks, before any work starts, that `dir` is a directory reev can write to or create: each failure
 * is bad input (exit 2) that starts with `subject` (the option as given) and names the path at fault.
 * A directory still to be made is tried by making (and removing) its outermost missing part: only the
 * file system knows whether it takes one.
 */
function checkOutDirectory(dir: string, subject: string): void {
  const { missing, existing, isDirectory } = missingDirectories(dir);
  if (!isDirectory)
    throw invalidArgument(
      `${subject}: ${existing} is a file, so no directory can be made there.`,
      "--out",
      "Choose another --out, in a directory.",
    );
  const first = missing[0];
  try {
    if (first === undefined) accessSync(existing, constants.W_OK);
    else {
      mkdirSync(first);
      rmdirSync(first);
    }
  } catch (error) {
    const why = first === undefined ? errorWords(error) : mkdirWords(error, existing);
    throw invalidArgument(
      `${subject}: reev cannot ${first === undefined ? `write in ${existing}` : `create ${first}`}: ${why}.`,
      "--out",
      "Choose another --out, or make that directory writable.",
    );
  }
}

/**
 * `--out DIR` of the commands that write each run's diagrams there (reev run, reev demo): a file is
 * refused before anything runs, not found out when the first diagram is written after the run.
 */
export function checkOutDirectoryOption(dir: string, command: string): void {
  if (pathStat(dir)?.isFile())
    throw invalidArgument(
      `--out ${dir} is a file, and reev ${command} --out takes a directory: each run's diagrams are written into it.`,
      "--out",
      "Give --out a directory (a new one is created), or leave it out for ./reev-out.",
    );
  checkOutDirectory(dir, `--out ${dir}`);
}

/**
 * `--out FILE` of the commands that write one document: not a directory, and in a directory reev
 * can write to or create.
 */
export function checkOutFileOption(path: string): void {
  if (pathStat(path)?.isDirectory()) throw invalidArgument(`--out ${path} is a directory. ${OUT_IS_DIRECTORY}`, "--out");
  checkOutDirectory(dirname(path), `--out ${path}`);
}

/** Writes a file, creating its directory; a failure is a CliError naming the file. */
export async function writeOutputFile(path: string, text: string): Promise<void> {
  try {
    makeDirectories(dirname(path));
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
