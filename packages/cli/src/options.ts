// The options several commands share, and the checks of option values. Commander calls a value's
// parser as it reads the argument list, so every check here runs before any command opens a database:
// bad input never creates, locks or changes one.

import { extname } from "node:path";
import { resolveTarget } from "@reev/db";
import { closestWord, didYouMean, orList } from "@reev/orchestrator";
import { Argument, type Command, Option } from "commander";
import { invalidArgument } from "./cli-error.js";
import { checkOutFileOption } from "./output-file.js";

/** `--db`: every command that reads or writes runs takes it. A new Option per command: commander keeps state on it. */
export const dbOption = () =>
  new Option(
    "--db <url>",
    "the database: postgresql://…, memory:// or a directory (default: $REEV_DATABASE_URL, else ./.reev/db)",
  ).argParser(checkedUrl);

/** A --db value that cannot name a database (`memory:`, `postgres:/x`, `mysql://…`) is refused as it is read. */
function checkedUrl(value: string): string {
  // The database's own "The database URL is empty" named no way out.
  if (!value.trim()) {
    throw invalidArgument(
      "--db is empty: it names the database to use.",
      "--db",
      "Pass --db a PostgreSQL URL (postgresql://user:pass@host:5432/db), memory:// or a directory, or leave --db out for the embedded database in ./.reev/db.",
    );
  }
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
export const outFileOption = () => new Option("--out <file>", "write to this file instead of stdout (its extension picks the format)");

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

/** Milliseconds per unit of a duration option. */
const DURATION_UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** An age in the largest whole unit it is, as `duration` reads it back: 30d, 12h, 90m. */
export function formatAge(ms: number): string {
  // Zero is a whole number of every unit; "0d" reads as the user most likely wrote it.
  if (ms === 0) return "0d";
  const units = Object.entries(DURATION_UNITS).reverse();
  const [unit, size] = units.find(([, n]) => ms % n === 0) ?? ["s", DURATION_UNITS.s];
  return `${ms / size}${unit}`;
}
/** The longest duration taken: what a Date can go back from now (±8.64e15 ms), with room to spare. */
const MAX_DURATION_MS = 8.64e15 / 2;

/**
 * A duration option: a whole number and one unit, `90s`, `15m`, `12h`, `30d`, `2w`; `0d` is zero.
 * Strict on purpose: a bare `7` (seconds? days?), a sign, a fraction or a typo is refused, naming the
 * flag, before anything is opened — for a command that deletes, a misread age is not a small mistake.
 * `limits` narrows it for a value the database keeps in fewer bits, or where zero means nothing.
 */
export function duration(flag: string, limits: { positive?: boolean; maxMs?: number } = {}): (value: string) => number {
  const maxMs = limits.maxMs ?? MAX_DURATION_MS;
  return (value) => {
    const match = /^(\d+)([smhdw])$/.exec(value);
    const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS] : Number.NaN;
    // Written right, out of range: the form is not what to fix, so the message does not teach it.
    if (match && Number.isSafeInteger(ms) && ms > maxMs && limits.maxMs !== undefined)
      throw invalidArgument(`${flag} can be at most ${formatAge(maxMs)}; got "${value}".`, flag);
    if (match && limits.positive && ms === 0) throw invalidArgument(`${flag} must be more than zero; got "${value}".`, flag);
    if (!Number.isSafeInteger(ms) || ms > maxMs) {
      const why = /^\d+$/.test(value)
        ? "it has no unit"
        : value.startsWith("-")
          ? "it is negative"
          : !match
            ? "it is not a duration"
            : "it is too long";
      const meant = meantDuration(value);
      throw invalidArgument(
        `${flag} must be a whole number and a unit (s, m, h, d or w), such as 30d or 12h; got "${value}": ${why}.${didYouMean(meant)}`,
        flag,
      );
    }
    return ms;
  };
}

const UNIT_WORDS: Record<string, keyof typeof DURATION_UNITS> = {
  s: "s",
  sec: "s",
  second: "s",
  m: "m",
  min: "m",
  minute: "m",
  h: "h",
  hr: "h",
  hour: "h",
  d: "d",
  day: "d",
  w: "w",
  week: "w",
};

