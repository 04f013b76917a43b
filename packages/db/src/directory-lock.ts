import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseError } from "./errors.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, "utf8").split("\n")[0] ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PGlite is one embedded PostgreSQL with no lock of its own: two processes (or two opens in one
 * process) on the same directory would both write its files and corrupt it. A `<dir>.lock` file,
 * created exclusively and holding the owner's pid, keeps the second opener out with a clear error.
 * A lock whose owner died (a crash) is taken over. Returns the release function.
 */
export function acquireDirectoryLock(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx");
      writeSync(fd, `${process.pid}\n${new Date().toISOString()}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(lockPath) === process.pid) unlinkSync(lockPath);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: ${(error as Error).message}`, { cause: error });
      }
      const owner = readOwner(lockPath);
      if (owner !== undefined && isAlive(owner)) {
        const who = owner === process.pid ? "this process (opened twice)" : `process ${owner}`;
        throw new DatabaseError(
          "CONNECTION",
          `The embedded database at ${dataDir} is in use by ${who}. Close it first, or use another directory (--db) or PostgreSQL.`,
        );
      }
      // The owner is gone: a stale lock from a crash. Remove it and try once more.
      try {
        unlinkSync(lockPath);
      } catch {
        // Someone else removed it first; the retry decides.
      }
    }
  }
  throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: another process keeps taking the lock`);
}
