import { type Database, evaluationIdsContaining, evaluationIdsNamed, executionIdsContaining } from "@reev/db";
import {
  comparedSideText,
  compareStored,
  nearWords,
  OrchestratorError,
  type PriceTable,
  type ReportComparison,
  renderComparisonHtml,
  storedComparisonJson,
} from "@reev/orchestrator";
import type { Command } from "commander";
import { type CliContext, type CliIO, withDatabase } from "../context.js";
import { staleAfterMs } from "../liveness.js";
import { type DbOptions, dbOption, examples, oneOf, outFormat, TABLE_JSON_HTML_FILES } from "../options.js";
import { emit } from "../output-file.js";
import { loadPrices } from "../prices.js";
import { comparisonText } from "./evaluation-text.js";

const FORMATS = ["table", "json", "html"] as const;
type CompareFlags = DbOptions & {
  format: (typeof FORMATS)[number];
  out?: string | undefined;
  prices?: string | undefined;
  failOnRegression?: boolean | undefined;
};

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
    .option("--out <file>", "write to this file instead of stdout (its extension picks the format)")
    .option("--prices <file>", "price both sides' runs with this price file instead of the costs stored with them (see reev eval)")
    .option("--fail-on-regression", "exit 1 when a regression is flagged (for CI); the comparison is written all the same")
    .addOption(dbOption())
    .addHelpText(
      "after",
      examples([
        ["reev compare eval_A eval_B", "what changed between two evaluations, and whether it is credible"],
        ["reev compare exec_x exec_y --format json", "two single runs, as JSON"],
        ["reev compare eval_A eval_B --prices prices.yaml", "with both sides' cost from today's prices"],
        ["reev compare eval_A eval_B --fail-on-regression", "in CI: exit 1 when B regressed credibly"],
      ]),
    )
    .action(async (a: string, b: string, flags: CompareFlags, command: Command) => {
      flags.format = outFormat(command, flags.out, TABLE_JSON_HTML_FILES);
      // The price file is checked before the database is opened: a bad one is exit 2, nothing read.
      const prices = await loadPrices(flags.prices);
      ctx.exitCode = await withDatabase(flags.db, "read", (db) => compareCommand(db, a, b, prices, flags, ctx.io));
    });
}

export async function compareCommand(
  db: Database,
  a: string,
  b: string,
  prices: PriceTable | null,
  flags: CompareFlags,
  io: CliIO,
): Promise<number> {
  const stored = await compareStored(db, a, b, prices, { staleAfterMs: staleAfterMs() }).catch(async (error: unknown) => {
    throw await withNearIds(db, error, { a, b });
  });
  const { kind, comparison, ...sides } = stored;
  // Each side as the HTML page names it: "name (id)", or the id alone for one without a name.
  const [nameA, nameB] = [comparedSideText(sides.a), comparedSideText(sides.b)];
  if (flags.format === "json") await emit(`${JSON.stringify(storedComparisonJson(stored), null, 2)}\n`, flags.out, io);
  else if (flags.format === "html") {
    await emit(renderComparisonHtml(comparison, { title: `reev compare · ${nameA} → ${nameB}`, kind, ...sides }), flags.out, io);
  } else await emit(`Compare A ${nameA} → B ${nameB}\n\n${comparisonText(comparison)}`, flags.out, io);
  return flags.failOnRegression ? regressionExit(comparison, io) : 0;
}

/** `--fail-on-regression`: 1, said on stderr (stdout holds the comparison), when anything regressed credibly. */
export function regressionExit(comparison: ReportComparison, io: CliIO): number {
  const regressed = comparison.flagged.filter((f) => f.verdict === "regression");
  if (!regressed.length) return 0;
  const where = regressed.map((f) => (f.stepId ? `${f.flowId} › ${f.stepId}` : f.flowId)).join(", ");
  io.stderr.write(`Regression flagged (p < 0.05): ${where}. Exit 1 (--fail-on-regression).\n`);
  return 1;
}

/**
 * A side not found, in the database it was looked for in, with the stored ids that contain it (an id
 * cut short), evaluations first, as reev show answers for an execution. Other errors pass through.
 */
async function withNearIds(db: Database, error: unknown, given: { a: string; b: string }): Promise<unknown> {
  if (!OrchestratorError.is(error, "NOT_FOUND") || (error.path !== "a" && error.path !== "b")) return error;
  const id = given[error.path];
  const near = await Promise.all([evaluationIdsNamed(db, id), evaluationIdsContaining(db, id), executionIdsContaining(db, id)]).catch(
    () => undefined,
  );
  const [named, evaluations, executions] = near ?? [];
  const ids = [...(evaluations?.ids ?? []), ...(executions?.ids ?? [])];
  // Named with the database, as reev show does: a wrong --db is as likely as a wrong id.
  const message = `No evaluation or execution "${id}" in ${db.description}.`;
  // A name given for an id (reev eval --name): the ids of the evaluations so named, newest first.
  const words = named?.ids.length
    ? namedWords(named.ids, named.more)
    : nearWords({ ids, more: !!(evaluations?.more || executions?.more) }, "ids");
  return new OrchestratorError("NOT_FOUND", `${message}${words}`, { path: error.path, cause: error });
}

/** The evaluations a name given for an id names (reev eval --name), so the reader can copy an id. */
function namedWords(ids: readonly string[], more: boolean): string {
  if (ids.length === 1) return ` That is the name of evaluation ${ids[0]}: compare takes ids.`;
  const shown = ids.slice(0, 5);
  const rest = more ? " and more" : ids.length > shown.length ? ` and ${ids.length - shown.length} more` : "";
  return ` That is the name of ${more ? "at least " : ""}${ids.length} evaluations (newest first: ${shown.join(", ")}${rest}): compare takes ids.`;
}
