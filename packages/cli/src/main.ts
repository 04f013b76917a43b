import { readFileSync } from "node:fs";
import { compileWasmForBriefUse } from "@reev/db/embedded-pglite";
import { Command, CommanderError } from "commander";
import { wantsJson } from "./cli-error.js";
import { registerCompare } from "./commands/compare.js";
import { registerConsolidate } from "./commands/consolidate.js";
import { registerDemo } from "./commands/demo.js";
import { registerDiagram } from "./commands/diagram.js";
import { registerEval } from "./commands/eval.js";
import { registerEvaluations } from "./commands/evaluations.js";
import { registerExport } from "./commands/export.js";
import { registerImport } from "./commands/import.js";
import { registerList } from "./commands/list.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerPurge } from "./commands/purge.js";
import { registerRecover } from "./commands/recover.js";
import { registerRun } from "./commands/run.js";
import { registerSchema } from "./commands/schema.js";
import { registerServe } from "./commands/serve.js";
import { registerShow } from "./commands/show.js";
import { registerStatus } from "./commands/status.js";
import type { CliContext, CliIO } from "./context.js";
import { printError, toCliError } from "./error-report.js";
import { setSuggestionContext } from "./hint.js";
import { endStartupGuard, takesOverInterruptsOf } from "./interrupt.js";

/** @reev/cli's version, from its package.json (one directory up from both src/ and dist/). */
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Every command, in the order `reev --help` lists them. A command is one module: its options, help and action. */
const COMMANDS = [
  registerRun,
  registerEval,
  registerEvaluations,
  registerCompare,
  registerDemo,
  registerList,
  registerShow,
  registerStatus,
  registerConsolidate,
  registerDiagram,
  registerExport,
  registerImport,
  registerMigrate,
  registerServe,
  registerRecover,
  registerPurge,
  registerSchema,
] as const;

/**
 * Commands that read a few rows and exit. Their embedded database skips V8's optimising compiler
 * (compileWasmForBriefUse): `reev list` takes half the CPU and 100 MiB less. The others (run, eval,
 * demo, import, purge, recover, serve, and migrate, which may run initdb and every migration) may
 * write or read for minutes, where optimised code pays.
 */
const BRIEF_COMMANDS = new Set(["list", "show", "status", "diagram", "export", "compare", "evaluations"]);

const OVERVIEW = `
The database is --db, else $REEV_DATABASE_URL, else the embedded PGlite in ./.reev/db;
--db takes postgresql://user:pass@host:5432/db, memory://, or a directory.
A PostgreSQL database is migrated only when asked: reev migrate, or --migrate on run, demo and import;
read commands never change a database.
Exit codes: 0 success, 1 a run or operation failed, 2 bad input (nothing was done), 130 interrupted (Ctrl-C; 143 SIGTERM).
Run reev <command> --help for a command's options and examples.`;

/**
 * The `reev` program, built anew for each call: commander keeps parsed values on its commands. Its
 * output goes to `io` (help to stdout), it never exits the process, and its own error text is not
 * printed: main rewords it (error-report.ts).
 */
function buildProgram(ctx: CliContext, helpOnError: (text: string) => void): Command {
  const program = new Command("reev")
    .description("reev records multi-step agent runs step by step, consolidates each run with honest metrics, and draws it.")
    .version(VERSION, "-V, --version", "print reev's version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: helpOnError,
      outputError: () => {},
    })
    .addHelpText("after", OVERVIEW)
    .hook("preAction", (_program, command) => {
      // From here Ctrl-C is the command's: its own handlers, or Node's default for one that has none.
      if (!takesOverInterruptsOf(command)) endStartupGuard();
      if (BRIEF_COMMANDS.has(command.name())) compileWasmForBriefUse();
      // The commands its messages suggest carry its --db: a copy must read the same database.
      setSuggestionContext({ db: (command.opts() as { db?: string }).db });
    });
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Runs the CLI; resolves to the exit code (0 success, 1 failure, 2 bad input). Never throws, never exits. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  setSuggestionContext({});
  let help = "";
  const program = buildProgram(ctx, (text) => {
    help += text;
  });
  // Options only follow the command, so the command is the first argument: `reev --db x list` names
  // `list` too late, and the error says where its options go.
  const named = argv.find((arg) => program.commands.some((c) => c.name() === arg));
  const command = named !== undefined && named === argv[0] ? named : undefined;
  const json = wantsJson(argv);
  // `reev lsit --help`: commander answers --help before it looks at the command, with the general
  // help and exit 0, as if lsit were a command. An unknown first word is the error, help or not.
  const unknownFirst = argv[0] !== undefined && !argv[0].startsWith("-") && argv[0] !== "help" && named !== argv[0];
  const parsed = unknownFirst ? argv.filter((arg) => arg !== "--help" && arg !== "-h") : argv;
  try {
    await program.parseAsync(parsed, { from: "user" });
    return ctx.exitCode;
  } catch (thrown) {
    // --help and --version end the parse by "throwing" an exit code of 0.
    if (thrown instanceof CommanderError && thrown.exitCode === 0) return 0;
    const helpTopic = argv[0] === "help" ? argv[1] : undefined;
    const commands = program.commands.map((c) => c.name());
    // Help for an unknown topic is the general help, which buried the one line that matters: the
    // suggestion. It is the error alone, as for `reev lsit`.
    const unknownTopic = helpTopic !== undefined && !commands.includes(helpTopic);
    if (!json && !unknownTopic) io.stderr.write(help);
    const flags = (c: Command) => c.options.map((o) => o.long ?? "");
    const own = program.commands.find((c) => c.name() === command);
    const options = own && flags(own);
    const otherCommands = program.commands.filter((c) => c.name() !== command).map((c) => ({ name: c.name(), options: flags(c) }));
    const args = own?.registeredArguments.map((argument) => ({ name: argument.name(), description: argument.description }));
    const error = toCliError(thrown, {
      command,
      commandLater: command ? undefined : named,
      helpTopic,
      commands,
      options,
      arguments: args,
      otherCommands,
    });
    printError(error, io, json);
    return error.exitCode;
  }
}
