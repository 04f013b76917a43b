/**
 * A run that completed but failed an `expect` check, as a user (or CI) meets it, on the embedded
 * database and, when REEV_TEST_DATABASE_URL is set, on PostgreSQL: `reev run` says which check failed
 * in `reev eval`'s words and exits 1, its .mmd and .html are what `reev diagram` draws for the run
 * (check notes and Checks column included), and `reev show` counts every check of the run, the
 * steps' too, in its text and its JSON. Before, only `reev eval` said a check had failed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, cliBackends, executionIds, fixture, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-run-checks-");
const backends = cliBackends(() => temp.dir);

const ARGS_REASON = 'no successful swap call had the arguments {"amount":2} (call 1: input.amount is 3, expected 2)';

/** The summary block `reev run` prints for the run `id`: from its status line to the next blank line after its table. */
const summaryOf = (r: CliResult, id: string) =>
  r.stdout.split("\n\n").slice(r.stdout.split("\n\n").findIndex((b) => b.includes(`  ${id}`)))[1] ?? "";

describe.each(backends)("expect checks in reev run and reev show on $name", (backend) => {
  const { reev } = cliDatabase(backend, temp);
  const out = () => join(temp.dir, `${backend.name}-out`);
  let run: CliResult;
  let stepFails: string;
  let flowFails: string;

  it("reev run exits 1 when a run failed a check, and its summary says which in reev eval's words", async () => {
    run = await reev("run", fixture("run-step-check-fails.yaml"), fixture("run-flow-check-fails.yaml"), "--out", out());
    expect(run.code, show(run)).toBe(1);
    [stepFails, flowFails] = executionIds(run.stdout) as [string, string];
    expect(stepFails, show(run)).toMatch(/^exec_run-step-check-fails_/);
    expect(flowFails, show(run)).toMatch(/^exec_run-flow-check-fails_/);
    expect(run.stdout).toContain(`❌ completed, failed a check (✗ swap › args)  run-step-check-fails  ${stepFails}\n`);
    expect(run.stdout).toContain(`❌ completed, failed a check (✗ forbiddenTools)  run-flow-check-fails  ${flowFails}\n`);
    // Its steps all succeeded: that stays said, and the checks line counts every check of the run.
    expect(run.stdout).toMatch(/^ {2}2\/2 steps succeeded · /m);
    expect(run.stdout).toContain("  checks: ✗ 1 of 3 failed: swap › args\n");
    expect(run.stdout).toContain("  checks: ✗ 1 of 1 failed: forbiddenTools\n");
    // The step table has a checks column, and each failed check its reason under it.
    const table = summaryOf(run, stepFails);
    expect(table, show(run)).toMatch(/^ {2}#\s+step\s+status\s+duration\s+tools\s+tries\s+score\s+checks\s+error$/m);
    expect(table).toMatch(/^ {2}0\s+balance\s+✅ success\s+.*✓ 1 check\s*$/m);
    expect(table).toMatch(/^ {2}1\s+swap\s+✅ success\s+.*✗ args\s*$/m);
    expect(table).toContain(`\n  step 1 swap expect.args: ${ARGS_REASON}`);
    expect(run.stdout).toContain("\n  flow expect.forbiddenTools: transfer is forbidden but was called 1 time (failed calls count too)");
    expect(run.stdout).toMatch(/^2 runs: 2 completed \(2 failed a check\), 0 failed$/m);
  });

  it("reev run's .mmd and .html are what reev diagram draws for the run: check notes, the Checks column, the banner", async () => {
    for (const id of [stepFails, flowFails]) {
      const mmd = readFileSync(join(out(), `${id}.mmd`), "utf8");
      const html = readFileSync(join(out(), `${id}.html`), "utf8");
      const drawn = await reev("diagram", id);
      expect(drawn.code, show(drawn)).toBe(0);
      expect(mmd).toBe(drawn.stdout);
      const page = join(temp.dir, `${backend.name}-${id}.html`);
      const written = await reev("diagram", id, "--out", page);
      expect(written.code, show(written)).toBe(0);
      expect(html).toBe(readFileSync(page, "utf8"));
      expect(html).toContain('data-checks="failed"');
    }
    // The step's failed check in the Checks column and the Checks section, and the banner says it first.
    const stepHtml = readFileSync(join(out(), `${stepFails}.html`), "utf8");
    expect(stepHtml).toContain('class="checks failed" data-label="Checks">✗ args</td>');
    expect(stepHtml).toMatch(/aria-label="Checks"><h2>Checks<\/h2>.*✗ <code>args<\/code><span>: no successful swap call/);
    expect(stepHtml).toContain("❌ Run completed, failed a check (✗ swap › args)</p>");
    const stepMmd = readFileSync(join(out(), `${stepFails}.mmd`), "utf8");
    expect(stepMmd).toContain("note left of step_1_swap\n        ✗ expect#58; 1 of 1 failed\n        args#58; ");
    // The flow's own failed check: in the Checks section and the banner.
    const flowHtml = readFileSync(join(out(), `${flowFails}.html`), "utf8");
    expect(flowHtml).toMatch(
      /aria-label="Checks"><h2>Checks<\/h2><ul><li class="tool-failed">✗ <strong>flow<\/strong><ul><li>✗ <code>forbiddenTools<\/code>/,
    );
    expect(flowHtml).toContain("❌ Run completed, failed a check (✗ forbiddenTools)</p>");
  });

  it("reev show counts every check of the run: a step's failed check is in its Checks line and its whole-run verdict", async () => {
    const text = await reev("show", stepFails);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toMatch(/^Status\s+❌ completed, failed a check \(✗ swap › args\)$/m);
    expect(text.stdout).toMatch(/^Checks\s+✗ 1 of 3 failed: swap › args$/m);
    expect(text.stdout).toContain(`step 1 swap expect.args: ${ARGS_REASON}`);

    const r = await reev("show", stepFails, "--json");
    expect(r.code, show(r)).toBe(0);
    const json = JSON.parse(r.stdout) as {
      checks: { passed: boolean; checks: { check: string }[] } | null;
      allChecks: { passed: boolean; total: number; failed: { stepId: string | null; check: string; reason: string }[] } | null;
      steps: { checks: { passed: boolean } | null }[];
    };
    // `checks` is the flow's own verdict, as it always was: it held.
    expect(json.checks).toEqual({ passed: true, checks: [{ check: "forbiddenTools", passed: true, reason: null }] });
    expect(json.steps.map((s) => s.checks?.passed)).toEqual([true, false]);
    // The whole run's verdict counts the steps' checks too.
    expect(json.allChecks).toEqual({ passed: false, total: 3, failed: [{ stepId: "swap", check: "args", reason: ARGS_REASON }] });

    const flow = JSON.parse((await reev("show", flowFails, "--json")).stdout) as { checks: { passed: boolean }; allChecks: unknown };
    expect(flow.checks.passed).toBe(false);
    expect(flow.allChecks).toMatchObject({ passed: false, total: 1, failed: [{ stepId: null, check: "forbiddenTools" }] });
  });

  it("reev list says of each run what reev show says: a run that completed but failed a check is not ✅ completed", async () => {
    const listed = await reev("list", "--limit", "1000");
    expect(listed.code, show(listed)).toBe(0);
    const row = (id: string) => listed.stdout.split("\n").find((line) => line.startsWith(id)) ?? "";
    expect(row(stepFails), show(listed)).toContain("❌ completed, failed a check (✗ swap › args)");
    expect(row(flowFails), show(listed)).toContain("❌ completed, failed a check (✗ forbiddenTools)");
    expect(row(stepFails)).not.toContain("✅");

    const r = await reev("list", "--limit", "1000", "--json");
    expect(r.code, show(r)).toBe(0);
    const json = JSON.parse(r.stdout) as { executions: { executionId: string; status: string; allChecks: unknown }[] };
    const entry = (id: string) => json.executions.find((e) => e.executionId === id);
    // The status stays the stored one; allChecks is the whole run's verdict, as reev show --json has it.
    expect(entry(stepFails)).toMatchObject({
      status: "completed",
      allChecks: { passed: false, total: 3, failed: [{ stepId: "swap", check: "args", reason: ARGS_REASON }] },
    });
    expect(entry(flowFails)?.allChecks).toMatchObject({ passed: false, total: 1, failed: [{ stepId: null, check: "forbiddenTools" }] });
  });

  it("a run whose checks all held exits 0 and says so; a run of a flow without checks says nothing of them", async () => {
    const held = await reev("run", fixture("eval-v1/gamma.yaml"), "--out", out());
    expect(held.code, show(held)).toBe(0);
    const [id] = executionIds(held.stdout);
    expect(held.stdout).toContain(`✅ completed  eval-gamma  ${id}\n`);
    expect(held.stdout).toMatch(/^ {2}checks: ✓ \d+ checks$/m);
    const shown = await reev("show", id!, "--json");
    expect(JSON.parse(shown.stdout)).toMatchObject({ allChecks: { passed: true, failed: [] } });

    const plain = await reev("run", fixture("succeeds.yaml"), "--out", out());
    expect(plain.code, show(plain)).toBe(0);
    expect(plain.stdout).not.toMatch(/checks:|✗|✓/);
    const [plainId] = executionIds(plain.stdout);
    const plainJson = JSON.parse((await reev("show", plainId!, "--json")).stdout) as Record<string, unknown>;
    expect([plainJson.checks, plainJson.allChecks]).toEqual([null, null]);
    // reev list: the held run is ✅ completed with its verdict, the plain one with none.
    const listed = await reev("list", "--limit", "1000");
    expect(listed.stdout.split("\n").find((line) => line.startsWith(id!))).toContain("✅ completed");
    const entries = (
      JSON.parse((await reev("list", "--limit", "1000", "--json")).stdout) as { executions: { executionId: string; allChecks: unknown }[] }
    ).executions;
    expect(entries.find((e) => e.executionId === id)?.allChecks).toMatchObject({ passed: true, failed: [] });
    expect(entries.find((e) => e.executionId === plainId)?.allChecks).toBeNull();
  });
});
