import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseError } from "./errors.js";
import { lockHeldMessage, processArguments } from "./lock-holder.js";

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
 * Moves a lock whose owner is dead out of the way. The rename is atomic, so of several processes
 * racing for the same stale lock exactly one moves it; if what it moved turns out to be a live
 * process's fresh lock (taken between the read and the rename), it is put back.
 */
function removeStaleLock(lockPath: string, staleOwner: number | undefined): void {
  const aside = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // someone else moved it first: the next attempt decides
  }
  const moved = readOwner(aside);
  if (moved !== staleOwner && moved !== undefined && isAlive(moved)) {
    try {
      linkSync(aside, lockPath);
    } catch {
      // A third process already holds the path; the moved owner's lock cannot be restored.
    }
  }
  unlinkSync(aside);
}

/**
 * PGlite is one embedded PostgreSQL with no lock of its own: two processes (or two opens in one
 * process) on the same directory would both write its files and corrupt it. A `<dir>.lock` file
 * holding the owner's pid keeps the second opener out with a clear error. It is written complete
 * first and then hard-linked into place, so the lock appears atomically with its owner in it (a
 * reader never sees an empty, "ownerless" lock). A lock whose owner died (a crash) is taken over.
 * Returns the release function.
 */
export function acquireDirectoryLock(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(mine, `${process.pid}\n${new Date().toISOString()}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, lockPath);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (readOwner(lockPath) === process.pid) unlinkSync(lockPath);
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      const owner = readOwner(lockPath);
      if (owner !== undefined && isAlive(owner)) {
        throw new DatabaseError(
          "CONNECTION",
          owner === process.pid
            ? `The embedded database at ${dataDir} is in use by this process (opened twice). Close it first, or use another directory (--db) or PostgreSQL.`
            : lockHeldMessage(dataDir, owner, processArguments(owner)),
        );
      }
      removeStaleLock(lockPath, owner);
    }
    throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: another process keeps taking the lock`);
  } finally {
    unlinkSync(mine);
  }
}
