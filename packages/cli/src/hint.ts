// The commands reev's messages suggest ("Next: reev list", "Run reev list to see…") are there to be
// copied, and a copy works only if it names reev as the user can start it (in a checkout there is no
// `reev` on PATH: the README says `pnpm reev`) and the database the user named: without their --db,
// the copy reads $REEV_DATABASE_URL or ./.reev/db instead, and finds other runs or none.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type DbOption, dbOptionOf, resolveTarget } from "@reev/db";

/** The checkout's scripts/reev.mjs, what `pnpm reev` and `pnpm demo` start; absent where @reev/cli is installed. */
const CHECKOUT_SCRIPT = fileURLToPath(new URL("../../../scripts/reev.mjs", import.meta.url));

function realPath(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * How the user starts reev: `pnpm reev` when this process is the checkout's script (`entry` is
 * process.argv[1]; pnpm reaches it through a symlinked bin, hence the real paths), else `reev`.
 */
export function reevProgram(entry: string | undefined = process.argv[1]): string {
  const script = realPath(CHECKOUT_SCRIPT);
  return script !== undefined && realPath(entry) === script ? "pnpm reev" : "reev";
}

export { shellWord } from "@reev/db";

/** `memory`: the database is memory://, gone when the command exits. */
type DbArgument = DbOption & { memory: boolean };

/**
 * `--db X` for the database a command was given, or undefined when it came from $REEV_DATABASE_URL
 * or the default (a copy finds the same one).
 */
export function dbArgument(url: string | undefined): DbArgument | undefined {
  if (url === undefined) return undefined;
  let target: ReturnType<typeof resolveTarget>;
  try {
    target = resolveTarget(url);
  } catch {
    // Not a database (it was refused as the command started): nothing a copy could carry.
    return undefined;
  }
  return { ...dbOptionOf(target, url), memory: target.kind === "pglite-memory" };
}

/** How this process was started: asked of the file system once, on first use. */
let startedAs: string | undefined;

/** Where the suggestions of the command under way come from: set by main for each command. */
let program: string | undefined;
let db: DbArgument | undefined;

/** Called by main as a command starts: how reev was started, and the --db the command was given (undefined: none). */
export function setSuggestionContext(options: { program?: string; db?: string | undefined }): void {
  program = options.program;
  db = dbArgument(options.db);
}

export const MASKED_NOTE = " (*** stands for the password you gave --db)";

/** Which --db a suggested command carries: the command's own (true), none (false), or one given. */
type DbChoice = boolean | DbArgument | undefined;

/**
 * Commands for the user to type, joined by `separator`: each `reev ARGS` as reev was started, with
 * the command's --db unless `db` is false (for a command that opens no database: help, schema) or
 * names another. When the --db's password is masked, one note after them says so: the copy needs it
 * put back.
 */
export function reevCommands(commands: readonly string[], options: { db?: DbChoice; separator?: string } = {}): string {
  const { db: choice = true, separator = " · " } = options;
  const dbText = choice === true ? db : choice === false ? undefined : choice;
  startedAs ??= reevProgram();
  const lines = commands.map((args) => [program ?? startedAs, args, dbText?.text].filter(Boolean).join(" "));
  return `${lines.join(separator)}${dbText?.masked ? MASKED_NOTE : ""}`;
}

/**
 * What to say instead of suggesting a next command on memory://, or undefined on any other database:
 * an in-memory database is gone when the command exits, so `reev list --db memory://` after `reev run
 * … --db memory://` finds nothing, and a user who followed the hint would think the run was lost.
 */
export function inMemoryNote(): string | undefined {
  if (!db?.memory) return undefined;
  return `An in-memory database (--db memory://) lives only as long as one command: the next command finds nothing there. To keep runs, give --db a directory or a PostgreSQL URL, or try ${reevCommand("demo", { db: false })}.`;
}

/** A command to run after this one exits, with its --db; null on memory://, where a later command finds nothing. */
export const laterCommand = (args: string): string | null => (db?.memory ? null : reevCommand(args));

/** `reev recover` with the command's --db, or null on memory://, where nothing is left to recover once the command exits. */
export const recoverCommand = (): string | null => laterCommand("recover");

/** One command for the user to type: `reev ARGS`, as reev was started, with the --db `db` chooses (the command's by default). */
export const reevCommand = (args: string, options: { db?: DbChoice } = {}): string => reevCommands([args], options);
