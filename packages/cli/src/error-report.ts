// Whatever a command throws becomes one CliError: a sentence in plain words, what to do next, the
// code (for scripts, in --json mode) and the exit code. Codes never lead the words, and the
// database driver's or Prisma's own wording ("Raw query failed. Code: `N/A`") never reaches the user.
import { connectFailure, DatabaseError, maskUrl, resolveTarget, SchemaError } from "@reev/db";
import { andList, closestWord, didYouMean, errorMessage, OrchestratorError } from "@reev/orchestrator";
import { CommanderError } from "commander";
import { CliError, errorText } from "./cli-error.js";
import type { CliIO } from "./context.js";
import { dbArgument, inMemoryNote, reevCommand } from "./hint.js";

// On memory:// there is nothing recorded to look up: the database was made for this command.
const listHint = () => inMemoryNote() ?? `Run ${reevCommand("list")} to see the recorded executions.`;
export const evaluationsHint = () =>
  inMemoryNote() ?? `Run ${reevCommand("evaluations")} to see the recorded evaluations (${reevCommand("list")} for executions).`;

/** An unknown id: reev compare takes evaluation ids (or execution ids), every other command execution ids. */
const notFoundHint = (command: string | undefined) => (command === "compare" ? evaluationsHint() : listHint());

/** Where the command's own help is the next step: `reev list --help`, or `reev --help` outside any command. */
const helpHint = (command: string | undefined) =>
  command
    ? `Run ${reevCommand(`${command} --help`, { db: false })} for its options and examples.`
    : `Run ${reevCommand("--help", { db: false })} to see the commands.`;

/** The errors of several bad files, which loadFlowPlans reports as one (its cause holds each file's). */
const fileErrors = (error: OrchestratorError): unknown[] => (error.cause instanceof AggregateError ? error.cause.errors : []);

const ORCHESTRATOR_HINTS: Partial<Record<string, (error: OrchestratorError) => string>> = {
  INVALID_FLOW: (error) =>
    `Fix the flow file${fileErrors(error).length ? "s" : ""} and run again; ${reevCommand("schema", { db: false })} prints the JSON Schema every flow file must follow.`,
  NOT_FINISHED: () => "Export it once the run has finished.",
  EXPORT_FAILED: () =>
    "Check that a collector (OpenTelemetry Collector, Jaeger, Tempo, Phoenix, Langfuse) listens for OTLP over HTTP at that URL, and the headers it needs (OTEL_EXPORTER_OTLP_HEADERS); then export again.",
};

const DATABASE_HINTS: Partial<Record<string, string>> = {
  TIMEOUT: "Run the command again; if it keeps timing out, the database is overloaded or a long transaction holds it.",
  INTERNAL: "This is unexpected: if it happens again, please report it with the command you ran and this message.",
};

