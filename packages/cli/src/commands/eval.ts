import { randomBytes } from "node:crypto";
import { basename, dirname, extname, join, resolve } from "node:path";
import { type Database, type EvaluationRunRecord, HEARTBEAT_INTERVAL_MS, type JsonValue } from "@reev/db";
import {
  buildEvaluationReport,
  type ComparedSide,
  comparedSideText,
  compareReports,
  didYouMean,
  type EvaluationConfiguration,
  type EvaluationReport,
  type EvaluationRunOutcome,
  evaluationFacts,
  evaluationSummary,
  expectationsOfPlan,
  type FlowPlan,
  Heartbeat,
  parseConsolidatedContent,
  type ReportComparison,
  recordedFailedChecks,
  renderEvaluationHtml,
  renderHtmlPage,
  runEvaluation,
  runOutcomeText,
  ScriptedAgent,
  statusGlyph,
} from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError, invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, changedNow, withDatabase } from "../context.js";
import { evaluationsHint } from "../error-report.js";
import { loadFlowFiles } from "../flow-files.js";
import { counted, statusLabel } from "../format.js";
import { laterCommand, recoverCommand, reevCommand, shellWord } from "../hint.js";
import { exitAtOnce, type InterruptNotices, interruptExitCode, runNotices, takesOverInterrupts, withInterrupts } from "../interrupt.js";
import { staleAfterMs } from "../liveness.js";
import {
  type DbOptions,
  dbOption,
  examples,
  integer,
  type MigrateOptions,
  migrateOption,
  oneOf,
  outFormat,
  TABLE_JSON_HTML_FILES,
} from "../options.js";
import { emit, writeOutputFile } from "../output-file.js";
import { loadPrices, PRICES_HELP, pricesOption } from "../prices.js";
import { regressionExit } from "./compare.js";
import { comparisonText, evaluationText } from "./evaluation-text.js";
import { AGENTS, type AgentName, checkAgentInput, createAgent, diagramFileStem, startedRuns } from "./run.js";

// reev compare reads the price file the same way.

const FORMATS = ["table", "json", "html"] as const;
/**
 * Below `reev run`'s limit: an evaluation's report is built from all its stored runs at once,
 * in memory, when it finishes, where `reev run` summarises each run as it ends.
 */
const MAX_EVAL_REPEAT = 10_000;
type EvalFormat = (typeof FORMATS)[number];

type EvalFlags = DbOptions &
  MigrateOptions & {
    agent: AgentName;
    tools?: string | undefined;
    repeat: number;
    concurrency: number;
    name?: string | undefined;
    minPassRate?: number | undefined;
    baseline?: string | undefined;
    failOnRegression?: boolean | undefined;
    prices?: string | undefined;
    format: EvalFormat;
    out?: string | undefined;
    diagrams: boolean;
  };

