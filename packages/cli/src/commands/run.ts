import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Database, EXECUTION_STATUSES } from "@reev/db";
import {
  type Agent,
  costUnknownNote,
  type ExecutionResult,
  errorMessage,
  type FlowPlan,
  formatDuration,
  missingOpenAIEnvironment,
  OPENAI_ENVIRONMENT,
  OpenAIChatAgent,
  PingPongExecutor,
  parseConsolidatedContent,
  type RunChecks,
  type RunVerdict,
  reportedNoUsage,
  runVerdict,
  runVerdictText,
  ScriptedAgent,
  type ToolHandler,
  unscriptedProblem,
} from "@reev/orchestrator";
import type { Command } from "commander";
import { checksCell, failedCheckLines } from "../check-lines.js";
import { CliError, invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, changedNow, withDatabase } from "../context.js";
import { drawRun } from "../draw-run.js";
import { toCliError } from "../error-report.js";
import { loadFlowFiles } from "../flow-files.js";
import { counted, formatBytes, formatScore, metricsLine, runStatusLabel, statusLabel, toolCallsMade } from "../format.js";
import { laterCommand, recoverCommand, reevCommand, shellWord } from "../hint.js";
import { type AfterRuns, interruptExitCode, runNotices, takesOverInterrupts, withInterrupts } from "../interrupt.js";
import { type DbOptions, dbOption, examples, integer, type MigrateOptions, migrateOption, oneOf } from "../options.js";
import { RunExports } from "../otlp-export.js";
import { checkOutDirectoryOption, writeOutputFile } from "../output-file.js";
import { loadPrices, PRICES_HELP, pricesOption } from "../prices.js";
import { ProgressReporter, runName } from "../progress.js";
import { clip, renderTable } from "../text-table.js";

export const AGENTS = ["scripted", "openai"] as const;
export type AgentName = (typeof AGENTS)[number];
/** Runs per command and runs at once: beyond these a typo, not a plan (each run is held in memory). */
const MAX_REPEAT = 100_000;
const MAX_CONCURRENCY = 1_000;

type RunFlags = DbOptions &
  MigrateOptions & {
    agent: AgentName;
    tools?: string | undefined;
    concurrency: number;
    repeat: number;
    out: string;
    consolidate: boolean;
    diagrams: boolean;
    otlpEndpoint?: string | undefined;
    prices?: string | undefined;
  };

export function registerRun(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before anything else: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("run"))
    .summary("run flow files, recording every step")
    .description("Run flow files with an agent, recording every step; then consolidate and draw each run.")
    .argument("<flow-file...>", "flow files, YAML or JSON (reev schema prints their JSON Schema), or directories of them")
    .option("--agent <agent>", "scripted (replays each step's script) or openai", oneOf("--agent", "agent", AGENTS), "scripted")
    .option("--tools <module>", "with --agent openai: a JS module exporting the tool handlers the model's calls run with")
    .option("--concurrency <n>", `runs at once, 1 to ${MAX_CONCURRENCY}`, integer("--concurrency", 1, MAX_CONCURRENCY), 4)
    .option("--repeat <n>", `run each flow this many times, 1 to ${MAX_REPEAT}`, integer("--repeat", 1, MAX_REPEAT), 1)
    .option("--out <dir>", "where each run's .mmd and .html diagrams go", "reev-out")
    .option("--no-consolidate", "record the steps only: no consolidated session, no diagrams")
    .option("--no-diagrams", "consolidate each run as usual but write no .mmd or .html (reev diagram draws one later)")
    .addOption(pricesOption("model prices per million tokens (YAML or JSON): each run's consolidated cost"))
    .option(
      "--otlp-endpoint <url>",
      "send each run as OpenTelemetry spans to this OTLP/HTTP traces endpoint when it finishes (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces when set, else no export)",
    )
    .addOption(dbOption())
    .addOption(migrateOption())
    .addHelpText(
      "after",
      [
        examples([
          ["reev run flow.yaml", "one run with the scripted agent, on the embedded database"],
          ["reev run a.yaml b.json --repeat 5 --concurrency 8", "ten runs, eight at a time"],
          ["reev run flows/ --repeat 60 --no-diagrams", "many runs, consolidated, without a diagram file each"],
          ["reev run flow.yaml --agent openai --tools tools.mjs", "a real model (see below)"],
          ["reev run flow.yaml --db postgresql://localhost/reev --migrate", "on PostgreSQL, migrating it first"],
          ["reev run flow.yaml --agent openai --prices prices.yaml", "and the cost of each run's tokens"],
        ]),
        "",
        "--agent openai talks to an OpenAI-compatible /v1/chat/completions endpoint: OPENAI_BASE_URL and",
        "OPENAI_MODEL must be set (there is no default endpoint or model), OPENAI_API_KEY when it needs one. --tools names a module whose default export maps tool names to",
        "{ run(input, signal) } handlers; a call without a handler is recorded as failed.",
        "Ctrl-C (or SIGTERM) stops each run's current step, finishes the runs as cancelled with what they had",
        "recorded, prints the summary and exits 130 (143 for SIGTERM); a second Ctrl-C exits at once, and",
        "reev recover finishes the runs later.",
        PRICES_HELP,
        "Exit codes: 0 every run completed and passed its expect checks, 1 a run did not, 2 bad input (nothing ran), 130/143 interrupted.",
      ].join("\n"),
    )
    .action(async (files: string[], flags: RunFlags) => {
      // Without consolidation (or with --no-diagrams) no diagram is drawn, so --out is not used and not checked.
      if (flags.consolidate && flags.diagrams) checkOutDirectoryOption(flags.out, "run");
      ctx.exitCode = await runCommand({ ...flags, files, db: flags.db, migrate: flags.migrate ?? false }, ctx.io);
    });
}

