/**
 * `reev eval --prices` and `reev compare --prices` as a user runs them, and `reev eval` interrupted
 * (Ctrl-C, SIGTERM) while an agent call hangs, on the embedded database and, when
 * REEV_TEST_DATABASE_URL is set, on PostgreSQL: tokens summed from the stored attempts, cost from the
 * price file, "—" for what is unknown, a bad price file refused with its field named (exit 2), and an
 * interrupted evaluation recorded as incomplete with only whole runs counted (exit 130 or 143).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCli } from "./support/live-cli.js";
import { cliBackends, fixture, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-eval-usage-");
const backends = cliBackends(() => temp.dir);

type Sum = { total: number | null; known: number; unknown: number };
type RunTotals = {
  runId: string;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  costUsd: number | null;
};
type FlowJson = {
  flowId: string;
  runs: number;
  passes: number;
  inputTokens: Sum;
  outputTokens: Sum;
  cachedInputTokens: Sum;
  costUsd: Sum;
  runTotals: RunTotals[];
};
type EvalJson = {
  evaluation: { id: string; status: string };
  report: { runs: number; passes: number; flows: FlowJson[]; notes: string[] };
};

// (1000 − 100) × 2.5 + 100 × 1.25 + 200 × 10 + 2345 × 2.5 + 67 × 10 = 10,907.5 US dollars per million tokens.
const RUN_USD = 10_907.5 / 1_000_000;

describe.each(backends)("tokens, cost and interrupts of reev eval on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const { reev } = database;

  it("a bad price file is exit 2, naming the field, before anything runs", async () => {
    const r = await reev("eval", fixture("eval-usage.yaml"), "--prices", fixture("prices-invalid.yaml"));
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain('models["gpt-a"].outputPerMillion: must be a number of US dollars per million tokens');
    expect(r.stderr).not.toContain("Evaluation eval_");
    const missing = await reev("compare", "eval_a", "eval_b", "--prices", join(temp.dir, "no-prices.yaml"));
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stderr).toContain("Cannot read the price file");
  });

  let priced: EvalJson;
  it("tokens are summed exactly from the stored attempts, and priced with --prices", { timeout: 120_000 }, async () => {
    const r = await reev("eval", fixture("eval-usage.yaml"), "--repeat", "2", "--prices", fixture("prices.yaml"), "--format", "json");
    expect(r.code, show(r)).toBe(0);
    priced = JSON.parse(r.stdout) as EvalJson;
    const [flow] = priced.report.flows;
    expect(flow!.inputTokens).toEqual({ total: 6690, known: 2, unknown: 0 });
    expect(flow!.outputTokens).toEqual({ total: 534, known: 2, unknown: 0 });
    expect(flow!.cachedInputTokens).toEqual({ total: 200, known: 2, unknown: 0 });
    expect(flow!.costUsd.total).toBeCloseTo(2 * RUN_USD, 12);
    expect(flow!.runTotals.map((run) => [run.inputTokens, run.outputTokens, run.cachedInputTokens])).toEqual([
      [3345, 267, 100],
      [3345, 267, 100],
    ]);
    expect(priced.report.notes).toEqual([]);
    // One pricing rule: the run's consolidation, priced with the same file, stored the report's cost to the last bit.
    const [run] = flow!.runTotals;
    const status = await reev("status", run!.runId, "--json");
    expect(JSON.parse(status.stdout).consolidation.metrics.costUsd, show(status)).toBe(run!.costUsd);

    const table = await reev("eval", fixture("eval-usage.yaml"), "--repeat", "2", "--prices", fixture("prices.yaml"));
    expect(table.code, show(table)).toBe(0);
    expect(table.stdout).toMatch(/6,690 \/ 534 \/ 200 +│? *\$0\.0218/);
  });

  it("without --prices the cost is —, never a guess, and the report says why; reev compare --prices prices both sides", {
    timeout: 120_000,
  }, async () => {
    const r = await reev("eval", fixture("eval-usage.yaml"), "--repeat", "2", "--format", "json");
    expect(r.code, show(r)).toBe(0);
    const unpriced = JSON.parse(r.stdout) as EvalJson;
    expect(unpriced.report.flows[0]!.costUsd).toEqual({ total: null, known: 0, unknown: 2 });
    expect(unpriced.report.flows[0]!.inputTokens.total).toBe(6690);
    expect(unpriced.report.notes).toContain("Cost is unknown (—): no price table was given: pass --prices FILE to price the tokens.");

    const stored = await reev("compare", priced.evaluation.id, unpriced.evaluation.id, "--format", "json");
    expect(stored.code, show(stored)).toBe(0);
    type CompareJson = { comparison: { flows: { inputTokensPerRunDelta: number | null; costUsdPerRunDelta: number | null }[] } };
    expect((JSON.parse(stored.stdout) as CompareJson).comparison.flows[0]).toMatchObject({
      inputTokensPerRunDelta: 0,
      costUsdPerRunDelta: null,
    });
    const repriced = await reev(
      "compare",
      priced.evaluation.id,
      unpriced.evaluation.id,
      "--prices",
      fixture("prices.yaml"),
      "--format",
      "json",
    );
    expect(repriced.code, show(repriced)).toBe(0);
    expect((JSON.parse(repriced.stdout) as CompareJson).comparison.flows[0]).toMatchObject({
      inputTokensPerRunDelta: 0,
      costUsdPerRunDelta: 0,
    });
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "%s while an agent call hangs: the call is aborted, the evaluation recorded incomplete, exit %i",
    { timeout: 120_000 },
    async (signal, exitCode) => {
      const run = startCli(
        [
          "eval",
          fixture("eval-usage.yaml"),
          fixture("eval-hang.yaml"),
          "--repeat",
          "1",
          "--concurrency",
          "2",
          "--format",
          "json",
          "--db",
          database.url,
        ],
        { cwd: temp.dir, timeoutMs: 100_000 },
      );
      // Both runs start at once (concurrency 2): once the quick one has ended, the other hangs in its agent call.
      await run.waitForLine(/^\[1\/2\] .* eval-usage run 1 /);
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code, show(r)).toBe(exitCode);
      expect(r.stderr).toContain(`Interrupted (${signal})`);
      expect(r.stderr).toMatch(/^\[2\/2\] .* eval-hang run 1 \((exec_\S+)\)$/m);
      const hangId = r.stderr.match(/eval-hang run 1 \((exec_\S+)\)/)?.[1] as string;
      const result = JSON.parse(r.stdout) as EvalJson;
      expect(result.evaluation.status).toBe("incomplete");
      // Never half-counted: the whole quick run is, the cancelled one is not.
      expect(result.report.flows.map((f) => [f.flowId, f.runs, f.passes])).toEqual([
        ["eval-usage", 1, 1],
        ["eval-hang", 0, 0],
      ]);
      expect(result.report.notes).toContain("Interrupted: 1 of 2 runs counted; 1 cancelled run and 0 never started are left out.");
      // The hanging call was stopped and recorded as such, its run finished as cancelled.
      const shown = await reev("show", hangId, "--json");
      expect(shown.code, show(shown)).toBe(0);
      const execution = JSON.parse(shown.stdout) as { status: string; steps: { status: string; error: string }[] };
      expect(execution.status).toBe("cancelled");
      expect(execution.steps.map((s) => [s.status, s.error])).toEqual([["failed", `interrupted (${signal})`]]);
    },
  );
});