export function registerEval(program: Command, ctx: CliContext): void {
  // Its action calls withInterrupts before anything else: Ctrl-C while it starts is the startup guard's until then.
  takesOverInterrupts(program.command("eval"))
    .summary("evaluate an agent: repeated runs, pass rates, checks")
    .description(
      "Run each flow --repeat times, record an evaluation, and report per flow the pass rate (95% Wilson interval), pass@k, pass^k, scores, durations, tokens and cost, and per step the failure rate, common errors and flaky steps. A run passes when it completed and every expect check holds.",
    )
    .argument("<flows...>", "flow files (YAML or JSON), or directories of them")
    .option("--agent <agent>", "scripted (replays each step's script) or openai", oneOf("--agent", "agent", AGENTS), "scripted")
    .option("--tools <module>", "with --agent openai: a JS module exporting the tool handlers")
    .option(
      "--repeat <k>",
      `runs per flow, 1 to ${MAX_EVAL_REPEAT}: the k of pass@k and pass^k`,
      integer("--repeat", 1, MAX_EVAL_REPEAT),
      5,
    )
    .option("--concurrency <n>", "runs (and so agent calls) at once", integer("--concurrency", 1, 1_000), 4)
    .option("--name <name>", "a name for the evaluation, to find it again")
    .option("--min-pass-rate <rate>", "exit 1 unless every flow's pass rate is at least this, 0 to 1", rate)
    .option("--baseline <evaluationId>", "compare with this earlier evaluation when done")
    .option("--fail-on-regression", "with --baseline: exit 1 when a regression against it is flagged (for CI)")
    .addOption(pricesOption())
    .option("--format <format>", "table, json or html", oneOf("--format", "format", FORMATS), "table")
    .option(
      "--out <file>",
      "write the report here, in the format its extension names (html: each run's diagram goes beside it: eval.html writes eval-runs/)",
    )
    .option("--no-diagrams", "with an html report in --out: write no run diagrams beside it (its runs are not linked)")
    .addOption(dbOption())
    .addOption(migrateOption())
    .addHelpText(
      "after",
      [
        examples([
          ["reev eval flows/ --repeat 10", "every flow file in flows/, ten runs each"],
          ["reev eval a.yaml --min-pass-rate 0.9", "for CI: exit 1 when a flow passes less than 90% of its runs"],
          ["reev eval flows/ --format html --out eval.html", "a report to open in a browser"],
          ["reev eval flows/ --baseline <evaluationId>", "and say what changed, credibly, since that one"],
          ["reev eval flows/ --baseline <evaluationId> --fail-on-regression", "for CI: exit 1 when a flow regressed credibly"],
        ]),
        "",
        "Exit codes: 0 every flow met --min-pass-rate (and, with --fail-on-regression, nothing regressed), 1 one did",
        "not, 2 bad input (nothing ran), 130 interrupted",
        "(Ctrl-C: the evaluation is recorded as incomplete, counting only the runs that ended before it, or not at",
        "all if it had not begun; 143 for SIGTERM; a second Ctrl-C exits at once).",
        PRICES_HELP,
      ].join("\n"),
    )
    .action(async (inputs: string[], flags: EvalFlags, command: Command) => {
      flags.format = outFormat(command, flags.out, TABLE_JSON_HTML_FILES);
      ctx.exitCode = await evalCommand(inputs, flags, ctx.io);
    });
}

function rate(value: string): number {
  const n = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(n)) {
    // `80%`, or a whole `80`, is a percentage: the fraction it means, to type instead (1.5 is no guess).
    const percent = /^(\d{1,3}(?:\.\d+)?)%$|^(\d{1,3})$/.exec(value);
    const share = percent ? Number(percent[1] ?? percent[2]) : Number.NaN;
    const meant = didYouMean(share > 1 && share <= 100 ? String(share / 100) : undefined);
    throw invalidArgument(`--min-pass-rate must be a number from 0 to 1, got "${value}".${meant}`, "--min-pass-rate");
  }
  return n;
}

/** Every flow loaded and checked before anything runs: bad files, or two files of one flowId, are exit 2. */
async function loadPlans(inputs: readonly string[]): Promise<{ files: string[]; plans: FlowPlan[] }> {
  const { files, plans } = await loadFlowFiles(inputs);
  const seen = new Map<string, string>();
  plans.forEach((plan, i) => {
    const other = seen.get(plan.flowId);
    if (other) {
      throw invalidArgument(
        `${files[i]} and ${other} are both flow "${plan.flowId}": an evaluation reports each flow once.`,
        "flows",
        "Give each flow file its own flowId.",
      );
    }
    seen.set(plan.flowId, files[i] as string);
  });
  return { files, plans };
}

/** Flows whose pass rate is under the threshold (none without one). */
export function flowsBelow(report: EvaluationReport, minPassRate: number | null): string[] {
  if (minPassRate === null) return [];
  return report.flows.filter((f) => (f.passRate?.rate ?? 0) < minPassRate).map((f) => f.flowId);
}

/**
 * One line of live progress per run that ends, with the checks it failed from the verdicts recorded
 * with it, in the report's words (runOutcomeText): a run that completed but failed a check reads
 * "❌ completed, failed a check (✗ args)", for it does not pass; a failed run names its failed checks too.
 */
