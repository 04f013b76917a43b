import { mkdirSync, type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** What is at `path`, or undefined when nothing is: a file where a parent directory should be (ENOTDIR) counts as nothing. */
export function pathStat(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * The directories from `dir` up to the nearest one that exists, outermost first, and what that
 * nearest one is (a directory, or a file that blocks the path). Walks up with stat, never with mkdir:
 * Node's `mkdir(…, { recursive: true })` spins for ever at full CPU where a file system answers mkdir
 * with ENOENT though the parent exists (/proc, /proc/self), which is how `--out /proc/x` and
 * `--db /proc/x` hung.
 */
export function missingDirectories(dir: string): { missing: string[]; existing: string; isDirectory: boolean } {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    const found = pathStat(current);
    if (found) return { missing: missing.reverse(), existing: current, isDirectory: found.isDirectory() };
    missing.push(current);
    const parent = dirname(current);
    // Past the root there is nothing to walk to: the loop ends whatever the file system answers.
    if (parent === current) return { missing: missing.reverse(), existing: current, isDirectory: false };
    current = parent;
  }
}

/**
 * Makes `dir` and its missing parents one by one: what `mkdir -p` does, without Node's endless retry
 * (see missingDirectories). Throws the file system's error where one cannot be made (ENOENT under
 * /proc, EACCES, ENOTDIR behind a file).
 */
export function makeDirectories(dir: string, mode?: number): void {
  const { missing, existing, isDirectory } = missingDirectories(dir);
  if (!isDirectory)
    throw Object.assign(new Error(`${existing} is a file, so no directory can be made under it`), { code: "ENOTDIR", path: existing });
  for (const each of missing) {
    try {
      mkdirSync(each, mode === undefined ? undefined : { mode });
    } catch (error) {
      // Made meanwhile by another process (two runs at once): what was wanted.
      if (!pathStat(each)?.isDirectory()) throw error;
    }
  }
}
