import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { CliContext, CliIO } from "../context.js";
import { EXAMPLES_DIR } from "../examples-dir.js";
import { inMemoryNote, recoverCommand, reevCommand, reevCommands } from "../hint.js";
import { interruptExitCode, runNotices, takesOverInterrupts, withInterrupts } from "../interrupt.js";
import { type DbOptions, dbOption, examples, type MigrateOptions, migrateOption } from "../options.js";
import { checkOutDirectoryOption } from "../output-file.js";
import { PRICES_HELP, pricesOption } from "../prices.js";
import { afterRuns, executeFlows, runsSummary, startedRuns } from "./run.js";

export function registerDemo(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before anything else: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("demo"))
    .summary("run the bundled example flows")
    .description("Run the bundled example flows at once with the scripted agent, and draw each run.")
    .option("--out <dir>", "where each run's .mmd and .html diagrams go", "reev-out")
    .addOption(pricesOption("model prices per million tokens (YAML or JSON): each run's consolidated cost"))
    .addOption(dbOption())
    .addOption(migrateOption())
    .addHelpText(
      "after",
      [
        examples([
          ["reev demo", "on the embedded database in ./.reev/db; diagrams in ./reev-out"],
          ["reev demo --db memory://", "on a throw-away in-memory database"],
          ["reev demo --db postgresql://localhost/reev --migrate", "on PostgreSQL, migrating it first"],
        ]),
        "",
        PRICES_HELP,
      ].join("\n"),
    )
    .action(async (options: DbOptions & MigrateOptions & { out: string; prices?: string | undefined }) => {
      checkOutDirectoryOption(options.out, "demo");
      ctx.exitCode = await demoCommand(
        { db: options.db, migrate: options.migrate ?? false, out: options.out, prices: options.prices },
        ctx.io,
      );
    });
}

/** `reev demo`: every example flow at once with the scripted agent. */
export async function demoCommand(
  options: { db: string | undefined; migrate: boolean; out: string; prices?: string | undefined },
  io: CliIO,
): Promise<number> {
  const files = readdirSync(EXAMPLES_DIR)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
  const { onRunStart, onRunEnd, runsStarted, runsGoing } = startedRuns();
  const { value: report, interrupted } = await withInterrupts(
    io,
    (signal) =>
      executeFlows(
        {
          files,
          agent: "scripted",
          db: options.db,
          migrate: options.migrate,
          concurrency: files.length,
          repeat: 1,
          out: options.out,
          consolidate: true,
          // The demo is there to be looked at: its diagrams are what its closing words point at.
          diagrams: true,
          prices: options.prices,
          signal,
          onRunStart,
          onRunEnd,
          // Once the prices and the database have passed their checks: a failed one is the only line.
          onStart: () =>
            io.stderr.write(`reev demo: ${files.length} example flows from ${EXAMPLES_DIR}, run at once with the scripted agent.\n`),
        },
        io,
      ),
    { notices: runNotices({ runsStarted, runsGoing, recover: recoverCommand(), after: afterRuns({ consolidate: true, diagrams: true }) }) },
  );
  if (interrupted && report.results.length === 0) {
    // Stopped before any run began: no run, no diagram to point at.
    io.stdout.write(`\nThe demo was interrupted before any run started: nothing was recorded. Run ${reevCommand("demo")} again.\n`);
    return interruptExitCode(interrupted);
  }
  // Interrupted, the runs were cancelled rather than failing as the examples mean to: that is not said of them.
  const why = interrupted
    ? "The demo was interrupted, so its runs were cancelled where they stood"
    : "Some runs fail on purpose (a swap with invalid parameters, a step that hangs until its timeout)";
  io.stdout.write(
    `\n${why}:\ntheir status says so, and the diagrams show where. Open the .html files in a browser.\n` +
      `${inMemoryNote() ?? `Next: ${reevCommands(["list", "show <executionId>", "diagram <executionId> --format html --out run.html"])}`}\n` +
      `\n${runsSummary(report)}\n`,
  );
  if (interrupted) return interruptExitCode(interrupted);
  // The demo worked when every run was recorded and consolidated, whatever the runs' own outcome.
  return !report.failures && report.results.every((r) => r.consolidation.status === "completed") ? 0 : 1;
}
