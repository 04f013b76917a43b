/**
 * Bad input to the `reev` CLI (run as a child process) exits 2 with a message saying what is wrong,
 * and is caught before the database is touched: the --db directory is never even created.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, type CliResult, fixture, makeTempDir, runCli, show } from "./support/run-cli.js";

let temp: ReturnType<typeof makeTempDir>;
let db: string;
const reev = (...args: string[]) => runCli(args, { cwd: temp.dir });

beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-errors-");
  db = join(temp.dir, "db");
});

afterAll(() => temp?.remove());

function expectBadInput(r: CliResult, message: string | RegExp): void {
  expect(r.code, show(r)).toBe(2);
  expect(r.stdout, show(r)).toBe("");
  if (typeof message === "string") expect(r.stderr, show(r)).toContain(message);
  else expect(r.stderr, show(r)).toMatch(message);
  expect(r.stderr).toMatch(/^reev: /);
  // The usage hint only where the usage was wrong (not for a bad flow file or URL).
  expect(r.stderr.includes("Run reev --help for usage.")).toBe(
    /INVALID_ARGUMENT|ERR_PARSE_ARGS|Unknown option|Unexpected argument/.test(r.stderr),
  );
  // Nothing ran, so nothing was opened or written.
  expect(existsSync(db), `${db} was created`).toBe(false);
  expect(existsSync(join(temp.dir, "reev-out"))).toBe(false);
  expect(existsSync(join(temp.dir, ".reev"))).toBe(false);
}

describe("reev exits 2 on bad input", () => {
  it("an invalid flow file: the message names the file and the bad field's path", async () => {
    const file = fixture("invalid-retry.yaml");
    const r = await reev("run", file, "--db", db);
    expectBadInput(r, `INVALID_FLOW: Invalid flow plan in ${file}:`);
    expect(r.stderr).toMatch(/^ {2}- steps\[0\]\.retry\.attempts: .+$/m);
  });

  it("one invalid file among valid ones: nothing runs at all", async () => {
    const r = await reev("run", fixture("succeeds.yaml"), fixture("invalid-retry.yaml"), "--db", db);
    expectBadInput(r, "steps[0].retry.attempts");
  });

  it("a flow file that is not YAML at all, and one with an unknown key", async () => {
    const broken = join(temp.dir, "broken.yaml");
    writeFileSync(broken, "flowId: [unclosed\nsteps: {\n");
    expectBadInput(await reev("run", broken, "--db", db), `Cannot parse flow file ${broken}`);

    const typo = join(temp.dir, "typo.json");
    writeFileSync(typo, JSON.stringify({ flowId: "f", prompt: "p", steps: [{ stepId: "a", prompt: "x", retyr: { attempts: 2 } }] }));
    expectBadInput(await reev("run", typo, "--db", db), /- steps\[0\]\.retyr: Unrecognized key/);
  });

  it("a missing flow file", async () => {
    const missing = join(temp.dir, "no-such-flow.yaml");
    expectBadInput(await reev("run", missing, "--db", db), `Cannot read flow file ${missing}`);
  });

  it("reev run without a flow file", async () => {
    expectBadInput(await reev("run", "--db", db), "reev run needs at least one flow file");
  });

  it("an unknown command, and no command", async () => {
    expectBadInput(await reev("frobnicate", "--db", db), 'Unknown command "frobnicate"');
    expectBadInput(await reev(), "No command given");
  });

  it("an unknown flag", async () => {
    expectBadInput(await reev("list", "--frobnicate", "--db", db), "Unknown option '--frobnicate'");
  });

  it("--concurrency 0, --repeat abc, --repeat 2^32, --limit 0", async () => {
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--concurrency", "0", "--db", db),
      '--concurrency must be an integer from 1 to 1000, got "0"',
    );
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--repeat", "abc", "--db", db),
      '--repeat must be an integer from 1 to 100000, got "abc"',
    );
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--repeat", "4294967296", "--db", db),
      "--repeat must be an integer from 1 to 100000",
    );
    expectBadInput(await reev("list", "--limit", "0", "--db", db), '--limit must be an integer ≥ 1, got "0"');
  });

  it("--agent nope", async () => {
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--agent", "nope", "--db", db),
      'Unknown agent "nope": use scripted or openai',
    );
  });

  it("an unknown --status for reev list", async () => {
    expectBadInput(await reev("list", "--status", "done", "--db", db), 'Unknown status "done": use running, completed, failed');
  });

  it("an unsupported database URL", async () => {
    expectBadInput(await reev("list", "--db", "mysql://root@localhost/reev"), 'Unsupported database URL "mysql://root@localhost/reev"');
  });

  it("reev show with no id, or two", async () => {
    expectBadInput(await reev("show", "--db", db), "Expected exactly one executionId");
    expectBadInput(await reev("show", "a", "b", "--db", db), "Expected exactly one executionId");
  });
});

describe("reev --help", () => {
  it("prints the usage on stdout and exits 0", async () => {
    const r = await reev("--help");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^reev — /);
    for (const command of ["run", "demo", "list", "show", "status", "diagram", "export", "import", "recover"])
      expect(r.stdout).toContain(`reev ${command} `);
    expect(r.stdout).toContain("Exit codes: 0 success, 1");
    expect(r.stderr).toBe("");
  });
});
