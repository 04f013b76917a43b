/**
 * `reev run --prices` (and the other commands that take a price file) as a user runs them, on the
 * embedded database and, when REEV_TEST_DATABASE_URL is set, on PostgreSQL: each run's consolidation
 * prices its stored attempts, and the cost is shown where the tokens are (the run summary, reev show,
 * reev status --json, the HTML report); without a price file it is "—" / null; a bad price file is
 * exit 2, naming the field, before the database is opened.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliBackends, executionIds, fixture, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-run-prices-");
const backends = cliBackends(() => temp.dir);

// eval-usage.yaml's two steps, one attempt each, priced by prices.yaml (gpt-a: 2.5 in, 1.25 cached in, 10 out):
//   ask:    (1000 − 100) × 2.5 + 100 × 1.25 + 200 × 10 = 4375   per million → $0.004375
//   answer:  2345 × 2.5 + 0 × 1.25 + 67 × 10          = 6532.5 per million → $0.0065325
// $0.004375 + $0.0065325 = $0.0109075 (the double the sum gives is the one this literal reads as), shown "$0.0109".
const RUN_USD = 0.0109075;

describe.each(backends)("reev run --prices on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const { reev } = database;
  const executions = async () => {
    const list = await reev("list", "--json");
    expect(list.code, show(list)).toBe(0);
    return (JSON.parse(list.stdout) as { executions: unknown[] }).executions.length;
  };

  it("prices the run's stored attempts: the summary, reev show, status --json and the HTML report show the cost", async () => {
    const r = await reev(
      "run",
      fixture("eval-usage.yaml"),
      "--prices",
      fixture("prices.yaml"),
      "--out",
      join(temp.dir, `out-${backend.name}`),
    );
    expect(r.code, show(r)).toBe(0);
    const [executionId] = executionIds(r.stdout);
    expect(r.stdout, show(r)).toContain("tokens in 3345 / out 267 · cost $0.0109\n");

    const status = await reev("status", executionId!, "--json");
    expect(status.code, show(status)).toBe(0);
    expect(JSON.parse(status.stdout).consolidation.metrics).toMatchObject({
      totalInputTokens: 3345,
      totalOutputTokens: 267,
      costUsd: RUN_USD,
    });
    const text = await reev("show", executionId!);
    expect(text.stdout, show(text)).toContain("tokens in 3345 / out 267 · cost $0.0109");

    const html = readFileSync(join(temp.dir, `out-${backend.name}`, `${executionId}.html`), "utf8");
    expect(html).toMatch(/<span class="value">\$0\.0109<\/span><span class="name">Cost<\/span>/);
  });

  it("without --prices the cost is unknown: — in the summary, null in status --json", async () => {
    const unpriced = await reev("run", fixture("eval-usage.yaml"), "--out", join(temp.dir, `unpriced-${backend.name}`));
    expect(unpriced.stdout, show(unpriced)).toContain("tokens in 3345 / out 267 · cost —\n");
    const status = await reev("status", executionIds(unpriced.stdout)[0]!, "--json");
    expect(JSON.parse(status.stdout).consolidation.metrics.costUsd).toBeNull();
  });

  it("a bad price file is exit 2, naming the field, and nothing is run or written (reev run, demo and serve alike)", async () => {
    const before = await executions();
    for (const command of [["run", fixture("eval-usage.yaml")], ["demo"], ["serve", "--port", "0"]]) {
      const r = await reev(...command, "--prices", fixture("prices-invalid.yaml"));
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain('models["gpt-a"].outputPerMillion: must be a number of US dollars per million tokens');
      expect(r.stdout).toBe("");
    }
    const missing = await reev("run", fixture("eval-usage.yaml"), "--prices", join(temp.dir, "no-such-prices.yaml"));
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stderr).toContain("Cannot read the price file");
    expect(await executions()).toBe(before);
  });
});