/**
 * The duration a refused one was most likely meant as: `7D` → 7d, `30 days` → 30d. Never for an upper
 * case M, which may mean months: a purge told 7m for seven months would take nearly everything.
 */
function meantDuration(value: string): string | undefined {
  const match = /^(\d+)\s*([a-z]+?)s?$/i.exec(value.trim());
  if (!match || match[2] === "M") return undefined;
  const unit = UNIT_WORDS[(match[2] as string).toLowerCase()];
  const meant = unit && `${Number(match[1])}${unit}`;
  return meant && meant !== value ? meant : undefined;
}

/** A comma-separated list, each item checked by `item` (`--status failed,cancelled`). */
export function commaList<T>(item: (value: string) => T): (value: string) => T[] {
  return (value) => value.split(",").map((part) => item(part.trim()));
}

/**
 * An option that takes one of a few words; `what` names them in the message ("diagram format"). A
 * typo of one is asked about as commander asks about a command's: "Did you mean running?".
 */
export function oneOf<const T extends string>(flag: string, what: string, allowed: readonly T[]): (value: string) => T {
  const words: readonly string[] = allowed;
  return (value) => {
    if (words.includes(value)) return value as T;
    // `reev list --status failed,completed`: purge takes a list, this option one word.
    const parts = value.split(",").map((part) => part.trim());
    if (parts.length > 1 && parts.every((part) => words.includes(part)))
      throw invalidArgument(`${flag} takes one ${what}, not a list: "${value}". Give one of ${orList(allowed)}.`, flag);
    throw invalidArgument(`Unknown ${what} "${value}": use ${orList(allowed)}.${didYouMean(closestWord(value, allowed))}`, flag);
  };
}

/** `Examples:` after a command's help: each a command line, then what it does. */
export function examples(lines: readonly (readonly [command: string, what: string])[]): string {
  const width = Math.max(...lines.map(([command]) => command.length));
  return `\nExamples:\n${lines.map(([command, what]) => `  ${command.padEnd(width)}   ${what}`).join("\n")}`;
}

/**
 * The format a command writes: --format when given, else the one --out's extension names (`--out
 * run.html` writes HTML), else --format's default. `reev diagram … --out run.html` wrote Mermaid
 * source into a file a browser then showed as text. A --format that contradicts the extension is
 * refused (exit 2, nothing written), and so is an extension the command writes no format for
 * (`--out run.svg` got Mermaid text) unless --format says what to put in it.
 */
export function outFormat<T extends string>(command: Command, out: string | undefined, extensions: Readonly<Record<string, T>>): T {
  // Before anything runs: reev eval found out only when it wrote the report, after every run.
  if (out !== undefined) checkOutFileOption(out);
  const format = command.getOptionValue("format") as T;
  const extension = out === undefined ? "" : extname(out).toLowerCase();
  const chosen = command.getOptionValueSource("format") !== "default";
  const named = Object.hasOwn(extensions, extension) ? extensions[extension] : undefined;
  if (named === undefined) {
    if (extension === "" || chosen) return format;
    throw invalidArgument(
      `--out ${out}: reev ${command.name()} writes ${formatsWithExtensions(extensions)}, not ${extension} files. Name the file for one of them, or give --format to write that format into ${out} anyway.`,
      "--out",
    );
  }
  if (named === format) return format;
  if (!chosen) return named;
  throw invalidArgument(
    `--out ${out} is a ${extension} file, but --format is ${format}: leave out --format to write ${named}, or give --out a name that fits ${format}.`,
    "--format",
  );
}

/** "table (.txt), json (.json) or html (.html, .htm)". */
function formatsWithExtensions(extensions: Readonly<Record<string, string>>): string {
  const byFormat = new Map<string, string[]>();
  for (const [extension, format] of Object.entries(extensions)) byFormat.set(format, [...(byFormat.get(format) ?? []), extension]);
  return orList([...byFormat].map(([format, names]) => `${format} (${names.join(", ")})`));
}

/** The --out extensions of the commands that write a table, JSON or HTML (reev eval, reev compare). */
export const TABLE_JSON_HTML_FILES = { ".txt": "table", ".json": "json", ".html": "html", ".htm": "html" } as const;
