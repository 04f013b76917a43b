/**
 * `reev consolidate` as a user runs it, on the embedded database and, when REEV_TEST_DATABASE_URL is
 * set, on PostgreSQL: a run recorded with --no-consolidate is pending everywhere, and the CLI's own
 * words (the run's summary, reev diagram) lead to the command that consolidates it; after it the run
 * is consolidated and drawn.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliBackends, executionIds, fixture, runCli, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-consolidate-");
const backends = cliBackends(() => temp.dir);

describe.each(backends)("reev consolidate on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const { reev } = database;

  it("a --no-consolidate run: its summary and reev diagram point at reev consolidate, which consolidates it; then it is drawn", async () => {
    const run = await reev("run", fixture("succeeds.yaml"), "--no-consolidate", "--out", join(temp.dir, "out"));
    expect(run.code, show(run)).toBe(0);
    const [id] = executionIds(run.stdout);
    expect(id, show(run)).toBeDefined();
    expect(run.stdout, show(run)).toMatch(
      new RegExp(`^ {2}consolidation: skipped — consolidation was not requested; reev consolidate ${id} --db \\S+ consolidates it$`, "m"),
    );

    const undrawn = await reev("diagram", id!);
    expect(undrawn.code, show(undrawn)).toBe(2);
    expect(undrawn.stderr, show(undrawn)).toMatch(
      new RegExp(`^reev consolidate ${id} --db \\S+ consolidates it; then it can be drawn\\.$`, "m"),
    );

    // A cut id is asked about, as reev show asks, and nothing is consolidated.
    const cut = await reev("consolidate", id!.slice(0, -3));
    expect(cut.code, show(cut)).toBe(2);
    expect(cut.stderr, show(cut)).toContain(`No execution "${id!.slice(0, -3)}" in `);
    expect(cut.stderr, show(cut)).toContain(`Did you mean ${id}?`);
    const pending = await reev("status", id!, "--json");
    expect(JSON.parse(pending.stdout).consolidation.status, show(pending)).toBe("pending");

    const r = await reev("consolidate", id!);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout, show(r)).toMatch(new RegExp(`^Consolidated +${id}: ${id}_consolidated_\\d+$`, "m"));
    expect(r.stdout, show(r)).toMatch(/^Metrics +success rate 100\.0% · avg score \S+ · 3 tool calls · /m);
    expect(r.stdout, show(r)).toMatch(new RegExp(`^Next: reev diagram ${id} --format html --out run\\.html --db \\S+$`, "m"));
    // One progress line, before it begins: nothing else.
    expect(r.stderr, show(r)).toMatch(new RegExp(`^Consolidating ${id} in (embedded PGlite|PostgreSQL) at [^\\n]+…\\n$`));

    const status = await reev("status", id!, "--json");
    const consolidated = JSON.parse(status.stdout);
    expect(consolidated.consolidation, show(status)).toMatchObject({ status: "completed", metrics: { successRate: 100 } });
    const diagram = await reev("diagram", id!);
    expect(diagram.code, show(diagram)).toBe(0);
    expect(diagram.stdout).toMatch(/^stateDiagram-v2/);

    // Again, with --json: a new session, and the run as reev status --json prints it.
    const again = await reev("consolidate", id!, "--json");
    expect(again.code, show(again)).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json.consolidation.consolidatedSessionId).not.toBe(consolidated.consolidation.consolidatedSessionId);
    expect(Object.keys(json).sort()).toEqual(Object.keys(consolidated).sort());
    expect(json).toMatchObject({ executionId: id, status: "completed", consolidation: { status: "completed" } });
  });

  it("an id that is no execution: exit 2, nothing consolidated", async () => {
    const r = await reev("consolidate", "exec_nope");
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr, show(r)).toMatch(/^reev: No execution "exec_nope" in /);
  });
});

describe("reev consolidate where there is nothing to consolidate", () => {
  it("a --db with no database is refused, and not created", async () => {
    const missing = join(temp.dir, "no-db-here");
    const r = await runCli(["consolidate", "exec_x", "--db", missing], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr, show(r)).toContain(`reev: There is no database at ${missing}: the directory does not exist.`);
    expect(existsSync(missing)).toBe(false);
  });

  it("on memory:// the summary suggests no later reev consolidate: the database goes with the command", async () => {
    const r = await runCli(["run", fixture("succeeds.yaml"), "--no-consolidate", "--db", "memory://"], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout, show(r)).toMatch(/^ {2}consolidation: skipped — consolidation was not requested$/m);
    expect(r.stdout).not.toContain("reev consolidate");
  });
});