export function runLine(outcome: EvaluationRunOutcome): string {
  if (outcome.error !== null)
    return `${statusLabel("failed")} ${outcome.flowId} run ${outcome.run}: could not be recorded: ${outcome.error}`;
  const { result } = outcome;
  const failedChecks = recordedFailedChecks(
    result.checks,
    (stepIndex) => result.stepResults.find((s) => s.stepIndex === stepIndex)?.stepId ?? `step ${stepIndex}`,
  );
  const passed = result.status === "completed" && failedChecks.length === 0;
  const outcomeWords = passed
    ? statusLabel("completed")
    : `${statusGlyph(result.status === "completed" ? "failed" : result.status)} ${runOutcomeText({ passed, status: result.status, failedChecks })}`;
  return `${outcomeWords} ${outcome.flowId} run ${outcome.run} (${outcome.executionId})`;
}

/** One run's HTML diagram page, from its newest consolidated session; false when it has none. */
async function writeRunDiagram(db: Database, executionId: string, path: string): Promise<boolean> {
  const newest = await db.writer.getNewestConsolidatedSession(executionId);
  const execution = await db.writer.getExecutionSession(executionId);
  if (!newest || !execution) return false;
  const checks = await db.writer.getChecks(executionId);
  await writeOutputFile(path, renderHtmlPage(parseConsolidatedContent(newest.consolidatedContent), { execution, checks }));
  return true;
}

/**
 * An evaluation's interrupt notices: a command that runs flows' (runNotices) until the evaluation is
 * finished and recorded (`recorded` gives its id from then on); a signal after that stops no run, only
 * the report being written.
 */
export function evaluationNotices(runs: InterruptNotices, recorded: () => string | undefined): InterruptNotices {
  return {
    ...runs,
    first: (name) => {
      const id = recorded();
      return id
        ? `\nInterrupted (${name}): evaluation ${id} is recorded; its report is written, then reev exits. ${exitAtOnce(name)}\n`
        : runs.first(name);
    },
    again: (name) => {
      const id = recorded();
      return id ? `\n${name} again: exiting at once. Evaluation ${id} is recorded.\n` : runs.again(name);
    },
  };
}

export async function evalCommand(inputs: string[], flags: EvalFlags, io: CliIO): Promise<number> {
  const { onRunStart, runsStarted } = startedRuns();
  let recorded: string | undefined;
  const notices = evaluationNotices(runNotices({ runsStarted, recover: recoverCommand() }), () => recorded);
  // The command's handlers from its first line on, taken over from the startup guard with no gap: a
  // Ctrl-C while the flows loaded or the database opened (seconds for PGlite) was swallowed, or ended
  // the process without a word.
  const { value: code, interrupted } = await withInterrupts(
    io,
    (signal) =>
      evaluate(inputs, flags, io, {
        signal,
        onRunStart,
        onRecorded: (id) => {
          recorded = id;
        },
      }),
    { notices },
  );
  return interrupted ? interruptExitCode(interrupted) : code;
}

