import { parseArgs } from "node:util";
import { DatabaseError, ZExecutionStatus } from "@reev/db";
import { errorMessage, OrchestratorError } from "@reev/orchestrator";
import { demoCommand } from "./commands/demo.js";
import { diagramCommand, exportCommand } from "./commands/export.js";
import { importCommand } from "./commands/import.js";
import { listCommand, recoverCommand, showCommand, statusCommand } from "./commands/inspect.js";
import { runCommand } from "./commands/run.js";
import { type CliIO, withDatabase } from "./context.js";

const USAGE = `reev — record, consolidate and draw multi-step agent runs

Usage:
  reev run <flow-file>... [--agent scripted|openai] [--tools MODULE] [--db URL] [--concurrency N] [--repeat N] [--out DIR] [--no-consolidate]
  reev demo [--db URL] [--out DIR]          run the bundled examples on the embedded database
  reev list [--status S] [--limit N] [--offset N] [--db URL]
  reev show <executionId> [--db URL]
  reev status <executionId> [--db URL]
  reev diagram <executionId|consolidatedId> [--format mmd|html] [--out FILE] [--db URL]
  reev export <executionId> [--format json|jsonl] [--out FILE] [--db URL]
  reev import <file> [--db URL]             load an export (JSON or JSONL) in one transaction
  reev recover [--older-than MS] [--dry-run] [--db URL]   (default: transactions open over an hour)

--agent openai uses OPENAI_BASE_URL, OPENAI_MODEL and OPENAI_API_KEY; --tools names a JS module that
exports the tool handlers ({ name: { run(input, signal) } }) the model's tool calls are run with.
The database defaults to REEV_DATABASE_URL, else the embedded PGlite in ./.reev/db.
--db takes postgresql://…, memory://, or a directory.
Exit codes: 0 success, 1 a run failed (or an operation failed), 2 bad input.`;

/**
 * `reev recover` rolls back transactions older than this unless told otherwise: a live atomic run
 * keeps its transaction open while agents think, and recovering it would undo a run in progress.
 */
const RECOVER_DEFAULT_AGE_MS = 60 * 60 * 1000;

function positiveInt(value: string | undefined, flag: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new OrchestratorError("INVALID_ARGUMENT", `${flag} must be an integer ${range}, got "${value}"`, { path: flag });
  }
  return n;
}

/** Runs per command and runs at once: beyond these a typo, not a plan (each run is held in memory). */
const MAX_REPEAT = 100_000;
const MAX_CONCURRENCY = 1_000;

function oneId(positionals: string[], what: string): string {
  const [id, ...extra] = positionals;
  if (!id || extra.length) throw new OrchestratorError("INVALID_ARGUMENT", `Expected exactly one ${what}`, { path: what });
  return id;
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  const { values: v, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      db: { type: "string" },
      agent: { type: "string", default: "scripted" },
      tools: { type: "string" },
      concurrency: { type: "string" },
      repeat: { type: "string" },
      out: { type: "string" },
      "no-consolidate": { type: "boolean", default: false },
      status: { type: "string" },
      limit: { type: "string" },
      offset: { type: "string" },
      format: { type: "string" },
      "older-than": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help || command === "help" || command === "--help" || command === "-h") {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  switch (command) {
    case "run": {
      if (!positionals.length)
        throw new OrchestratorError("INVALID_ARGUMENT", "reev run needs at least one flow file", { path: "flow-file" });
      return runCommand(
        {
          files: positionals,
          agent: v.agent ?? "scripted",
          tools: v.tools,
          db: v.db,
          concurrency: positiveInt(v.concurrency, "--concurrency", 4, 1, MAX_CONCURRENCY),
          repeat: positiveInt(v.repeat, "--repeat", 1, 1, MAX_REPEAT),
          out: v.out ?? "reev-out",
          consolidate: !v["no-consolidate"],
        },
        io,
      );
    }
    case "demo":
      return demoCommand({ db: v.db, out: v.out ?? "reev-out" }, io);
    case "list": {
      const status = v.status === undefined ? undefined : ZExecutionStatus.safeParse(v.status);
      if (status && !status.success)
        throw new OrchestratorError("INVALID_ARGUMENT", `Unknown status "${v.status}": use ${ZExecutionStatus.options.join(", ")}`, {
          path: "--status",
        });
      // Arguments are checked before the database is opened: bad input must not create or lock it.
      const query = {
        ...(status?.data ? { status: status.data } : {}),
        limit: positiveInt(v.limit, "--limit", 50),
        offset: positiveInt(v.offset, "--offset", 0, 0),
      };
      return withDatabase(v.db, (db) => listCommand(db, query, io));
    }
    case "show": {
      const id = oneId(positionals, "executionId");
      return withDatabase(v.db, (db) => showCommand(db, id, io));
    }
    case "status": {
      const id = oneId(positionals, "executionId");
      return withDatabase(v.db, (db) => statusCommand(db, id, io));
    }
    case "diagram": {
      const id = oneId(positionals, "executionId or consolidatedId");
      return withDatabase(v.db, (db) => diagramCommand(db, id, { format: v.format ?? "mmd", out: v.out }, io));
    }
    case "export": {
      const id = oneId(positionals, "executionId");
      return withDatabase(v.db, (db) => exportCommand(db, id, { format: v.format ?? "json", out: v.out }, io));
    }
    case "import": {
      const file = oneId(positionals, "file");
      return withDatabase(v.db, (db) => importCommand(db, file, io));
    }
    case "recover": {
      const options = {
        olderThanMs: positiveInt(v["older-than"], "--older-than", RECOVER_DEFAULT_AGE_MS, 0),
        dryRun: v["dry-run"] ?? false,
      };
      return withDatabase(v.db, (db) => recoverCommand(db, options, io));
    }
    default:
      throw new OrchestratorError("INVALID_ARGUMENT", command ? `Unknown command "${command}"` : "No command given");
  }
}

const BAD_INPUT_DB = new Set(["VALIDATION", "NOT_FOUND"]);
const BAD_INPUT_ORCHESTRATOR = new Set(["INVALID_FLOW", "INVALID_ARGUMENT", "NOT_FOUND"]);

/** Runs the CLI; resolves to the exit code (0 success, 1 failure, 2 bad input). */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    const badArgs = (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") ?? false;
    const badInput =
      (OrchestratorError.is(error) && BAD_INPUT_ORCHESTRATOR.has(error.code)) ||
      (DatabaseError.is(error) && BAD_INPUT_DB.has(error.code)) ||
      badArgs;
    const label = OrchestratorError.is(error) || DatabaseError.is(error) ? `${error.code}: ` : "";
    io.stderr.write(`reev: ${label}${errorMessage(error)}\n`);
    if (OrchestratorError.is(error, "INVALID_ARGUMENT") || badArgs) io.stderr.write("Run reev --help for usage.\n");
    return badInput ? 2 : 1;
  }
}
