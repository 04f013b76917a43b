// The options several commands share, and the checks of option values. Commander calls a value's
// parser as it reads the argument list, so every check here runs before any command opens a database:
// bad input never creates, locks or changes one.

import { resolveTarget } from "@reev/db";
import { Argument, Option } from "commander";
import { invalidArgument } from "./cli-error.js";

/** `--db`: every command that reads or writes runs takes it. A new Option per command: commander keeps state on it. */
export const dbOption = () =>
  new Option(
    "--db <url>",
    "the database: postgresql://…, memory:// or a directory (default: $REEV_DATABASE_URL, else ./.reev/db)",
  ).argParser(checkedUrl);

/** A --db value that cannot name a database (`memory:`, `postgres:/x`, `mysql://…`) is refused as it is read. */
function checkedUrl(value: string): string {
  resolveTarget(value);
  return value;
}

/**
 * `--json`: results as JSON on stdout, and errors as `{ "error": { code, message, field } }` on
 * stderr. Commands whose output is a document already (a diagram, an export) take it for the errors.
 */
export const jsonOption = (description = "print JSON instead of text (errors too, on stderr)") => new Option("--json", description);
export const JSON_ERRORS_ONLY = "print errors as JSON on stderr (the output is a document already)";

/** `--out FILE` of the commands that print one document (a diagram, an export). */
export const outFileOption = () => new Option("--out <file>", "write to this file instead of stdout");

/** `<executionId>` of the commands about one execution. */
export const executionIdArgument = () => new Argument("<executionId>", "the execution (see reev list)");

/**
 * `--migrate`, on the commands that write: a PostgreSQL database is never migrated behind the user's
 * back (as with `prisma migrate deploy`), so bringing one up to date is asked for, here or with `reev migrate`.
 */
export const migrateOption = () =>
  new Option("--migrate", "first apply pending migrations to a PostgreSQL --db (the embedded database migrates itself)");

/** What `--db`, `--migrate` and `--json` add to a command's options. */
export type DbOptions = { db?: string | undefined };
export type MigrateOptions = { migrate?: boolean | undefined };
export type JsonOptions = { json?: boolean | undefined };

/**
 * A whole-number option within [min, max] (min ≥ 0). Only decimal digits are taken: Number() would
 * also accept "", " 7", "1e3" and "0x10", which are typos here, not numbers.
 */
export function integer(flag: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw invalidArgument(`${flag} must be an integer ${range}, got "${value}".`, flag);
    }
    return n;
  };
}

/** An option that takes one of a few words; `what` names them in the message ("diagram format"). */
export function oneOf<const T extends string>(flag: string, what: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw invalidArgument(`Unknown ${what} "${value}": use ${orList(allowed)}.`, flag);
  };
}

/** "a, b or c" */
function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** `Examples:` after a command's help: each a command line, then what it does. */
export function examples(lines: readonly (readonly [command: string, what: string])[]): string {
  const width = Math.max(...lines.map(([command]) => command.length));
  return `\nExamples:\n${lines.map(([command, what]) => `  ${command.padEnd(width)}   ${what}`).join("\n")}`;
}