export type RunOptions = {
  /** Flow files, or directories of them. */
  files: string[];
  agent: AgentName;
  /** A module of tool handlers for the openai agent. */
  tools?: string | undefined;
  db: string | undefined;
  /** Migrate a PostgreSQL database first (the embedded one migrates itself). */
  migrate: boolean;
  concurrency: number;
  repeat: number;
  out: string;
  consolidate: boolean;
  /** Write each consolidated run's .mmd and .html into `out` (false: --no-diagrams, `reev diagram` draws one later). */
  diagrams: boolean;
  /** Cancels the runs (Ctrl-C): runs in progress end cancelled, runs not yet started never start. */
  signal?: AbortSignal;
  /** Send each finished run to this OTLP/HTTP traces endpoint (else where OTEL_EXPORTER_OTLP_* say, if set). */
  otlpEndpoint?: string | undefined;
  /** A price file (--prices): each run's consolidation prices its tokens with it; without one the cost is unknown. */
  prices?: string | undefined;
  /**
   * Called once every check has passed (flows, prices, agent, database) and before the first run:
   * where a caller's banner goes, so a command that fails its checks does not first announce its runs.
   */
  onStart?: () => void;
  /** Called as each run starts, so a Ctrl-C notice can say whether any has (see startedRuns). */
  onRunStart?: () => void;
  /** Called as each run ends recorded, so a second Ctrl-C's notice can say whether one is still going. */
  onRunEnd?: () => void;
};

/**
 * The tool implementations for `--agent openai`: a JS module whose default export (or `tools`
 * export) maps tool names to `{ run(input, signal), description?, parameters? }`.
 */
async function loadTools(path: string): Promise<Record<string, ToolHandler>> {
  let mod: { default?: unknown; tools?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as typeof mod;
  } catch (error) {
    throw new CliError("INVALID_ARGUMENT", `Could not load the tools module ${path}: ${errorMessage(error)}`, {
      field: "--tools",
      hint: "Check the path given to --tools: it names a JS module (.mjs or .js).",
      cause: error,
    });
  }
  const tools = mod.default ?? mod.tools;
  const entries = tools && typeof tools === "object" ? Object.entries(tools) : [];
  const bad = entries.find(([, t]) => typeof (t as { run?: unknown })?.run !== "function");
  if (!entries.length || bad) {
    const why = bad ? `tool "${bad[0]}" has no run(input, signal) function` : "it exports no tools (default export or `tools`)";
    throw invalidArgument(`The tools module ${path} is not usable: ${why}.`, "--tools");
  }
  return Object.fromEntries(entries) as Record<string, ToolHandler>;
}

/**
 * What the chosen agent needs, checked before anything is opened (by reev run and reev eval alike):
 * the scripted agent a script for every step in each of the `runs` repetitions (it would otherwise
 * have to invent the step's tool calls), the openai agent its endpoint and model, named explicitly
 * (never a public endpoint by default).
 */
