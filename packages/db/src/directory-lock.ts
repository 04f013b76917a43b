import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseError } from "./errors.js";
import { lockHeldMessage, processArguments } from "./lock-holder.js";
import { makeDirectories } from "./make-directories.js";
import { localOwnerState } from "./process-owner.js";

/**
 * Whether the lock's owner still runs. A zombie (killed, not yet reaped: common under an init that
 * does not reap, as in many containers) holds nothing, though a signal to its pid still succeeds.
 */
const isAlive = (pid: number): boolean => localOwnerState({ pid, startedAt: null }) === "alive";

/** The lock file's text, or undefined when there is no lock. */
function readLock(lockPath: string): string | undefined {
  try {
    return readFileSync(lockPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The pid on a lock's first line; undefined for a lock that holds none (damaged, or written by hand). */
function ownerOf(text: string): number | undefined {
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function readOwner(lockPath: string): number | undefined {
  const text = readLock(lockPath);
  return text === undefined ? undefined : ownerOf(text);
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** How long to wait for another process's takeover, which holds the breaker for a few system calls. */
const BREAKER_WAIT_MS = 2000;

/**
 * Removes a lock whose owner is dead, so the caller can try again. Only a process holding the
 * breaker (`<lock>.break`, hard-linked into place like the lock) may remove a lock that is not its
 * own, and it reads the owner again under the breaker. No one else removes a dead owner's lock and a
 * live owner removes only its own, so the lock read under the breaker is the one removed: a lock that
 * a racing process just took over is never moved away. (Moving the lock aside and putting it back
 * when it turned out to be fresh let two processes win, once a third had linked its own meanwhile.)
 */
function removeStaleLock(dataDir: string, lockPath: string, mine: string): void {
  const breaker = `${lockPath}.break`;
  const deadline = Date.now() + BREAKER_WAIT_MS;
  for (;;) {
    try {
      linkSync(mine, breaker);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const text = readLock(breaker);
    const breakerOwner = text === undefined ? undefined : ownerOf(text);
    if (text !== undefined && (breakerOwner === undefined || !isAlive(breakerOwner))) {
      // Removing it would race as the rename did; this takes a crash inside a few system calls.
      throw new DatabaseError(
        "CONNECTION",
        `A process that ended while taking over the lock of the embedded database at ${dataDir} left ${breaker}. If no reev process is using ${dataDir}, delete that file and try again.`,
      );
    }
    if (Date.now() > deadline) {
      throw new DatabaseError(
        "CONNECTION",
        `Could not lock the embedded database at ${dataDir}: process ${breakerOwner} has been taking over its lock for ${BREAKER_WAIT_MS / 1000} s. Try again.`,
      );
    }
    pause(1);
  }
  try {
    const text = readLock(lockPath);
    if (text === undefined) return; // released meanwhile: the next attempt links it
    const owner = ownerOf(text);
    if (owner === undefined || !isAlive(owner)) unlinkSync(lockPath);
  } finally {
    unlinkSync(breaker);
  }
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
  makeDirectories(dirname(lockPath));
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
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const owner = readOwner(lockPath);
      if (owner !== undefined && isAlive(owner)) {
        throw new DatabaseError(
          "CONNECTION",
          owner === process.pid
            ? `The embedded database at ${dataDir} is already open in this process: use the Database you opened, or close it (db.close()) before opening it again.`
            : lockHeldMessage(dataDir, owner, processArguments(owner)),
        );
      }
      removeStaleLock(dataDir, lockPath, mine);
    }
    throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: another process keeps taking the lock`);
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError("CONNECTION", `Could not lock the embedded database at ${dataDir}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    unlinkSync(mine);
  }
}
