import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** Who runs an execution: the host, the pid, and when that process started (a pid alone is reused). */
export type ProcessOwner = { host: string; pid: number; startedAt: Date };

/** An owner as a row records it; `startedAt` is null for rows written before process starts were kept. */
export type RecordedOwner = { host: string; pid: number; startedAt: Date | null };

/** The owner columns every owned table has (executions, evaluations), as one value; null when unowned. */
export const recordedOwner = (row: {
  ownerHost: string | null;
  ownerPid: number | null;
  ownerStartedAt: Date | null;
}): RecordedOwner | null =>
  row.ownerHost && row.ownerPid !== null ? { host: row.ownerHost, pid: row.ownerPid, startedAt: row.ownerStartedAt } : null;

/** How sure we are about an owner: `gone` is proven, `alive` is not contradicted, `unknown` cannot be checked from here. */
export type OwnerState = "alive" | "gone" | "unknown";

/**
 * Linux reports start times in clock ticks since boot. USER_HZ is 100 on every Linux ABI Node runs
 * on; both sides of a comparison use the same formula, so only the tolerance below depends on it.
 */
const TICKS_PER_SECOND = 100;
/**
 * The boot time Linux reports (/proc/stat `btime`) is derived from the wall clock and may move by a
 * second between two reads; a pid reused within two seconds of its first process's start is not a
 * case worth telling apart.
 */
const START_TOLERANCE_MS = 2_000;

function bootTimeMs(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith("btime "));
    return line ? Number(line.slice(6)) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A process as /proc/<pid>/stat describes it, or undefined when there is no such process (or no /proc). */
function procStat(pid: number | "self"): { state: string; startedAt: Date | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]); // field 22, starttime
  const boot = bootTimeMs();
  return {
    state: fields[0] ?? "",
    startedAt: boot === undefined || !Number.isFinite(ticks) ? undefined : new Date(boot + (ticks * 1000) / TICKS_PER_SECOND),
  };
}

const hasProc = () => procStat("self") !== undefined;

let current: ProcessOwner | undefined;

/** This process, as the owner of the executions it creates. */
export function currentProcessOwner(): ProcessOwner {
  current ??= {
    host: hostname(),
    pid: process.pid,
    // Read the way ownerState reads other processes, so the two compare; elsewhere, Node's own uptime.
    startedAt: procStat("self")?.startedAt ?? new Date(Date.now() - Math.round(process.uptime() * 1000)),
  };
  return current;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether an owner on THIS host still runs: gone when its pid is dead, a zombie (exited, not yet
 * reaped), or now belongs to a process that started at another time. Without /proc (macOS, Windows)
 * a live pid cannot be told from a reused one: it counts as alive.
 */
export function localOwnerState(owner: { pid: number; startedAt: Date | null }): OwnerState {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return "unknown";
  if (hasProc()) {
    const stat = procStat(owner.pid);
    if (!stat || stat.state === "Z" || stat.state === "X") return "gone";
    if (owner.startedAt && stat.startedAt && Math.abs(stat.startedAt.getTime() - owner.startedAt.getTime()) > START_TOLERANCE_MS)
      return "gone";
    return "alive";
  }
  return pidExists(owner.pid) ? "alive" : "gone";
}
