/**
 * `reev demo` end to end: the bundled examples run at once, as a child process, on a temporary
 * embedded database, and each leaves a Mermaid file and a self-contained HTML page.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createPostgresDatabase } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { startCli } from "./support/live-cli.js";
import { runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-demo-");

describe("reev demo", () => {
  it("runs the three examples, exits 0 and writes three diagrams", async () => {
    const db = join(temp.dir, "db");
    const out = join(temp.dir, "out");
    const r = await runCli(["demo", "--db", db, "--out", out], { cwd: temp.dir, timeoutMs: 90_000 });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toMatch(/^reev demo: 3 example flows from /);

    // Each example's outcome is told as it is: two fail on purpose, the 12-step one completes.
    expect(r.stdout).toMatch(/^❌ failed {2}jup-multiply-usdc {2}exec_/m);
    expect(r.stdout).toMatch(/^❌ failed {2}hanging-oracle {2}exec_/m);
    expect(r.stdout).toMatch(/^✅ completed {2}weekly-rebalance-12 {2}exec_/m);
    expect(r.stdout).toMatch(/^\s+1\s+oracle_price\s+⏱️ timed_out\s/m);
    expect(r.stdout).toMatch(/^\s+2\s+complex_lend\s+⏭️ skipped\s/m);
    expect(r.stdout.match(/consolidation: completed/g)).toHaveLength(3);

    const files = readdirSync(out).sort();
    const html = files.filter((f) => f.endsWith(".html"));
    expect(html, files.join(", ")).toHaveLength(3);
    expect(files.filter((f) => f.endsWith(".mmd"))).toHaveLength(3);
    for (const f of html) {
      expect(r.stdout).toContain(join(out, f));
      const page = readFileSync(join(out, f), "utf8");
      expect(page).not.toMatch(/<script[^>]+src\s*=\s*["']?(https?:)?\/\//i);
    }
    for (const f of files.filter((name) => name.endsWith(".mmd"))) {
      expect(readFileSync(join(out, f), "utf8").startsWith("stateDiagram-v2")).toBe(true);
    }
    expect(r.stdout).toContain("Next: reev list");
    expect(r.stdout).toContain("\nSome runs fail on purpose (a swap with invalid parameters, a step that hangs until its timeout):\n");
    // The last line sums the runs up, by status.
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("3 runs: 1 completed, 2 failed");
  });

  it("Ctrl-C: the runs are cancelled where they stood, and the closing words say so, not that they failed on purpose", async () => {
    const demo = startCli(["demo", "--db", join(temp.dir, "db-interrupted"), "--out", join(temp.dir, "out-interrupted")], {
      cwd: temp.dir,
      timeoutMs: 90_000,
    });
    // Once a step is under way, so that a run is cancelled mid-flow.
    await demo.waitForLine(/step 0 \S+ started$/);
    demo.child.kill("SIGINT");
    const r = await demo.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stdout).toContain("\nThe demo was interrupted, so its runs were cancelled where they stood:\n");
    expect(r.stdout).not.toContain("fail on purpose");
    expect(r.stdout).toMatch(/^⏹️ cancelled {2}/m);
  });

  it("on memory:// it points at no next command there: the database is gone when the demo ends", async () => {
    const r = await runCli(["demo", "--db", "memory://", "--out", join(temp.dir, "out-memory")], { cwd: temp.dir, timeoutMs: 90_000 });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).not.toContain("Next:");
    expect(r.stdout).toContain(
      "\nAn in-memory database (--db memory://) lives only as long as one command: the next command finds nothing there.",
    );
  });

  it("a price file it cannot read fails before the banner: the error is all it prints, exit 2", async () => {
    const r = await runCli(["demo", "--db", "memory://", "--out", join(temp.dir, "out-prices"), "--prices", join(temp.dir, "none.yaml")], {
      cwd: temp.dir,
    });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/^reev: Cannot read the price file /);
    expect(r.stderr).not.toContain("reev demo:");
    expect(r.stdout).toBe("");
  });

  const base = process.env.REEV_TEST_DATABASE_URL;
  it.skipIf(!base)("an unmigrated PostgreSQL database fails before the banner, saying to migrate it, exit 2", async () => {
    const database = await createPostgresDatabase(base as string);
    try {
      const r = await runCli(["demo", "--db", database.url, "--out", join(temp.dir, "out-pg")], { cwd: temp.dir });
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toMatch(/^reev: PostgreSQL at .* has no reev tables/);
      expect(r.stderr).not.toContain("reev demo:");
    } finally {
      await database.drop();
    }
  });
});
