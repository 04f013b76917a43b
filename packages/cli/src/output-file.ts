import { accessSync, constants, mkdirSync, rmdirSync, rmSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { makeDirectories, missingDirectories, pathStat } from "@reev/db";
import { CliError, invalidArgument } from "./cli-error.js";
import type { CliIO } from "./context.js";
import { systemErrorWords } from "./error-report.js";
import { interruptHeard } from "./interrupt.js";

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

/** Where writeOutputFile writes first: beside the file (a rename within a directory is atomic), hidden, this process's own. */
const partialFile = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.partial`);

/** The temporary files being written: removed, too, as the process exits at once (a second Ctrl-C). */
const PARTIAL_FILES = new Set<string>();
const removePartialFiles = () => {
  for (const partial of PARTIAL_FILES) rmSync(partial, { force: true });
};

/**
 * Writes a file whole or not at all, creating its directory: the text goes to a temporary file beside
 * it, renamed over it once complete, so a crash, a full disk or Ctrl-C never leaves a cut-short file
 * that looks complete (and a file already there stays as it was until then). Given a signal, one heard
 * before the rename keeps the file from being written: false. A failure is a CliError naming the file.
 */
export async function writeOutputFile(path: string, text: string, { signal }: { signal?: AbortSignal } = {}): Promise<boolean> {
  const partial = partialFile(path);
  const removePartial = () => rmSync(partial, { force: true });
  if (!PARTIAL_FILES.size) process.once("exit", removePartialFiles);
  PARTIAL_FILES.add(partial);
  try {
    makeDirectories(dirname(path));
    await writeFile(partial, text);
    if (await interruptHeard(signal)) {
      removePartial();
      return false;
    }
    await rename(partial, path);
    return true;
  } catch (error) {
    removePartial();
    throw cannotWrite(error, path);
  } finally {
    PARTIAL_FILES.delete(partial);
    if (!PARTIAL_FILES.size) process.off("exit", removePartialFiles);
  }
}

/**
 * A command's document: to the --out file when given (saying so on stderr, unless `json`: with
 * --json stderr carries the error's JSON line and nothing else), else to stdout, whole. Given a
 * signal, one heard before it goes out keeps it from going: false.
 */
export async function emit(
  text: string,
  out: string | undefined,
  io: CliIO,
  { json = false, signal }: { json?: boolean; signal?: AbortSignal } = {},
): Promise<boolean> {
  if (!out) {
    if (await interruptHeard(signal)) return false;
    io.stdout.write(text);
    return true;
  }
  const written = await writeOutputFile(out, text, signal ? { signal } : {});
  if (written && !json) io.stderr.write(`Wrote ${out}\n`);
  return written;
}