/** The evaluation itself, under evalCommand's handlers: `signal` aborts its runs, and keeps it from beginning if it has not. */
async function evaluate(
  inputs: string[],
  flags: EvalFlags,
  io: CliIO,
  { signal, onRunStart, onRecorded }: { signal: AbortSignal; onRunStart: () => void; onRecorded: (evaluationId: string) => void },
): Promise<number> {
  // The exit code is evalCommand's then (130 or 143): nothing began, so nothing is left to finish.
  const notBegun = () => {
    if (signal.aborted)
      io.stderr.write("Nothing was recorded: the evaluation was interrupted before it began. Run the command again to do it.\n");
    return signal.aborted;
  };
  if (flags.failOnRegression && !flags.baseline) {
    throw invalidArgument(
      "--fail-on-regression needs --baseline <evaluationId>: it fails on a regression against that evaluation, and there is none.",
      "--fail-on-regression",
    );
  }
  const { files, plans } = await loadPlans(inputs);
  const prices = await loadPrices(flags.prices);
  checkAgentInput(
    flags.agent,
    plans.map((plan, i) => ({ file: files[i] ?? "", plan })),
    flags.repeat,
  );
  const sharedAgent = await createAgent(flags.agent, flags.tools);
  // One scripted agent per repetition, so a step's scriptByRun can fail known runs; a real agent is shared.
  const agentFor = (run: number) => (flags.agent === "scripted" ? new ScriptedAgent({ run }) : sharedAgent);
  // Stored as the evaluation's configuration, in the one shape its readers parse (ZEvaluationConfiguration).
  const configuration: EvaluationConfiguration = {
    files: files.map((f) => resolve(f)),
    flows: plans.map(expectationsOfPlan),
    repeat: flags.repeat,
    concurrency: flags.concurrency,
    agent: flags.agent,
    model: flags.agent === "openai" ? (process.env.OPENAI_MODEL ?? null) : null,
    minPassRate: flags.minPassRate ?? null,
    baseline: flags.baseline ?? null,
    prices,
  };
  // Interrupted while the flows loaded: no run started and none will, so no database is opened.
  if (notBegun()) return 0;
  return withDatabase(flags.db, flags.migrate ? "migrate" : "write", async (db) => {
    // Checked before anything runs: a running baseline has no summary to compare with.
    const baselineRecord = flags.baseline ? await requireEvaluation(db, flags.baseline, "--baseline") : null;
    const baseline = baselineRecord && {
      side: { id: baselineRecord.id, name: baselineRecord.name },
      report: evaluationSummary(baselineRecord, "--baseline", { staleAfterMs: staleAfterMs() }),
    };
    // Interrupted while the database opened: the evaluation is not begun, so none is left to finish.
    if (notBegun()) return 0;
    const evaluationId = `eval_${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}_${randomBytes(3).toString("hex")}`;
    await db.writer.createEvaluationRun({
      id: evaluationId,
      name: flags.name ?? null,
      agent: flags.agent,
      model: configuration.model,
      configuration: configuration as unknown as JsonValue,
    });
    io.stderr.write(
      `Evaluation ${evaluationId}: ${counted(plans.length, "flow")} × ${counted(flags.repeat, "run")}, ${flags.concurrency} at a time, in ${db.description}${changedNow(db)}\n`,
    );

    let settled = 0;
    const total = plans.length * flags.repeat;
    // Ctrl-C (or SIGTERM) aborts the running agent calls; the evaluation is still finished, as
    // incomplete, under the same handlers, so only a second Ctrl-C can leave it "running".
    const runAndFinish = async () => {
      const ran = await runEvaluation(db, {
        evaluationId,
        plans,
        repeat: flags.repeat,
        concurrency: flags.concurrency,
        agentFor,
        signal,
        // Each run's consolidation is priced with the same table, so its diagram's cost is the report's.
        executor: { prices },
        onRunStart,
        onRunSettled: (settledRun) => {
          settled += 1;
          io.stderr.write(`[${settled}/${total}] ${runLine(settledRun)}\n`);
        },
      });
      // Counted from what is stored; when interrupted, only the runs that ended before the signal.
      const stored = (await db.writer.listEvaluationExecutions(evaluationId)).filter(
        (e) => !ran.interrupted || ran.completedBeforeAbort.has(e.executionId),
      );
      const cancelled = ran.outcomes.length - ran.completedBeforeAbort.size;
      const notes = ran.interrupted
        ? [
            `Interrupted: ${stored.length} of ${total} runs counted; ${counted(cancelled, "cancelled run")} and ${total - ran.outcomes.length} never started are left out.`,
          ]
        : [];
      const report = buildEvaluationReport(stored, { k: flags.repeat, flows: configuration.flows, prices, notes });
      const finished = await db.writer.finishEvaluationRun(evaluationId, {
        status: ran.interrupted ? "incomplete" : "completed",
        summary: report as unknown as JsonValue,
      });
      return { report, finished };
    };
    // Its sign of life while it runs, so `reev recover` elsewhere can tell it from a killed one.
    const heartbeat = new Heartbeat(() => db.writer.evaluationHeartbeat(evaluationId), HEARTBEAT_INTERVAL_MS);
    let outcome: Awaited<ReturnType<typeof runAndFinish>>;
    try {
      outcome = await runAndFinish();
    } finally {
      await heartbeat.stop();
    }
    const { report, finished } = outcome;
    onRecorded(evaluationId);

    const comparison = baseline && { side: baseline.side, comparison: compareReports(baseline.report.flows, report.flows) };
    await writeReport(db, finished, report, comparison, flags, io);
    // Interrupted, the exit code is evalCommand's (130 or 143), and a pass rate of the runs counted says nothing.
    if (signal.aborted) return 0;
    io.stderr.write(nextWords(evaluationId, flags.baseline));
    const below = flowsBelow(report, configuration.minPassRate);
    if (below.length) io.stderr.write(`Below --min-pass-rate ${configuration.minPassRate}: ${below.join(", ")}\n`);
    const regressed = comparison && flags.failOnRegression ? regressionExit(comparison.comparison, io) : 0;
    return below.length ? 1 : regressed;
  });
}