export function checkAgentInput(name: AgentName, plans: readonly { file: string; plan: FlowPlan }[], runs = 1): void {
  if (name === "openai") {
    const missing = missingOpenAIEnvironment();
    if (missing.length) {
      throw new CliError("INVALID_ARGUMENT", `--agent openai needs ${missing.join(" and ")} set explicitly; nothing was run.`, {
        field: missing[0],
        hint: missing.map((m) => `${m}: ${OPENAI_ENVIRONMENT[m]}`).join("; "),
      });
    }
    return;
  }
  for (const { file, plan } of plans) {
    const problem = unscriptedProblem(plan, { source: file, agent: "--agent scripted", runs });
    if (!problem) continue;
    throw new CliError("INVALID_ARGUMENT", problem.message, {
      field: problem.path,
      hint:
        problem.run === null
          ? `Give the step a script (see ${reevCommand("schema", { db: false })}), or run the flow with a real agent: --agent openai.`
          : `Give the step a script for every run (script, or scriptByRun["${problem.run}"]; see ${reevCommand("schema", { db: false })}), or run the flow with a real agent: --agent openai.`,
    });
  }
}

export async function createAgent(name: AgentName, toolsModule?: string): Promise<Agent> {
  if (name === "openai") return new OpenAIChatAgent(toolsModule ? { tools: await loadTools(toolsModule) } : {});
  if (toolsModule) throw invalidArgument("--tools goes with --agent openai: the scripted agent replays each step's script.", "--tools");
  return new ScriptedAgent();
}

/**
 * Runs `tasks` with at most `limit` in flight, keeping results in task order. Once `signal` aborts,
 * no further task starts: the results of those are missing (a sparse array).
 */
