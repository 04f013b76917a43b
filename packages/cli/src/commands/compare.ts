import type { Database } from "@reev/db";
import {
  buildEvaluationReport,
  compareReports,
  type EvaluationReport,
  expectationsOf,
  type ReportComparison,
  renderComparisonHtml,
} from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError, invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import { type DbOptions, dbOption, examples, oneOf } from "../options.js";
import { emit } from "../output-file.js";
import { summaryOf } from "./eval.js";
import { comparisonText } from "./evaluation-text.js";

const FORMATS = ["table", "json", "html"] as const;
type CompareFlags = DbOptions & { format: (typeof FORMATS)[number]; out?: string | undefined };

export function registerCompare(program: Command, ctx: CliContext): void {
  program
    .command("compare")
    .summary("compare two evaluations (or two executions)")
    .description(
      'Compare A (the baseline) with B: flows and steps aligned by id, the deltas of pass rate, pass^k, score, duration, tokens, cost and step failure rates. A regression or improvement is flagged only when Fisher\'s exact test on the pass counts gives p < 0.05; otherwise it says "no credible difference". Reads only.',
    )
    .argument("<a>", "an evaluation id (eval_…) or an execution id")
    .argument("<b>", "the same kind of id as A")
    .option("--format <format>", "table, json or html", oneOf("--format", "format", FORMATS), "table")
    .option("--out <file>", "write to this file instead of stdout")
    .addOption(dbOption())
    .addHelpText(
      "after",
      examples([
        ["reev compare eval_A eval_B", "what changed between two evaluations, and whether it is credible"],
        ["reev compare exec_x exec_y --format json", "two single runs, as JSON"],
      ]),
    )
    .action(async (a: string, b: string, flags: CompareFlags) => {
      ctx.exitCode = await withDatabase(flags.db, "read", (db) => compareCommand(db, a, b, flags, ctx.io));
    });
}

/** An evaluation's stored summary, or one execution's runs made into a report of k = 1. */
async function reportOf(db: Database, id: string, field: string): Promise<{ kind: "evaluation" | "execution"; report: EvaluationReport }> {
  const evaluation = await db.writer.getEvaluationRun(id);
  if (evaluation) return { kind: "evaluation", report: summaryOf(evaluation) };
  const stored = await db.writer.getEvaluationExecution(id);
  if (!stored) {
    throw new CliError("NOT_FOUND", `No evaluation or execution "${id}" in ${db.description}.`, {
      field,
      hint: "See reev list for executions; reev eval prints evaluation ids.",
      exitCode: 2,
    });
  }
  // One run, its expectations as its stored verdicts show them (its plan is not kept).
  return { kind: "execution", report: buildEvaluationReport([stored], { k: 1, flows: [expectationsOf(stored)] }) };
}

export async function compareCommand(db: Database, a: string, b: string, flags: CompareFlags, io: CliIO): Promise<number> {
  const left = await reportOf(db, a, "a");
  const right = await reportOf(db, b, "b");
  if (left.kind !== right.kind) {
    throw invalidArgument(`A is an ${left.kind} and B an ${right.kind}: compare two evaluations, or two executions.`, "b");
  }
  const comparison: ReportComparison = compareReports(left.report.flows, right.report.flows);
  if (flags.format === "json") await emit(`${JSON.stringify({ a, b, kind: left.kind, comparison }, null, 2)}\n`, flags.out, io);
  else if (flags.format === "html")
    await emit(
      renderComparisonHtml(comparison, { title: `reev compare · ${a} → ${b}`, facts: [`A ${a}`, `B ${b}`, left.kind] }),
      flags.out,
      io,
    );
  else await emit(`Compare A ${a} → B ${b}\n\n${comparisonText(comparison)}`, flags.out, io);
  return 0;
}