/**
 * What to do with the evaluation just recorded: see it in the viewer, and (without a baseline) compare
 * the next one with it. Nothing on memory://, where the next command finds nothing.
 */
function nextWords(evaluationId: string, baseline: string | undefined): string {
  const serve = laterCommand("serve");
  const again = laterCommand(`eval <flows> --baseline ${shellWord(evaluationId)}`);
  if (!serve || !again) return "";
  const view = `${serve} shows it at /evaluations/${encodeURIComponent(evaluationId)}`;
  return `Next: ${baseline ? view : `${view} · after a change, ${again} says what changed since this one`}\n`;
}

/** The evaluation the user named; an execution's id given instead is told as such (as requireExecution tells the reverse). */
export async function requireEvaluation(db: Database, id: string, field: string): Promise<EvaluationRunRecord> {
  const evaluation = await db.writer.getEvaluationRun(id);
  if (!evaluation && (await db.writer.getExecutionSession(id))) {
    throw new CliError("NOT_FOUND", `"${id}" is an execution in ${db.description}, not an evaluation: ${field} takes an evaluation's id.`, {
      field,
      hint: `${reevCommand("evaluations")} lists the evaluations; ${reevCommand("compare <A> <B>")} compares two runs too.`,
      exitCode: 2,
    });
  }
  if (!evaluation) {
    throw new CliError("NOT_FOUND", `No evaluation "${id}" in ${db.description}.`, {
      field,
      hint: evaluationsHint(),
      exitCode: 2,
    });
  }
  return evaluation;
}

/** What `--baseline` adds to the report: that evaluation, and what changed since it. */
type Baseline = { side: ComparedSide; comparison: ReportComparison };

async function writeReport(
  db: Database,
  evaluation: EvaluationRunRecord,
  report: EvaluationReport,
  comparison: Baseline | null,
  flags: EvalFlags,
  io: CliIO,
): Promise<void> {
  const minPassRate = flags.minPassRate ?? null;
  if (flags.format === "json") {
    const json = { evaluation: { ...evaluation, summary: undefined }, report, comparison: comparison?.comparison ?? null };
    await emit(`${JSON.stringify(json, null, 2)}\n`, flags.out, io);
    return;
  }
  if (flags.format === "table") {
    const text =
      evaluationText(evaluation, report, minPassRate) +
      (comparison ? `\nAgainst baseline ${comparedSideText(comparison.side)}:\n${comparisonText(comparison.comparison)}` : "");
    await emit(text, flags.out, io);
    return;
  }
  // html: each run's diagram beside the report, linked from it, when the report goes to a file.
  const runsDir = flags.out && flags.diagrams ? `${basename(flags.out, extname(flags.out))}-runs` : null;
  const written = new Set<string>();
  if (flags.out && runsDir) {
    for (const flow of report.flows) {
      for (const id of flow.runIds) {
        if (await writeRunDiagram(db, id, join(dirname(flags.out), runsDir, `${diagramFileStem(id)}.html`))) written.add(id);
      }
    }
  }
  const html = renderEvaluationHtml(report, {
    title: `reev evaluation · ${evaluation.name ?? evaluation.id}`,
    facts: evaluationFacts(evaluation),
    minPassRate,
    baseline: comparison ?? undefined,
    runLink: (id) => (runsDir && written.has(id) ? `${encodeURIComponent(runsDir)}/${encodeURIComponent(diagramFileStem(id))}.html` : null),
  });
  await emit(html, flags.out, io);
  if (!flags.out) io.stderr.write("Run diagrams are linked only when the report is written with --out.\n");
  else if (!flags.diagrams) {
    const later = laterCommand("diagram <executionId> --out run.html");
    io.stderr.write(`No run diagrams written (--no-diagrams)${later ? `: ${later} draws one` : ""}.\n`);
  }
}
