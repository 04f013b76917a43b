// Commands reev suggests (`reev recover --db …`) are there to be copied, and a copy works only if it
// names the database it is about: without --db it reads $REEV_DATABASE_URL or ./.reev/db instead.
import { type DatabaseTarget, maskUrl } from "./open-database.js";

/** A word as a POSIX shell reads it back: as is when it holds nothing the shell would act on (`*`, `?`, `&`, spaces). */
export function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `--db X` for a command to copy; `masked`: X shows the password as ***, and the copy needs it back. */
export type DbOption = { text: string; masked: boolean };

/**
 * `--db X` naming `target` in a suggested command. A directory is named by its absolute path, so the
 * copy works from anywhere; a PostgreSQL password is masked, as in every message. `memoryUrl` is how
 * an in-memory database was named (memory://), though no other process can reach it.
 */
export function dbOptionOf(target: DatabaseTarget, memoryUrl = "memory://"): DbOption {
  const value = target.kind === "postgres" ? maskUrl(target.url) : target.kind === "pglite-dir" ? target.dataDir : memoryUrl;
  return { text: `--db ${shellWord(value)}`, masked: target.kind === "postgres" && hasPassword(target.url) };
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return /\/\/[^:/@]+:.*@/.test(url);
  }
}