/** Prisma wraps the driver's words in its own; the driver's sentence is the one a person can act on. */
function plainDatabaseWords(message: string): string {
  return message.replace(/Raw query failed\. Code: `[^`]*`\. Message: `([^`]*)`\.?/g, "$1");
}

/** The words inside Node's system error message: "EACCES: permission denied, open 'x'" → "permission denied". */
export function systemErrorWords(error: Error): string {
  return /^E[A-Z]+: (.+?), \w+(?: '.*')?$/.exec(error.message)?.[1] ?? error.message;
}

const isSystemError = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";

/**
 * Which command the arguments were for: `command` when it came first, as it must; `commandLater` when
 * a command name came only after something else (`reev --db x list`).
 */
export type ErrorContext = {
  command?: string | undefined;
  commandLater?: string | undefined;
  /** `reev help TOPIC`: the topic asked for. */
  helpTopic?: string | undefined;
  /** The command names, for a "did you mean" after a mistyped help topic (commander offers none there). */
  commands?: readonly string[] | undefined;
  /** The long flags the command takes (--json, --db, …). */
  options?: readonly string[] | undefined;
  /** The command's arguments and what each is, for a missing one. */
  arguments?: readonly { name: string; description: string }[] | undefined;
  /** The other commands and their long flags: an unknown option one of them takes is said to be theirs. */
  otherCommands?: readonly { name: string; options: readonly string[] }[] | undefined;
};

/**
 * `reev list --format json`: other commands take --format json, this one --json. Commander's guess
 * goes by spelling, and the two are not alike.
 */
const otherCommandsFlag = (flag: string | undefined, options: readonly string[]) =>
  flag && closestWord(flag.replace(/=.*$/, ""), ["--format"]) && options.includes("--json")
    ? `${didYouMean("--json")} This command prints a table, or JSON with --json.`
    : "";

/**
 * `reev demo --concurency 2`: an option this command lacks but others take (or a typo of one), which
 * commander's guess, among this command's own options, cannot name. Said with the commands that take it.
 */
function takenByOthers(flag: string | undefined, command: string | undefined, context: ErrorContext): string {
  const { options = [], otherCommands = [] } = context;
  if (!flag || !command) return "";
  const theirs = [...new Set(otherCommands.flatMap((c) => c.options))].filter((o) => !options.includes(o));
  const meant = closestWord(flag.replace(/=.*$/, ""), theirs);
  if (!meant) return "";
  const takers = otherCommands.filter((c) => c.options.includes(meant)).map((c) => `reev ${c.name}`);
  return ` reev ${command} has no ${meant} option: ${andList(takers)} ${takers.length === 1 ? "takes" : "take"} it.`;
}

/** Commander's words, reworded: no "error:" prefix, no quotes around flags, "did you mean" as a question. */
function parseError(error: CommanderError, context: ErrorContext): CliError {
  const { command, commandLater, helpTopic, commands = [], options = [] } = context;
  const [first = "", suggestion] = error.message.replace(/^error: /, "").split("\n");
  const suggested = suggestion?.replace(/^\(Did you mean (.+)\?\)$/, " Did you mean $1?") ?? "";
  const quoted = [...first.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "");
  const where = command ? ` for reev ${command}` : "";
  const fail = (message: string, field?: string, hint = helpHint(command)) => new CliError("INVALID_ARGUMENT", message, { field, hint });
  switch (error.code) {
    case "commander.unknownOption":
      if (commandLater)
        return fail(
          `Option ${quoted[0]} comes before the command.`,
          quoted[0],
          `Options go after the command name: ${reevCommand(`${commandLater} ${quoted[0]} …`, { db: false })}`,
        );
      return fail(
        `Unknown option ${quoted[0]}${where}.${suggested || otherCommandsFlag(quoted[0], options) || takenByOthers(quoted[0], command, context)}`,
        quoted[0],
      );
    case "commander.unknownCommand":
      return fail(`Unknown command "${quoted[0]}".${suggested}`, "command");
    case "commander.missingArgument": {
      // The argument's own description says what to give: "<flows>" alone named only a placeholder.
      const what = context.arguments?.find((argument) => argument.name === quoted[0])?.description;
      return fail(`The ${command} command needs its <${quoted[0]}>${what ? `: ${what}` : ""}.`, quoted[0]);
    }
    case "commander.optionMissingArgument": {
      const flag = quoted[0]?.replace(/ <.*$/, "");
      return fail(`${flag} needs a value, as in ${quoted[0]}.`, flag);
    }
    case "commander.excessArguments": {
      const expected = /Expected (\d+) arguments? but got (\d+)/.exec(first);
      return fail(`Too many arguments${where}: it takes ${expected?.[1]}, got ${expected?.[2]}.`);
    }
    case "commander.help": {
      // `reev` with no command, or `reev help` for one that does not exist (the help is printed above).
      if (helpTopic === undefined) return fail("No command given.", "command");
      return fail(`Unknown command "${helpTopic}".${didYouMean(closestWord(helpTopic, commands))}`, "command");
    }
    default:
      return fail(`${first.charAt(0).toUpperCase()}${first.slice(1)}${suggested}`);
  }
}

/** Among several bad flow files, the unreadable ones' Node words ("EISDIR: …, read") made plain, as for one file. */
function plainReadWords(error: OrchestratorError): string {
  return fileErrors(error).reduce<string>((message, file) => {
    const cause = file instanceof Error ? file.cause : undefined;
    return isSystemError(cause) ? message.replace(cause.message, `${systemErrorWords(cause)}.`) : message;
  }, error.message);
}

/** Any thrown value, as the CLI tells it; the context names the command, for the help hint. */
export function toCliError(error: unknown, context: ErrorContext = {}): CliError {
  const { command } = context;
  if (CliError.is(error)) return error.hint || error.code !== "INVALID_ARGUMENT" ? error : withHint(error, helpHint(command));
  if (error instanceof CommanderError) return parseError(error, context);
  if (OrchestratorError.is(error)) {
    const badInput = error.code === "INVALID_FLOW" || error.code === "INVALID_ARGUMENT" || error.code === "NOT_FOUND";
    // (An export's cause is a socket's error: its message already says it in words.)
    if (isSystemError(error.cause) && error.code !== "EXPORT_FAILED") {
      // A file that could not be read: Node's own words ("ENOENT: …, open 'x'") become plain ones.
      const message = `${error.message.replace(error.cause.message, systemErrorWords(error.cause))}.`;
      const hint = error.cause.path ? `Check that ${error.cause.path} exists and can be read.` : undefined;
      return new CliError(error.code, message, { field: error.path, hint, exitCode: badInput ? 2 : 1, cause: error });
    }
    const hint =
      error.code === "INVALID_ARGUMENT"
        ? helpHint(command)
        : error.code === "NOT_FOUND"
          ? notFoundHint(command)
          : ORCHESTRATOR_HINTS[error.code]?.(error);
    return new CliError(error.code, plainReadWords(error), { field: error.path, hint, exitCode: badInput ? 2 : 1, cause: error });
  }
  if (DatabaseError.is(error)) {
    const badInput = error.code === "VALIDATION" || error.code === "NOT_FOUND" || error.code === "SCHEMA";
    return new CliError(error.code, plainDatabaseWords(error.message), {
      // The database's `url` is the CLI's --db.
      field: error.field === "url" ? "--db" : error.field,
      hint: error.code === "NOT_FOUND" ? notFoundHint(command) : DATABASE_HINTS[error.code],
      exitCode: badInput ? 2 : 1,
      cause: error,
    });
  }
  if (isSystemError(error)) {
    const what = error.path ? ` ${error.path}` : "";
    return new CliError("IO", `Could not ${error.syscall}${what}: ${systemErrorWords(error)}.`, { cause: error });
  }
  return new CliError("INTERNAL", errorMessage(error), { hint: DATABASE_HINTS.INTERNAL, cause: error });
}

function withHint(error: CliError, hint: string): CliError {
  return new CliError(error.code, error.message, { field: error.field, hint, exitCode: error.exitCode, cause: error.cause });
}

/**
 * The database a PostgreSQL URL that names none connects to, as the driver (pg) picks it:
 * $PGDATABASE, else the user's name. Undefined when the URL names its database (or is not PostgreSQL).
 */
export function unnamedDatabase(url: string | undefined, env: NodeJS.ProcessEnv = process.env): { name: string; from: string } | undefined {
  let parsed: URL;
  try {
    const target = resolveTarget(url);
    if (target.kind !== "postgres") return undefined;
    parsed = new URL(target.url);
  } catch {
    return undefined;
  }
  if (parsed.pathname.replace(/^\//, "") || parsed.searchParams.get("db")) return undefined;
  if (env.PGDATABASE) return { name: env.PGDATABASE, from: "$PGDATABASE" };
  const user = decodeURIComponent(parsed.username) || env.PGUSER || env.USER;
  return user ? { name: user, from: "the user name" } : undefined;
}

/** The URL with reev's own database named in it (password masked), for the hint. */
function withReevDatabase(url: string | undefined): string {
  const parsed = new URL((resolveTarget(url) as { url: string }).url);
  parsed.pathname = "/reev";
  return maskUrl(parsed.toString());
}

/** What to say of a URL that names no database: which one it used, and how to name reev's own. */
function unnamedWords(url: string | undefined, unnamed: { name: string; from: string }, source: string) {
  return {
    message: `The URL names no database, so it defaulted to "${unnamed.name}" (${unnamed.from}).`,
    hint: `Name reev's own database in ${source}, as in ${withReevDatabase(url)} (create it first: createdb reev), then run ${reevCommand("migrate", { db: false })}${source === "--db" ? " --db with that URL" : ""}.`,
  };
}

/**
 * A database that could not be opened, in plain words: for PostgreSQL the driver knows whether the
 * server is unreachable, the database missing or the login refused, and each has its own next step.
 */
export function openFailure(error: unknown, url: string | undefined): unknown {
  // A value set long ago and not on the command line: the error says where it came from.
  if (url === undefined && process.env.REEV_DATABASE_URL?.trim() && DatabaseError.is(error, "VALIDATION") && error.field === "url")
    return new CliError("VALIDATION", `${error.message} It comes from REEV_DATABASE_URL.`, {
      field: "REEV_DATABASE_URL",
      hint: "Fix REEV_DATABASE_URL, or unset it for the embedded database in ./.reev/db; --db overrides it.",
      exitCode: 2,
      cause: error,
    });
  if (!DatabaseError.is(error, "CONNECTION")) return error;
  // Without --db the URL came from the environment: the fix goes where the URL came from.
  const source = url === undefined ? "REEV_DATABASE_URL" : "--db";
  let postgresUrl: string | undefined;
  try {
    const target = resolveTarget(url);
    if (target.kind === "postgres") postgresUrl = target.url;
  } catch {
    // It resolved when the database was opened; without it the sentences still stand.
  }
  const words = connectFailure(error, postgresUrl, source);
  if (!words) return error;
  if (words.missingDatabase !== undefined) {
    // The server answered: the name is wrong or the database not made yet. Bad input (exit 2), like
    // an embedded directory that does not exist, not a failure to connect.
    const unnamed = unnamedDatabase(url);
    const extra = unnamed ? unnamedWords(url, unnamed, source) : undefined;
    return new CliError("SCHEMA", extra ? `${words.message} ${extra.message}` : words.message, {
      field: source,
      hint: extra ? extra.hint : words.hint,
      exitCode: 2,
      cause: error,
    });
  }
  return new CliError("CONNECTION", words.message, { field: source, hint: words.hint, cause: error });
}

/** `reev migrate`, with the --db it needs: as given (password masked, a directory absolute), none when it came from the environment. */
function migrateCommand(url: string | undefined): string {
  return reevCommand("migrate", { db: dbArgument(url) ?? false });
}

/** The next step for each way a database can be unready: the commands that migrate it, or why none will. */
function schemaHint(error: SchemaError, url: string | undefined): string {
  // Without --db: REEV_DATABASE_URL, else the embedded database in ./.reev/db.
  const embedded = resolveTarget(url).kind !== "postgres";
  switch (error.problem.kind) {
    case "missing":
      return `Record a run there first (${reevCommand("run <flow-file>")}, or ${reevCommand("demo")}), or point --db at an existing database.`;
    case "foreign":
      return "reev migrates only an empty database or one it migrated before: create a new database for reev (createdb reev) and point --db at it.";
    case "failed":
      // Migrate resolves it when the catalog proves how it went; when it could not, only a person can.
      return error.unresolved
        ? `Restore the database from a backup taken before the migration, or repair it by hand to match ${error.unresolved.sql} and run ${migrateCommand(url)} again; or point --db at a new database.`
        : `Run ${migrateCommand(url)}: it finds out from the database's tables whether the migration's SQL was applied, records it so and applies what is left, or says why it cannot.`;
    case "empty":
    case "behind": {
      if (embedded) {
        return `Migrate it with ${migrateCommand(url)}; ${reevCommand("run", { db: false })} and ${reevCommand("demo", { db: false })} also migrate the embedded database themselves.`;
      }
      // Not pnpm db:migrate beside it: that reads only REEV_DATABASE_URL, so given --db it migrated
      // another database (./.reev/db) and said "up to date".
      return `Migrate it first with ${migrateCommand(url)}; ${reevCommand("run", { db: false })}, demo and import migrate it themselves with --migrate.`;
    }
  }
}

/**
 * A database that is not ready (code SCHEMA): bad input, exit 2, nothing was done; the hint names
 * the command that migrates it, or says why no command will.
 */
export function schemaFailure(error: unknown, url: string | undefined): unknown {
  if (!SchemaError.isSchemaError(error)) return error;
  const field = url === undefined && process.env.REEV_DATABASE_URL?.trim() ? "REEV_DATABASE_URL" : "--db";
  // A URL without a database lands in the server's default one ("postgres", say): migrating that is
  // not what anyone meant, so the words say which database it was and how to name reev's own.
  const unnamed = error.problem.kind === "empty" || error.problem.kind === "foreign" ? unnamedDatabase(url) : undefined;
  if (unnamed) {
    const words = unnamedWords(url, unnamed, field);
    return new CliError("SCHEMA", `${error.description} ${words.message}`, { field, hint: words.hint, exitCode: 2, cause: error });
  }
  return new CliError("SCHEMA", error.description, { field, hint: schemaHint(error, url), exitCode: 2, cause: error });
}

/** Prints the error on stderr (see errorText). */
export function printError(error: CliError, io: CliIO, json: boolean): void {
  io.stderr.write(errorText(error, json));
}