async function pool<T, R>(tasks: readonly T[], limit: number, fn: (task: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !signal?.aborted) {
      const index = next++;
      results[index] = await fn(tasks[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * After a consolidation that was skipped, failed or timed out, the command that consolidates the run later; none
 * on memory://, gone with this command, and none for a run with nothing to consolidate (rolled back).
 */
function consolidateLater(result: ExecutionResult): string {
  if (result.consolidation.status === "completed" || result.status === "rolled_back") return "";
  const later = laterCommand(`consolidate ${shellWord(result.executionId)}`);
  return later ? `; ${later} consolidates it` : "";
}

/**
 * Whether a run's cost note is said once for the whole command instead of under it: the scripted agent
 * reports only the usage its scripts give, so a run whose attempts gave none at all is by design, and
 * the same line under every run of the demo says nothing new. A run with usage partly missing, or
 * another agent's, keeps its own line: that is a real gap.
 */
const noUsageByScript = (agent: AgentName, result: ExecutionResult) =>
  agent === "scripted" && reportedNoUsage(result.consolidation.costGaps);

/** The one line said for the runs noUsageByScript leaves without their own: all the command's runs, or `runs` of `of`. */
export function scriptedNoUsageLine(runs: number, of: number): string {
  return runs === of
    ? "The scripted agent reports no token usage (its scripts give none), so tokens and cost show —."
    : `The scripted agent reports no token usage for ${runs} of ${counted(of, "run")} (their scripts give none), so their tokens and cost show —.`;
}

/** A run's stored `expect` verdicts and their sum: what its summary and its diagrams show, and what its exit code counts. */
type StoredRunChecks = { checks: RunChecks; verdict: RunVerdict | null };

async function storedChecks(db: Database, result: ExecutionResult): Promise<StoredRunChecks> {
  const checks = await db.writer.getChecks(result.executionId);
  return { checks, verdict: runVerdict(checks, (i) => result.stepResults.find((s) => s.stepIndex === i)?.stepId) };
}

function summary(result: ExecutionResult, run: number | undefined, { checks, verdict }: StoredRunChecks, costSaidOnce: boolean): string {
  const m = result.consolidation.metadata;
  const infrastructure = result.stepResults.filter((s) => !s.success && s.errorKind === "infrastructure").length;
  const steps = `${result.completedSteps}/${result.totalSteps} steps succeeded${infrastructure ? ` (${infrastructure} failed by infrastructure errors, not the agent)` : ""}`;
  const head = [
    `${runStatusLabel(result.status, verdict)}  ${runName(result.flowId, run)}  ${result.executionId}`,
    `  ${steps} · wall time ${formatDuration(result.durationMs)}`,
    ...(m ? [`  ${metricsLine(m)}`] : []),
    ...(costSaidOnce ? [] : costUnknownNote(result.consolidation.costGaps).map((note) => `  ${note}`)),
    ...(verdict ? [`  checks: ${runVerdictText(verdict)}`] : []),
    ...(result.error ? [`  error: ${result.error}`] : []),
    `  consolidation: ${result.consolidation.status}${result.consolidatedSessionId ? ` (${result.consolidatedSessionId})` : ""}${result.consolidation.status !== "completed" && result.consolidation.error ? ` — ${result.consolidation.error}` : ""}${consolidateLater(result)}`,
  ];
  // The checks column only for runs whose flow had step expect blocks, as in reev show.
  const withChecks = checks.steps.size > 0;
  const rows = result.stepResults.map((s) => [
    String(s.stepIndex),
    s.stepId,
    statusLabel(s.status),
    formatDuration(s.durationMs),
    String(toolCallsMade(s)),
    String(s.attempts),
    formatScore(s.score),
    ...(withChecks ? [checksCell(checks.steps.get(s.stepIndex))] : []),
    clip(s.error ?? "", 60),
  ]);
  const header = ["#", "step", "status", "duration", "tools", "tries", "score", ...(withChecks ? ["checks"] : []), "error"];
  const table = renderTable(header, rows, new Set([0, 3, 4, 5, 6]));
  // Why each check failed, under the table as reev show says it.
  const reasons = [
    ...failedCheckLines("flow", checks.flow),
    ...result.stepResults.flatMap((s) => failedCheckLines(`step ${s.stepIndex} ${s.stepId}`, checks.steps.get(s.stepIndex))),
  ];
  return `${head.join("\n")}\n\n${[table, ...reasons].join("\n").replace(/^/gm, "  ")}\n`;
}

/**
 * The diagrams' file name: the execution id, which embeds the flow file's `flowId`, so it may hold
 * path separators ("a/../../x" would write outside --out) or be too long for a file name (255 bytes).
 */
export function diagramFileStem(executionId: string): string {
  const safe = executionId.replace(/[/\\]/g, "_");
  if (Buffer.byteLength(safe) <= 200) return safe;
  let head = "";
  for (const ch of safe) {
    if (Buffer.byteLength(head + ch) > 180) break;
    head += ch;
  }
  return `${head}_${createHash("sha256").update(executionId).digest("hex").slice(0, 12)}`;
}

/**
 * Writes the run's diagram as Mermaid source and as a self-contained HTML page: what `reev diagram`
 * draws for the run (drawRun), from the stored session, execution and verdicts.
 */
async function writeDiagrams(db: Database, result: ExecutionResult, checks: RunChecks, outDir: string): Promise<string[]> {
  if (!result.consolidatedSessionId) return [];
  const content = await db.writer.getConsolidatedSession(result.consolidatedSessionId, result.executionId);
  const execution = await db.writer.getExecutionSession(result.executionId);
  if (!content || !execution) return [];
  const stem = diagramFileStem(result.executionId);
  const mmd = join(outDir, `${stem}.mmd`);
  const html = join(outDir, `${stem}.html`);
  // Parsed once for both (a 10,000-step run's document is ~30 MB).
  const parsed = parseConsolidatedContent(content);
  await writeOutputFile(mmd, drawRun("mmd", parsed, execution, checks));
  await writeOutputFile(html, drawRun("html", parsed, execution, checks));
  return [mmd, html];
}

/**
 * After the list of several runs' diagrams, what they came to, so many runs filling a disk is seen
 * ("Diagrams: 480 files, 827.1 MB in …"), naming reev run: reev demo, which prints it too, has no
 * --no-diagrams; "" for one run, whose two files say it already.
 */
async function diagramsTotal(files: readonly string[], outDir: string): Promise<string> {
  if (files.length <= 2) return "";
  const bytes = (await Promise.all(files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0);
  return `Diagrams: ${counted(files.length, "file")}, ${formatBytes(bytes)} in ${outDir} (reev run --no-diagrams writes none).\n`;
}

/** With --no-diagrams, how to draw one of the consolidated runs later; "" when none was consolidated. */
export function drawLaterLine(results: readonly ExecutionResult[]): string {
  const drawn = results.filter((r) => r.consolidatedSessionId);
  if (!drawn.length) return "";
  const id = drawn.length === 1 ? shellWord(drawn[0]?.executionId ?? "") : "<executionId>";
  const later = laterCommand(`diagram ${id} --out run.html`);
  return later
    ? `\nNo diagrams written (--no-diagrams): ${later} draws one.\n`
    : "\nNo diagrams written (--no-diagrams), and the in-memory database goes with this command: none can be drawn later.\n";
}

/**
 * `failures`: executions that could not be recorded at all (they have no result); `notStarted`: runs
 * an interruption kept from starting. `exported`: false when runs were to be sent to an OpenTelemetry
 * endpoint and some were not. `failedChecks`: the ids of the runs that failed an `expect` check.
 */
type RunReport = {
  results: ExecutionResult[];
  files: string[];
  failures: number;
  notStarted: number;
  exported: boolean;
  failedChecks: ReadonlySet<string>;
};

/** Loads every flow and the price file first, so a bad file fails before anything runs or is written. */
export async function executeFlows(options: RunOptions, io: CliIO): Promise<RunReport> {
  const { files: flowFiles, plans: loaded } = await loadFlowFiles(options.files);
  const prices = await loadPrices(options.prices);
  if (options.agent === "scripted" && options.tools) {
    throw invalidArgument("--tools goes with --agent openai: the scripted agent replays each step's script.", "--tools");
  }
  checkAgentInput(
    options.agent,
    loaded.map((plan, i) => ({ file: flowFiles[i] ?? "", plan })),
  );
  const agent = await createAgent(options.agent, options.tools);
  // Numbered only when a flow runs more than once: a single run's lines read as they always did.
  const tasks = loaded.flatMap((plan) =>
    Array.from({ length: options.repeat }, (_, i) => ({ plan, run: options.repeat > 1 ? i + 1 : undefined })),
  );
  // Interrupted while the flows loaded: no run started and none will, so no database is opened.
  if (options.signal?.aborted)
    return { results: [], files: [], failures: 0, notStarted: tasks.length, exported: true, failedChecks: new Set() };
  const exports = await RunExports.open(options.otlpEndpoint, options.signal);
  return withDatabase(options.db, options.migrate ? "migrate" : "write", async (db) => {
    options.onStart?.();
    // A signal while the database opened (making a new embedded one takes seconds) was said at once,
    // so this line comes after its notice: it says how the two go together.
    const interrupted = options.signal?.aborted ? ": opened as the interrupt came, so no run starts in it" : "";
    io.stderr.write(`Database: ${db.description}${changedNow(db)}${interrupted}\n`);
    if (exports) io.stderr.write(`OpenTelemetry: each run is sent to ${exports.endpoint} when it finishes\n`);
    const progress = new ProgressReporter(io.stderr);
    const executor = new PingPongExecutor(db, { prices });
    let settled: PromiseSettledResult<ExecutionResult>[];
    try {
      // Settled, not all-or-nothing: one execution that cannot be recorded must not close the
      // database under the others still running.
      settled = await pool(
        tasks,
        options.concurrency,
        ({ plan, run }) => {
          options.onRunStart?.();
          return executor
            .execute(plan, agent, {
              onEvent: progress.handler(run),
              consolidate: options.consolidate,
              ...(options.signal ? { signal: options.signal } : {}),
            })
            .then(
              async (value): Promise<PromiseSettledResult<ExecutionResult>> => {
                options.onRunEnd?.();
                await exports?.send(db, value.executionId);
                return { status: "fulfilled", value };
              },
              (reason: unknown): PromiseSettledResult<ExecutionResult> => ({ status: "rejected", reason }),
            );
        },
        options.signal,
      );
    } finally {
      progress.stop();
      await exports?.close();
    }
    const results: ExecutionResult[] = [];
    const files: string[] = [];
    const failedChecks = new Set<string>();
    for (const [i, outcome] of settled.entries()) {
      if (!outcome) continue; // never started: the command was interrupted first
      if (outcome.status === "rejected") {
        const reason = toCliError(outcome.reason, { command: "run" }).message;
        const task = tasks[i];
        io.stdout.write(
          `\n${statusLabel("failed")}  ${task ? runName(task.plan.flowId, task.run) : ""}: the execution could not be recorded: ${reason}\n`,
        );
        continue;
      }
      results.push(outcome.value);
      // Read back as stored, as reev show and reev diagram read them.
      const checks = await storedChecks(db, outcome.value);
      if (checks.verdict?.passed === false) failedChecks.add(outcome.value.executionId);
      io.stdout.write(`\n${summary(outcome.value, tasks[i]?.run, checks, noUsageByScript(options.agent, outcome.value))}`);
      if (options.diagrams) files.push(...(await writeDiagrams(db, outcome.value, checks.checks, resolve(options.out))));
    }
    const noUsage = results.filter((r) => noUsageByScript(options.agent, r)).length;
    if (noUsage) io.stdout.write(`\n${scriptedNoUsageLine(noUsage, results.length)}\n`);
    if (files.length)
      io.stdout.write(`\nDiagrams:\n${files.map((f) => `  ${f}`).join("\n")}\n${await diagramsTotal(files, resolve(options.out))}`);
    if (!options.diagrams) io.stdout.write(drawLaterLine(results));
    const started = settled.filter(Boolean).length;
    const exported = exports?.report(io) ?? true;
    return { results, files, failures: started - results.length, notStarted: tasks.length - started, exported, failedChecks };
  });
}

/**
 * The last line of a command that ran several flows: "6 runs: 4 completed, 1 failed, 1 timed_out".
 * Counted by each result's own status, so a status added later is counted without a change here;
 * completed and failed are always named, the others when they occur. Completed runs that failed an
 * `expect` check are said among the completed ("4 completed (1 failed a check)"): they did not pass.
 */
export function runsSummary({
  results,
  failures,
  notStarted = 0,
  failedChecks = new Set(),
}: Pick<RunReport, "results" | "failures"> & Partial<Pick<RunReport, "failedChecks">> & { notStarted?: number }): string {
  const counts = new Map<string, number>([
    ["completed", 0],
    ["failed", 0],
  ]);
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const rank = (status: string) => {
    const i = (EXECUTION_STATUSES as readonly string[]).indexOf(status);
    return i === -1 ? EXECUTION_STATUSES.length : i;
  };
  const completedFailingChecks = results.filter((r) => r.status === "completed" && failedChecks.has(r.executionId)).length;
  const checksNote = (status: string) =>
    status === "completed" && completedFailingChecks ? ` (${completedFailingChecks} failed a check)` : "";
  const parts = [...counts]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([status, n]) => `${n} ${status}${checksNote(status)}`);
  if (failures) parts.push(`${failures} not recorded`);
  const total = results.length + failures;
  const summary = `${total} ${total === 1 ? "run" : "runs"}: ${parts.join(", ")}`;
  return notStarted ? `${summary} (${notStarted} not started: interrupted)` : summary;
}

/**
 * Counts the runs executeFlows starts and the ones that ended recorded, for withInterrupts' notices:
 * `onRunStart` and `onRunEnd` go to executeFlows, `runsStarted` and `runsGoing` to runNotices. A run
 * that could not be recorded never ends here: it may be left `running`, for reev recover.
 */
export function startedRuns(): { onRunStart: () => void; onRunEnd: () => void; runsStarted: () => number; runsGoing: () => number } {
  let started = 0;
  let ended = 0;
  return { onRunStart: () => void started++, onRunEnd: () => void ended++, runsStarted: () => started, runsGoing: () => started - ended };
}

/** What reev run and reev demo still do once their runs have ended: what a second Ctrl-C then cuts short. */
export const afterRuns = (options: Pick<RunOptions, "consolidate" | "diagrams">): AfterRuns => {
  const drawn = options.consolidate && options.diagrams;
  return {
    work: drawn ? "the summary and the runs' diagrams being written" : "the summary being printed",
    draw: drawn ? laterCommand("diagram <executionId> --out run.html") : null,
  };
};

export async function runCommand(options: RunOptions, io: CliIO): Promise<number> {
  const { onRunStart, onRunEnd, runsStarted, runsGoing } = startedRuns();
  const { value: report, interrupted } = await withInterrupts(
    io,
    (signal) => executeFlows({ ...options, signal, onRunStart, onRunEnd }, io),
    {
      notices: runNotices({ runsStarted, runsGoing, recover: recoverCommand(), after: afterRuns(options) }),
    },
  );
  if (report.results.length + report.failures > 1 || report.notStarted) io.stdout.write(`\n${runsSummary(report)}\n`);
  if (interrupted) return interruptExitCode(interrupted);
  // A run that failed an expect check did not pass: 1, so CI that runs reev run fails on it.
  const passed = report.results.every((r) => r.status === "completed") && report.failedChecks.size === 0;
  return report.exported && !report.failures && passed ? 0 : 1;
}
