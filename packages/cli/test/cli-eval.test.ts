/**
 * `reev eval` and `reev compare` as a user runs them (child processes), on the embedded database and,
 * when REEV_TEST_DATABASE_URL is set, on PostgreSQL: the exit codes (0 every flow met
 * --min-pass-rate, 1 one did not, 2 bad input), the recorded evaluation, the
 * verdicts in `reev show`, the HTML report with its run diagrams, and a comparison that flags the one
 * change made between two evaluations.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_COMMAND, cliEnv, fixture, runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

type Backend = { name: string; url: () => Promise<{ url: string; drop(): Promise<void> }> };
const backends: Backend[] = [
  { name: "PGlite", url: async () => ({ url: join(temp.dir, "db"), drop: async () => {} }) },
  ...(process.env.REEV_TEST_DATABASE_URL
    ? [{ name: "PostgreSQL", url: () => createPostgresDatabase(process.env.REEV_TEST_DATABASE_URL!) }]
    : []),
];

const temp = cliTempDir("reev-cli-eval-");

type FlowJson = { flowId: string; runs: number; passes: number; runIds: string[] };
type EvalJson = { evaluation: { id: string; status: string }; report: { runs: number; passes: number; flows: FlowJson[] } };

describe.each(backends)("reev eval and reev compare on $name", (backend) => {
  let database: { url: string; drop(): Promise<void> };
  const reev = (...args: string[]) => runCli([...args, "--db", database.url], { cwd: temp.dir, timeoutMs: 120_000 });
  let first: EvalJson;

  beforeAll(async () => {
    database = await backend.url();
    // As a user does on a new server database: migrate it once (the embedded one migrates itself).
    const migrated = await reev("migrate");
    expect(migrated.code, migrated.stderr).toBe(0);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("exit 0 when every flow meets --min-pass-rate: 3 flows × 5 runs, recorded and counted", { timeout: 180_000 }, async () => {
    const r = await reev("eval", fixture("eval-v1"), "--repeat", "5", "--min-pass-rate", "0.6", "--format", "json", "--name", "v1");
    expect(r.code, show(r)).toBe(0);
    first = JSON.parse(r.stdout) as EvalJson;
    expect(first.evaluation.status).toBe("completed");
    expect(first.report.flows.map((f) => [f.flowId, f.passes, f.runs])).toEqual([
      ["eval-alpha", 3, 5],
      ["eval-beta", 4, 5],
      ["eval-gamma", 5, 5],
    ]);
    // Live progress: one line per run as it ends; then what to do with it.
    expect(r.stderr.match(/^\[\d+\/15\] /gm)).toHaveLength(15);
    expect(r.stderr).toMatch(
      new RegExp(
        `\nNext: reev serve --db \\S+ shows it at /evaluations/${first.evaluation.id} · after a change, reev eval <flows> --baseline ${first.evaluation.id} --db \\S+ says what changed since this one\n`,
      ),
    );
  });

  it("--fail-on-regression: exit 1 on a regression against --baseline, said on stderr; refused without --baseline", {
    timeout: 180_000,
  }, async () => {
    const r = await reev("eval", fixture("eval-v2"), "--repeat", "5", "--baseline", first.evaluation.id, "--fail-on-regression");
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain("Regression flagged (p < 0.05): eval-gamma, eval-gamma › b. Exit 1 (--fail-on-regression).\n");
    expect(r.stderr).not.toContain("Below --min-pass-rate");
    const alone = await reev("eval", fixture("eval-v2"), "--fail-on-regression");
    expect(alone.code, show(alone)).toBe(2);
    expect(alone.stderr).toContain("--fail-on-regression needs --baseline <evaluationId>");
  });

  it("exit 1 when a flow falls below --min-pass-rate, with the flow named", { timeout: 180_000 }, async () => {
    const r = await reev("eval", fixture("eval-v2"), "--repeat", "5", "--min-pass-rate", "0.6", "--baseline", first.evaluation.id);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain("Below --min-pass-rate 0.6: eval-gamma");
    // The table, then the comparison with the baseline.
    expect(r.stdout).toMatch(/eval-gamma\s+0\/5\s+0\.0%/);
    // The verdict column has a header naming the threshold; a flow without scores shows one "—" and over how many runs.
    expect(r.stdout).toMatch(/^flow\s+passed\s.*\scost\s+≥ 0\.6$/m);
    expect(r.stdout).toMatch(/^eval-gamma\s.*\sBELOW$/m);
    const beta = r.stdout
      .split("\n")
      .find((line) => line.startsWith("eval-beta"))
      ?.split(/ {2,}/);
    expect(beta?.[5], show(r)).toBe("— · 0/5 scored");
    expect(beta?.at(-1)).toBe("ok");
    expect(r.stdout).toContain(`Against baseline v1 (${first.evaluation.id}):`);
    expect(r.stdout).toMatch(/regression: eval-gamma\n/);
  });

  it("the HTML report carries the comparison with --baseline, as the table does", { timeout: 120_000 }, async () => {
    const out = join(temp.dir, `baseline-${backend.name}.html`);
    const r = await reev("eval", fixture("eval-v2"), "--repeat", "1", "--baseline", first.evaluation.id, "--out", out);
    expect(r.code, show(r)).toBe(0);
    const page = readFileSync(out, "utf8");
    const heading = `Against baseline v1 (${first.evaluation.id}) · A is the baseline, B this evaluation`;
    expect(page).toContain(heading);
    // After the flows table, with the compare page's columns.
    expect(page.indexOf(heading)).toBeGreaterThan(page.indexOf("<table"));
    expect(page.slice(page.indexOf(heading))).toContain("Δ pass^k");
  });

  it("reev compare flags the change that was made, and no other", { timeout: 60_000 }, async () => {
    const list = await reev("eval", fixture("eval-v2"), "--repeat", "5", "--format", "json");
    expect(list.code, show(list)).toBe(0); // no --min-pass-rate: nothing to fail
    const second = JSON.parse(list.stdout) as EvalJson;
    const r = await reev("compare", first.evaluation.id, second.evaluation.id, "--format", "json");
    expect(r.code, show(r)).toBe(0);
    const json = JSON.parse(r.stdout) as {
      comparison: { flagged: unknown[]; flows: { flowId: string; passes: { verdict: string; pValue: number } }[] };
    };
    const { comparison } = json;
    // The ids as given, and each side with its name (the second has none), as the HTML page names them.
    expect(json).toMatchObject({
      a: first.evaluation.id,
      b: second.evaluation.id,
      sides: { a: { id: first.evaluation.id, name: "v1" }, b: { id: second.evaluation.id, name: null } },
      kind: "evaluation",
    });
    expect(comparison.flagged).toEqual([
      { flowId: "eval-gamma", stepId: null, verdict: "regression" },
      { flowId: "eval-gamma", stepId: "b", verdict: "regression" },
    ]);
    expect(comparison.flows.map((f) => [f.flowId, f.passes.verdict])).toEqual([
      ["eval-alpha", "no credible difference"],
      ["eval-beta", "no credible difference"],
      ["eval-gamma", "regression"],
    ]);
    // The HTML has the table's columns, the p-value among them, and names each side with its id.
    const html = await reev("compare", first.evaluation.id, second.evaluation.id, "--format", "html");
    expect(html.code, show(html)).toBe(0);
    expect(html.stdout).toMatch(/<th>verdict<\/th><th class="num">A → B<\/th><th class="num">p<\/th><th class="num">Δ pass\^k<\/th>/);
    const gamma = comparison.flows[2]!.passes.pValue.toFixed(4);
    expect(html.stdout).toMatch(new RegExp(`data-flow-id="eval-gamma".*?<td class="num" data-label="p">${gamma}</td>`, "s"));
    expect(html.stdout).toContain(`<span data-side="A">A <strong>v1</strong> <code>${first.evaluation.id}</code></span>`);
    expect(html.stdout).toContain(`<span data-side="B">B <code>${second.evaluation.id}</code></span>`);
    const text = await reev("compare", first.evaluation.id, second.evaluation.id);
    expect(text.stdout.split("\n")[0]).toBe(`Compare A v1 (${first.evaluation.id}) → B ${second.evaluation.id}`);
    expect(text.stdout).toContain(
      "Flagged (Fisher's exact test (two-sided), p < 0.05):\n  regression: eval-gamma\n  regression: eval-gamma › b\n",
    );
    // For CI: the same comparison, and exit 1 saying what regressed; the other way round nothing did.
    const failing = await reev("compare", first.evaluation.id, second.evaluation.id, "--fail-on-regression");
    expect(failing.code, show(failing)).toBe(1);
    expect(failing.stdout).toBe(text.stdout);
    expect(failing.stderr).toBe("Regression flagged (p < 0.05): eval-gamma, eval-gamma › b. Exit 1 (--fail-on-regression).\n");
    const improved = await reev("compare", second.evaluation.id, first.evaluation.id, "--fail-on-regression");
    expect(improved.code, show(improved)).toBe(0);
    expect(improved.stdout).toContain("  improvement: eval-gamma\n");
  });

  it("the report says which flow check failed in how many runs and why, in the table and the JSON", { timeout: 120_000 }, async () => {
    const table = await reev("eval", fixture("eval-expect.yaml"), "--repeat", "4");
    expect(table.code, show(table)).toBe(0);
    expect(table.stdout).toContain(
      [
        "Checks that failed:",
        "  eval-expect › forbiddenTools ✗ in 1 of 4 runs: transfer is forbidden but was called 1 time (failed calls count too)",
        '  eval-expect › args ✗ in 1 of 4 runs: no successful swap call had the arguments {"amount":2} (call 1: input.amount is 3, expected 2)',
      ].join("\n"),
    );
    const r = await reev("eval", fixture("eval-expect.yaml"), "--repeat", "4", "--format", "json");
    expect(r.code, show(r)).toBe(0);
    const [flow] = (
      JSON.parse(r.stdout) as {
        report: {
          flows: {
            checkFailures: { check: string; runs: number }[];
            runTotals: { runId: string; status: string; failedChecks: unknown[] }[];
          }[];
        };
      }
    ).report.flows;
    expect(flow!.checkFailures.map((f) => [f.check, f.runs])).toEqual([
      ["forbiddenTools", 1],
      ["args", 1],
    ]);
    // Runs 2 and 3 completed: they did not fail, a check did.
    const runs = Object.fromEntries(flow!.runTotals.map((t) => [t.runId.match(/_r(\d)_/)?.[1], [t.status, t.failedChecks]]));
    expect(runs).toEqual({
      1: ["completed", []],
      2: ["completed", [{ stepId: null, check: "args" }]],
      3: ["completed", [{ stepId: null, check: "forbiddenTools" }]],
      4: ["completed", []],
    });
  });

  it("a step's failed check is said once, under the checks that failed; each run's progress line says which checks it failed", {
    timeout: 120_000,
  }, async () => {
    // A step with its own check that fails with the step in run 2: the step's error is its own, the check is the check's.
    const quote = join(temp.dir, `quote-${backend.name}.yaml`);
    writeFileSync(
      quote,
      [
        "flowId: eval-quote",
        "prompt: quote",
        "steps:",
        "  - stepId: quote",
        "    prompt: quote",
        "    expect: { tools: [get_quote] }",
        "    script: [{ toolCalls: [{ toolName: get_quote }] }]",
        '    scriptByRun: { "2": [{ fail: no quote today }] }',
      ].join("\n"),
    );
    const r = await reev("eval", fixture("eval-v1/alpha.yaml"), quote, "--repeat", "5");
    expect(r.code, show(r)).toBe(0);
    const forbidden = "delete is forbidden but was called 1 time (failed calls count too)";
    expect(r.stdout).toContain(`Checks that failed:\n  eval-alpha › write › forbiddenTools ✗ in 2 of 5 runs: ${forbidden}\n`);
    expect(r.stdout).toContain("  eval-quote › quote › tools ✗ in 1 of 5 runs: get_quote was never called\n");
    expect(r.stdout).toContain(
      [
        "Steps that failed:",
        "  eval-alpha › write: failed 2/5 (40.0%) · flaky",
        "      2× (no error: its expect checks failed; see the checks that failed)",
        "  eval-quote › quote: failed 1/5 (20.0%) · flaky",
        "      1× no quote today",
        "",
      ].join("\n"),
    );
    // Each reason once.
    expect(r.stdout.split(forbidden), show(r)).toHaveLength(2);
    expect(r.stdout.split("get_quote was never called"), show(r)).toHaveLength(2);

    const progress = r.stderr.split("\n").filter((line) => /^\[\d+\/10\] /.test(line));
    expect(progress, show(r)).toHaveLength(10);
    const lineOf = (flow: string, run: number) => progress.find((line) => line.includes(` ${flow} run ${run} (`)) ?? "";
    for (const run of [2, 4])
      expect(lineOf("eval-alpha", run)).toMatch(
        /^\[\d+\/10\] ❌ completed, failed a check \(✗ write › forbiddenTools\) eval-alpha run \d \(exec_\S+\)$/,
      );
    for (const run of [1, 3, 5]) expect(lineOf("eval-alpha", run)).toMatch(/^\[\d+\/10\] ✅ completed eval-alpha run \d \(exec_\S+\)$/);
    expect(lineOf("eval-quote", 2)).toMatch(/^\[\d+\/10\] ❌ failed \(✗ quote › tools\) eval-quote run 2 \(exec_\S+\)$/);
  });

  it("reev show and reev diagram print a run's verdicts, with the reason of each failed check", async () => {
    const alpha = first.report.flows[0]!;
    const runTwo = alpha.runIds.find((id) => id.includes("_r2_"))!;
    const r = await reev("show", runTwo);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/write .*✗ forbiddenTools/);
    expect(r.stdout).toContain("step 1 write expect.forbiddenTools: delete is forbidden but was called 1 time");
    const json = JSON.parse((await reev("show", runTwo, "--json")).stdout) as { steps: { checks: { passed: boolean } | null }[] };
    expect(json.steps.map((s) => s.checks?.passed)).toEqual([true, false]);
    // The diagram's notes carry the same verdicts.
    const diagram = await reev("diagram", runTwo);
    expect(diagram.stdout).toContain(
      "note left of step_1_write\n        ✗ expect#58; 1 of 1 failed\n        forbiddenTools#58; delete is forbidden",
    );
    expect(diagram.stdout).toContain("note right of step_0_fetch\n        ✓ expect#58; 1 check held\n    end note");
  });

  it("the HTML report links each flow's runs to their diagram pages, written beside it", { timeout: 120_000 }, async () => {
    const out = join(temp.dir, `${backend.name}-report.html`);
    const r = await reev("eval", fixture("eval-v1/gamma.yaml"), "--repeat", "2", "--format", "html", "--out", out);
    expect(r.code, show(r)).toBe(0);
    const html = readFileSync(out, "utf8");
    const links = [...html.matchAll(/href="([^"#]+\.html)"/g)].map((m) => m[1]!);
    expect(links).toHaveLength(2);
    for (const link of links) expect(existsSync(join(temp.dir, decodeURIComponent(link)))).toBe(true);
    expect(html).toContain("eval-gamma");
  });

  it("--no-diagrams: the HTML report is written with no run diagrams beside it, and says how to draw one", {
    timeout: 120_000,
  }, async () => {
    const out = join(temp.dir, `${backend.name}-bare.html`);
    const r = await reev("eval", fixture("eval-v1/gamma.yaml"), "--repeat", "2", "--format", "html", "--out", out, "--no-diagrams");
    expect(r.code, show(r)).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toContain("eval-gamma");
    expect([...html.matchAll(/href="([^"#]+\.html)"/g)]).toEqual([]);
    expect(existsSync(join(temp.dir, `${backend.name}-bare-runs`))).toBe(false);
    expect(r.stderr).toContain(
      `No run diagrams written (--no-diagrams): reev diagram <executionId> --out run.html --db ${database.url} draws one.\n`,
    );
  });

  it("Ctrl-C leaves a recorded evaluation marked incomplete, counting only the runs that ended before it", {
    timeout: 120_000,
  }, async () => {
    const child = spawn(
      process.execPath,
      [...CLI_COMMAND, "eval", fixture("eval-slow.yaml"), "--repeat", "40", "--concurrency", "2", "--format", "json", "--db", database.url],
      { cwd: temp.dir, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const firstRunEnded = new Promise<void>((resolve) =>
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (/^\[\d+\/40\] /m.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await firstRunEnded;
    child.kill("SIGINT");
    const code = await exited;
    expect(code, `${stdout}\n${stderr}`).toBe(130);
    expect(stderr).toContain("Interrupted (SIGINT): stopping each run's current step");
    const result = JSON.parse(stdout) as EvalJson & { report: { notes: string[] } };
    expect(result.evaluation.status).toBe("incomplete");
    const counted = result.report.runs;
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(counted).toBeLessThan(40);
    // Never half-counted: every counted run is a whole run that passed, none of the cancelled ones.
    expect(result.report.passes).toBe(counted);
    expect(result.report.notes.some((n) => n.startsWith(`Interrupted: ${counted} of 40 runs counted`))).toBe(true);
    // Compared with itself, it says first that it is, then what its figures cover.
    const compared = await reev("compare", result.evaluation.id, result.evaluation.id, "--format", "json");
    expect(compared.code, show(compared)).toBe(0);
    const cover = (side: string) =>
      `${side} is an incomplete evaluation (interrupted): it counted ${counted} of 40 runs, and its figures cover those only.`;
    expect(JSON.parse(compared.stdout).comparison.notes.slice(0, 3)).toEqual([
      `A and B are the same evaluation (${result.evaluation.id}), so every difference is zero: give two different ids to compare.`,
      cover("A"),
      cover("B"),
    ]);
    // The HTML page says it above the table, where it is read before the numbers.
    const page = await reev("compare", result.evaluation.id, result.evaluation.id, "--format", "html");
    expect(page.code, show(page)).toBe(0);
    expect(page.stdout.indexOf(cover("A"))).toBeGreaterThan(0);
    expect(page.stdout.indexOf(cover("A"))).toBeLessThan(page.stdout.indexOf("<table"));
  });

  it("exit 2 for bad input, naming it", { timeout: 60_000 }, async () => {
    const typo = await reev("eval", fixture("invalid-expect.yaml"));
    expect(typo.code, show(typo)).toBe(2);
    expect(typo.stderr).toContain("steps[0].expect.forbidenTools");
    const baseline = await reev("eval", fixture("eval-v1/gamma.yaml"), "--baseline", "eval_nope");
    expect(baseline.code, show(baseline)).toBe(2);
    expect(baseline.stderr).toContain('No evaluation "eval_nope"');
    const rate = await reev("eval", fixture("eval-v1"), "--min-pass-rate", "1.5");
    expect(rate.code, show(rate)).toBe(2);
    expect(rate.stderr).toContain('--min-pass-rate must be a number from 0 to 1, got "1.5".\n');
    // A percentage is read back as the fraction it means.
    const percent = await reev("eval", fixture("eval-v1"), "--min-pass-rate", "80%");
    expect(percent.code, show(percent)).toBe(2);
    expect(percent.stderr).toContain('--min-pass-rate must be a number from 0 to 1, got "80%". Did you mean 0.8?\n');
    const missing = await reev("eval", join(temp.dir, "no-such-dir"));
    expect(missing.code, show(missing)).toBe(2);
    const compare = await reev("compare", "eval_nope", first.evaluation.id);
    expect(compare.code).toBe(2);
    // An id cut short is answered with the one it most likely is, as reev show answers for a run.
    const cut = await reev("compare", first.evaluation.id, first.evaluation.id.slice(0, -2));
    expect(cut.code, show(cut)).toBe(2);
    expect(cut.stderr).toContain(`No evaluation or execution "${first.evaluation.id.slice(0, -2)}" in `);
    expect(cut.stderr).toContain(`. Did you mean ${first.evaluation.id}?\n`);
    // Its name (reev eval --name v1) given for its id: the id, to copy.
    const byName = await reev("compare", "V1", first.evaluation.id);
    expect(byName.code, show(byName)).toBe(2);
    expect(byName.stderr).toContain(`No evaluation or execution "V1" in `);
    expect(byName.stderr).toContain(`. That is the name of evaluation ${first.evaluation.id}: compare takes ids.\n`);
  });
});
