/**
 * `reev run --prices` (and the other commands that take a price file) as a user runs them, on the
 * embedded database and, when REEV_TEST_DATABASE_URL is set, on PostgreSQL: each run's consolidation
 * prices its stored attempts, and the cost is shown where the tokens are (the run summary, reev show,
 * reev status --json, the HTML report); without a price file it is "—" / null; a bad price file is
 * exit 2, naming the field, before the database is opened.
 */
import { readFileSync, writeFileSync } from "node:fs";
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

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

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
      // A known cost has no reason to give.
      costUnknown: null,
      costUnknownReason: null,
    });
    const text = await reev("show", executionId!);
    expect(text.stdout, show(text)).toContain("tokens in 3345 / out 267 · cost $0.0109");

    const html = readFileSync(join(temp.dir, `out-${backend.name}`, `${executionId}.html`), "utf8");
    expect(html).toMatch(/<span class="value">\$0\.0109<\/span><span class="name">Cost<\/span>/);
  });

  it("without --prices the cost is unknown: — in the summary, null in status --json, and the summary, show and status say why", async () => {
    const unpriced = await reev("run", fixture("eval-usage.yaml"), "--out", join(temp.dir, `unpriced-${backend.name}`));
    const why = "Cost is unknown (—): no price table was given: pass --prices FILE to price the tokens.";
    expect(unpriced.stdout, show(unpriced)).toContain(`tokens in 3345 / out 267 · cost —\n  ${why}\n`);
    const [id] = executionIds(unpriced.stdout);
    const status = await reev("status", id!, "--json");
    expect(JSON.parse(status.stdout).consolidation.metrics).toMatchObject({
      costUsd: null,
      costUnknown: [{ reason: "no_prices" }],
      costUnknownReason: "no price table was given: pass --prices FILE to price the tokens",
    });
    for (const command of ["show", "status"]) {
      const text = await reev(command, id!);
      expect(text.stdout, show(text)).toMatch(
        new RegExp(`· cost —\n {2,}${escaped(why)}\n {2,}reev consolidate ${id} --prices FILE --db \\S+ prices it\\.\n`),
      );
    }
  });

  it("reev compare of two runs compares the costs stored with them (as priced when consolidated); one never priced has none", async () => {
    const priced = await reev(
      "run",
      fixture("eval-usage.yaml"),
      "--repeat",
      "2",
      "--prices",
      fixture("prices.yaml"),
      "--out",
      join(temp.dir, `cmp-${backend.name}`),
    );
    const [a, b] = executionIds(priced.stdout);
    const unpriced = await reev("run", fixture("eval-usage.yaml"), "--out", join(temp.dir, `cmp-unpriced-${backend.name}`));
    const [c] = executionIds(unpriced.stdout);
    const deltaOf = async (x: string, y: string) => {
      const r = await reev("compare", x, y, "--format", "json");
      expect(r.code, show(r)).toBe(0);
      return (JSON.parse(r.stdout) as { comparison: { flows: { costUsdPerRunDelta: number | null }[] } }).comparison.flows[0]
        ?.costUsdPerRunDelta;
    };
    // The same flow and usage, both priced at $0.0109: no difference, rather than an unknown one.
    expect(await deltaOf(a!, b!)).toBe(0);
    expect(await deltaOf(a!, c!)).toBeNull();
    const table = await reev("compare", a!, b!);
    expect(table.stdout, show(table)).toMatch(/^eval-usage\s.*±\$0\.0000$/m);
  });

  it("an attempt without its cached count, priced apart: the summary, show, status and the HTML report say why the cost is unknown", async () => {
    const flow = join(temp.dir, `uncached-${backend.name}.yaml`);
    writeFileSync(
      flow,
      [
        "flowId: uncached",
        "prompt: p",
        "steps:",
        "  - { stepId: ask, prompt: ask, script: [{ usage: { model: gpt-a, inputTokens: 1000, outputTokens: 200 } }] }",
      ].join("\n"),
    );
    const out = join(temp.dir, `uncached-out-${backend.name}`);
    const r = await reev("run", flow, "--prices", fixture("prices.yaml"), "--out", out);
    expect(r.code, show(r)).toBe(0);
    const why = "Cost is unknown (—): an attempt did not report cached input tokens, and the price of gpt-a charges them differently.";
    expect(r.stdout, show(r)).toContain(`tokens in 1000 / out 200 · cost —\n  ${why}\n`);
    const [id] = executionIds(r.stdout);
    for (const command of ["show", "status"]) {
      const text = await reev(command, id!);
      expect(text.stdout, show(text)).toMatch(new RegExp(`· cost —\n {2,}${escaped(why)}\n`));
      // A price file would not help: no command to consolidate it again with one.
      expect(text.stdout, show(text)).not.toContain("prices it.");
    }
    const html = readFileSync(join(out, `${id}.html`), "utf8");
    expect(html).toContain(`<p class="metrics-note">${why}</p>`);
  });

  it("scripts that give no usage: said once for the command, not under each run; a run with usage partly missing keeps its line", async () => {
    const none = join(temp.dir, `no-usage-${backend.name}.yaml`);
    writeFileSync(none, ["flowId: no-usage", "prompt: p", "steps:", "  - { stepId: ask, prompt: ask, script: [{}] }"].join("\n"));
    const partly = join(temp.dir, `partly-${backend.name}.yaml`);
    writeFileSync(
      partly,
      [
        "flowId: partly",
        "prompt: p",
        "steps:",
        "  - { stepId: ask, prompt: ask, script: [{ usage: { model: gpt-a, inputTokens: 1000, outputTokens: 200 } }] }",
        "  - { stepId: answer, prompt: answer, script: [{}] }",
      ].join("\n"),
    );
    const once = "The scripted agent reports no token usage (its scripts give none), so tokens and cost show —.";
    const all = await reev("run", none, "--repeat", "3", "--out", join(temp.dir, `no-usage-out-${backend.name}`));
    expect(all.code, show(all)).toBe(0);
    expect(all.stdout.split(once), show(all)).toHaveLength(2);
    expect(all.stdout, show(all)).not.toContain("Cost is unknown");
    expect(all.stdout.match(/tokens in — \/ out — · cost —\n/g), show(all)).toHaveLength(3);

    const mixed = await reev("run", none, partly, "--out", join(temp.dir, `mixed-out-${backend.name}`));
    expect(mixed.code, show(mixed)).toBe(0);
    expect(mixed.stdout, show(mixed)).toContain(
      "\nThe scripted agent reports no token usage for 1 of 2 runs (their scripts give none), so their tokens and cost show —.\n",
    );
    // A real gap: one step counted, the other not. Said under that run, in the words it always had.
    expect(mixed.stdout, show(mixed)).toContain(
      "tokens in — / out — · cost —\n  Cost is unknown (—): the agent did not report usage for every attempt.\n",
    );
    expect(mixed.stdout.match(/Cost is unknown/g), show(mixed)).toHaveLength(1);

    // One run's own views say it under its metrics, by that reason.
    const [id] = executionIds(all.stdout);
    const status = await reev("status", id!);
    expect(status.stdout, show(status)).toMatch(/· cost —\n {2,}Cost is unknown \(—\): the agent reported no token usage\.\n/);
  });

  it("reev consolidate without --prices after a priced consolidation warns, naming the cost it dropped and how to keep it", async () => {
    const r = await reev("run", fixture("eval-usage.yaml"), "--prices", fixture("prices.yaml"), "--no-consolidate");
    const [id] = executionIds(r.stdout);
    const priced = await reev("consolidate", id!, "--prices", fixture("prices.yaml"));
    expect(priced.code, show(priced)).toBe(0);
    // Its progress line (reev consolidate says what it consolidates, where), and nothing else.
    const consolidating = `Consolidating ${id} in [^\n]+…\n`;
    expect(priced.stderr, show(priced)).toMatch(new RegExp(`^${consolidating}$`));
    const pricedId = /^Consolidated +\S+: (\S+)$/m.exec(priced.stdout)?.[1];
    const dropped = await reev("consolidate", id!);
    expect(dropped.code, show(dropped)).toBe(0);
    expect(dropped.stderr, show(dropped)).toMatch(
      new RegExp(
        `^${consolidating}Warning: The run's cost of \\$0\\.0109 was dropped: it was consolidated again without a price table, so its newest consolidation has no cost \\(the previous one, ${pricedId}, still holds it\\)\\. To keep it, consolidate with a price file: reev consolidate ${id} --prices FILE --db \\S+\n$`,
      ),
    );
    // Nothing left to drop: no warning. With --json, stderr stays for errors: the warning is in the answer.
    expect((await reev("consolidate", id!)).stderr).toMatch(new RegExp(`^${consolidating}$`));
    await reev("consolidate", id!, "--prices", fixture("prices.yaml"));
    const json = await reev("consolidate", id!, "--json");
    expect(json.stderr, show(json)).toBe("");
    expect(JSON.parse(json.stdout).warning).toMatch(/^The run's cost of \$0\.0109 was dropped: /);
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
