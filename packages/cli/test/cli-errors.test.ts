/**
 * Bad input to the `reev` CLI (run as a child process) exits 2 with a message in plain words that
 * says what to do next, and is caught before the database is touched: the --db directory is never
 * even created. With --json the same error is one JSON object on stderr, for scripts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CliResult, cliEnv, fixture, runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-errors-");
let db: string;
const reev = (...args: string[]) => runCli(args, { cwd: temp.dir });

beforeAll(() => {
  db = join(temp.dir, "db");
});

/** A stack frame as Node prints one: "    at fn (file:line:col)". */
const STACK_FRAME = /^\s+at\s.+(:\d+:\d+\)?|<anonymous>\)?)$/m;

/**
 * Exit 2, nothing on stdout, and on stderr "reev: <message>" then, on its own line, the next step:
 * `hint` when given, else the command's help. No error code in front of the words, no stack trace,
 * and nothing was opened or written.
 */
function expectBadInput(r: CliResult, message: string | RegExp, hint: string | RegExp = /^Run reev (\w+ )?--help /m): void {
  expect(r.code, show(r)).toBe(2);
  expect(r.stdout, show(r)).toBe("");
  const said = r.stderr.match(/^reev: .*$/m)?.[0];
  expect(said, show(r)).toMatch(/^reev: [A-Z"<-]/);
  expect(said, show(r)).not.toMatch(/^reev: [A-Z_]{4,}: /);
  if (typeof message === "string") expect(r.stderr, show(r)).toContain(message);
  else expect(r.stderr, show(r)).toMatch(message);
  // The next step is the last line.
  if (typeof hint === "string") expect(r.stderr.trimEnd().split("\n").at(-1), show(r)).toBe(hint);
  else expect(r.stderr, show(r)).toMatch(hint);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  // Nothing ran, so nothing was opened or written.
  expect(existsSync(db), `${db} was created`).toBe(false);
  expect(existsSync(join(temp.dir, "reev-out"))).toBe(false);
  expect(existsSync(join(temp.dir, ".reev"))).toBe(false);
}

const FLOW_HINT = "Fix the flow file and run again; reev schema prints the JSON Schema every flow file must follow.";

describe("reev exits 2 on bad input, in plain words", () => {
  it("an invalid flow file: the message names the file and the bad field's path", async () => {
    const file = fixture("invalid-retry.yaml");
    const r = await reev("run", file, "--db", db);
    expectBadInput(r, `reev: Invalid flow plan in ${file}:`, FLOW_HINT);
    expect(r.stderr).toMatch(/^ {2}- steps\[0\]\.retry\.attempts: .+$/m);
  });

  it("one invalid file among valid ones: nothing runs at all", async () => {
    const r = await reev("run", fixture("succeeds.yaml"), fixture("invalid-retry.yaml"), "--db", db);
    expectBadInput(r, "steps[0].retry.attempts", FLOW_HINT);
  });

  it("a flow file that is not YAML at all, and one with an unknown key", async () => {
    const broken = join(temp.dir, "broken.yaml");
    writeFileSync(broken, "flowId: [unclosed\nsteps: {\n");
    expectBadInput(await reev("run", broken, "--db", db), `reev: Cannot parse ${broken} as a flow file`, /^Fix the flow file/m);

    const typo = join(temp.dir, "typo.json");
    writeFileSync(typo, JSON.stringify({ flowId: "f", prompt: "p", steps: [{ stepId: "a", prompt: "x", retyr: { attempts: 2 } }] }));
    expectBadInput(
      await reev("run", typo, "--db", db),
      /- steps\[0\]\.retyr: Unrecognized key: did you mean retry\?/,
      /^Fix the flow file/m,
    );
  });

  it("--agent scripted with a step that has no script: the step is named, nothing is invented", async () => {
    const unscripted = join(temp.dir, "unscripted.yaml");
    writeFileSync(
      unscripted,
      "flowId: f\nprompt: p\nsteps:\n  - stepId: a\n    prompt: x\n    script: [{ response: ok }]\n  - stepId: lend\n    prompt: y\n",
    );
    expectBadInput(
      await reev("run", unscripted, "--db", db),
      `reev: Step "lend" (steps[1]) of ${unscripted} has no script, and --agent scripted can only replay what a script says; nothing was run.`,
      "Give the step a script (see reev schema), or run the flow with a real agent: --agent openai.",
    );
  });

  it("reev eval refuses an unscripted step the same way, before an evaluation is opened or recorded", async () => {
    const unscripted = join(temp.dir, "eval-unscripted.yaml");
    writeFileSync(unscripted, "flowId: f\nprompt: p\nsteps:\n  - stepId: a\n    prompt: x\n");
    expectBadInput(
      await reev("eval", unscripted, "--db", db),
      `reev: Step "a" (steps[0]) of ${unscripted} has no script, and --agent scripted can only replay what a script says; nothing was run.`,
      "Give the step a script (see reev schema), or run the flow with a real agent: --agent openai.",
    );
    // Run n replays scriptByRun["n"]: with no script to fall back on, run 2 of --repeat 3 has nothing.
    const gap = join(temp.dir, "eval-gap.yaml");
    writeFileSync(gap, "flowId: g\nprompt: p\nsteps:\n  - stepId: a\n    prompt: x\n    scriptByRun:\n      '1': [{}]\n      '3': [{}]\n");
    expectBadInput(
      await reev("eval", gap, "--repeat", "3", "--db", db),
      `reev: Step "a" (steps[0]) of ${gap} has no script for run 2, and --agent scripted can only replay what a script says; nothing was run.`,
      'Give the step a script for every run (script, or scriptByRun["2"]; see reev schema), or run the flow with a real agent: --agent openai.',
    );
  });

  it("a price file without models:, or with a misspelt price: its shape shown, the key it meant named", async () => {
    const flat = join(temp.dir, "flat-prices.yaml");
    writeFileSync(flat, "gpt-4o: { inputPerMillion: 2.5, outputPerMillion: 10 }\n");
    const r = await reev("eval", fixture("succeeds.yaml"), "--prices", flat, "--db", db);
    expectBadInput(
      r,
      `reev: Invalid price file ${flat}: it has no models: section ("gpt-4o" must go under models:). A price file looks like this:\n  models:\n    gpt-4o: {`,
    );
    expect(r.stderr).not.toMatch(/expected record|Unrecognized key/);
    const typo = join(temp.dir, "typo-prices.yaml");
    writeFileSync(typo, "models:\n  gpt-4o: { inputPerMillion: 2.5, outputPerMilion: 10 }\n");
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--prices", typo, "--db", db),
      '  - models["gpt-4o"].outputPerMilion: Unrecognized key: did you mean outputPerMillion?\n',
    );
  });

  it("--agent openai without OPENAI_BASE_URL or OPENAI_MODEL: says which to set", async () => {
    const r = await runCli(["run", fixture("succeeds.yaml"), "--agent", "openai", "--db", db], {
      cwd: temp.dir,
      env: cliEnv({ OPENAI_BASE_URL: "", OPENAI_MODEL: "" }),
    });
    expectBadInput(
      r,
      "reev: --agent openai needs OPENAI_BASE_URL and OPENAI_MODEL set explicitly; nothing was run.",
      /^OPENAI_BASE_URL: the OpenAI-compatible endpoint.*; OPENAI_MODEL: the model to ask/m,
    );
  });

  it("a prompt that refers to a step that does not exist: a flow error naming the step and the reference", async () => {
    const typo = join(temp.dir, "typo-reference.yaml");
    writeFileSync(
      typo,
      "flowId: f\nprompt: p\nsteps:\n  - stepId: balance\n    prompt: x\n    script: [{}]\n  - stepId: swap\n    prompt: 'swap {{steps.balanse.response}}'\n    script: [{}]\n",
    );
    expectBadInput(
      await reev("run", typo, "--db", db),
      '  - steps[1].prompt: {{steps.balanse.response}} in step "swap" refers to step "balanse", but no step has the id "balanse"',
      FLOW_HINT,
    );
  });

  it("reev diagram of a run not consolidated says how it gets drawn, not to look the id up", async () => {
    const run = await reev(
      "run",
      fixture("succeeds.yaml"),
      "--no-consolidate",
      "--db",
      join(temp.dir, "db-unconsolidated"),
      "--out",
      join(temp.dir, "out-unconsolidated"),
    );
    expect(run.code, show(run)).toBe(0);
    const id = run.stdout.match(/exec_\S+/)?.[0] ?? "";
    const r = await reev("diagram", id, "--db", join(temp.dir, "db-unconsolidated"));
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(
      `has no consolidated session yet, so there is nothing to draw.\nreev consolidate ${id} --db ${join(temp.dir, "db-unconsolidated")} consolidates it; then it can be drawn.\n`,
    );
    expect(r.stderr).not.toContain("reev list");
  });

  it("a missing flow file", async () => {
    const missing = join(temp.dir, "no-such-flow.yaml");
    // reev run takes directories too, as reev eval does, and says so as it does.
    expectBadInput(await reev("run", missing, "--db", db), `reev: No such flow file or directory: ${missing}.\n`, "Check the path.");
  });

  it("a command without its argument, or with one too many", async () => {
    expectBadInput(
      await reev("run", "--db", db),
      "reev: The run command needs its <flow-file>: flow files, YAML or JSON (reev schema prints their JSON Schema), or directories of them.",
      "Run reev run --help for its options and examples.",
    );
    expectBadInput(
      await reev("eval", "--db", db),
      "reev: The eval command needs its <flows>: flow files (YAML or JSON), or directories of them.",
      "Run reev eval --help for its options and examples.",
    );
    expectBadInput(
      await reev("show", "--db", db),
      "reev: The show command needs its <executionId>: the execution (see reev list).",
      "Run reev show --help for its options and examples.",
    );
    expectBadInput(
      await reev("list", "--db", ""),
      "reev: --db is empty: it names the database to use.",
      "Pass --db a PostgreSQL URL (postgresql://user:pass@host:5432/db), memory:// or a directory, or leave --db out for the embedded database in ./.reev/db.",
    );
    expectBadInput(
      await reev("show", "a", "b", "--db", db),
      "reev: Too many arguments for reev show: it takes 1, got 2.",
      "Run reev show --help for its options and examples.",
    );
  });

  it("an unknown command, or help for one: a suggestion when one is close, the list of commands when none is given", async () => {
    expectBadInput(
      await reev("lsit", "--db", db),
      'reev: Unknown command "lsit". Did you mean list?',
      "Run reev --help to see the commands.",
    );
    expectBadInput(await reev("frobnicate", "--db", db), 'reev: Unknown command "frobnicate".\n', "Run reev --help to see the commands.");
    // Help asked of an unknown command is the same error, not the general help with exit 0.
    for (const help of ["--help", "-h"])
      expectBadInput(await reev("lsit", help), 'reev: Unknown command "lsit". Did you mean list?', "Run reev --help to see the commands.");
    const none = await reev();
    expectBadInput(none, "reev: No command given.\n", "Run reev --help to see the commands.");
    expect(none.stderr).toMatch(/^Usage: reev /);
    for (const command of ["run", "demo", "list", "show", "status", "diagram", "export", "import", "migrate", "recover", "schema"])
      expect(none.stderr).toMatch(new RegExp(`^ {2}${command} `, "m"));
    // `reev help TOPIC` suggests as `reev TOPIC` does (commander offers nothing there), without the
    // general help above it.
    const topic = await reev("help", "lsit");
    expectBadInput(topic, 'reev: Unknown command "lsit". Did you mean list?\n', "Run reev --help to see the commands.");
    expect(topic.stderr).toBe('reev: Unknown command "lsit". Did you mean list?\nRun reev --help to see the commands.\n');
    expectBadInput(await reev("help", "frobnicate"), 'reev: Unknown command "frobnicate".\n', "Run reev --help to see the commands.");
  });

  it("an unknown option: the option's own words, no parser jargon, a suggestion when one is close", async () => {
    const typo = await reev("list", "--limt", "5", "--db", db);
    expectBadInput(
      typo,
      "reev: Unknown option --limt for reev list. Did you mean --limit?\n",
      "Run reev list --help for its options and examples.",
    );
    // Node's parseArgs said: Unknown option '--frobnicate'. To specify a positional argument starting with a '-', place it … '-- "--frobnicate"
    const unknown = await reev("list", "--frobnicate", "--db", db);
    expectBadInput(unknown, "reev: Unknown option --frobnicate for reev list.\n");
    expect(unknown.stderr).not.toMatch(/positional|'/);
    expectBadInput(await reev("recover", "--dryrun", "--db", db), "Did you mean --dry-run?");
    // An option of other commands, or a typo of one: whose it is, since commander guesses among this command's only.
    for (const flag of ["--concurency", "--concurrency"])
      expectBadInput(
        await reev("demo", flag, "2", "--db", db),
        `reev: Unknown option ${flag} for reev demo. reev demo has no --concurrency option: reev run and reev eval take it.\n`,
        "Run reev demo --help for its options and examples.",
      );
    // An option before the command: where it goes instead.
    expectBadInput(
      await reev("--db", db, "list"),
      "reev: Option --db comes before the command.",
      `Options go after the command name: reev list --db …`,
    );
  });

  // /proc answers mkdir with ENOENT though /proc exists, where Node's recursive mkdir retried for ever.
  it.runIf(existsSync("/proc/self"))("an --out where no directory can be made: refused before anything runs, never a hang", async () => {
    const refused = "reev cannot create /proc/nope: /proc does not take new directories.";
    const hint = "Choose another --out, or make that directory writable.";
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--db", db, "--out", "/proc/nope"),
      `reev: --out /proc/nope: ${refused}`,
      hint,
    );
    expectBadInput(await reev("demo", "--db", db, "--out", "/proc/nope"), `reev: --out /proc/nope: ${refused}`, hint);
    for (const args of [
      ["diagram", "exec_x"],
      ["export", "exec_x"],
      ["compare", "eval_a", "eval_b"],
      ["eval", fixture("succeeds.yaml")],
    ])
      expectBadInput(await reev(...args, "--db", db, "--out", "/proc/nope/e.html"), `reev: --out /proc/nope/e.html: ${refused}`, hint);
  });

  it("an --out that is a file where a directory goes: refused before anything runs or is written", async () => {
    const file = join(temp.dir, "a-file");
    writeFileSync(file, "kept\n");
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--db", db, "--out", file),
      `reev: --out ${file} is a file, and reev run --out takes a directory: each run's diagrams are written into it.`,
      "Give --out a directory (a new one is created), or leave it out for ./reev-out.",
    );
    expectBadInput(
      await reev("demo", "--db", db, "--out", file),
      "reev demo --out takes a directory",
      "Give --out a directory (a new one is created), or leave it out for ./reev-out.",
    );
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--db", db, "--out", join(file, "diagrams")),
      `reev: --out ${join(file, "diagrams")}: ${file} is a file, so no directory can be made there.`,
      "Choose another --out, in a directory.",
    );
    expectBadInput(
      await reev("diagram", "exec_x", "--db", db, "--out", join(file, "run.html")),
      `reev: --out ${join(file, "run.html")}: ${file} is a file, so no directory can be made there.`,
      "Choose another --out, in a directory.",
    );
    expect(readFileSync(file, "utf8")).toBe("kept\n");
  });

  it("an option without its value", async () => {
    expectBadInput(
      await reev("list", "--limit"),
      "reev: --limit needs a value, as in --limit <n>.",
      "Run reev list --help for its options and examples.",
    );
  });

  it("integers out of range or not integers at all: --concurrency 0, --repeat abc, --repeat 2^32, --limit 0, --offset 1e3", async () => {
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--concurrency", "0", "--db", db),
      'reev: --concurrency must be an integer from 1 to 1000, got "0".',
      "Run reev run --help for its options and examples.",
    );
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--repeat", "abc", "--db", db),
      'reev: --repeat must be an integer from 1 to 100000, got "abc".',
    );
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--repeat", "4294967296", "--db", db),
      "--repeat must be an integer from 1 to 100000",
    );
    expectBadInput(await reev("list", "--limit", "0", "--db", db), 'reev: --limit must be an integer from 1 to 1000, got "0".');
    expectBadInput(await reev("list", "--offset", "1e3", "--db", db), 'reev: --offset must be an integer ≥ 0, got "1e3".');
    expectBadInput(
      await reev("recover", "--older-than", "-1", "--db", db),
      'reev: --older-than must be a whole number and a unit (s, m, h, d or w), such as 30d or 12h; got "-1": it is negative.',
    );
  });

  it("words that are not one of the allowed ones: --agent, --status, --format", async () => {
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--agent", "nope", "--db", db),
      'reev: Unknown agent "nope": use scripted or openai.',
      "Run reev run --help for its options and examples.",
    );
    expectBadInput(
      await reev("list", "--status", "done", "--db", db),
      'reev: Unknown status "done": use running, completed, failed, timed_out, rolled_back or cancelled.',
    );
    // Checked before the database is opened (the execution does not even exist).
    expectBadInput(await reev("diagram", "exec_x", "--format", "svg", "--db", db), 'reev: Unknown diagram format "svg": use mmd or html.');
    expectBadInput(
      await reev("export", "exec_x", "--format", "xml", "--db", db),
      'reev: Unknown export format "xml": use json, jsonl or otlp.',
    );
  });

  it("a typo of one of the allowed words is asked about, as a command's is: every option that takes one", async () => {
    const cases: [args: string[], message: string][] = [
      [
        ["list", "--status", "runing"],
        'Unknown status "runing": use running, completed, failed, timed_out, rolled_back or cancelled. Did you mean running?',
      ],
      // Each word of a comma-separated list, among the statuses a finished run ends with.
      [
        ["purge", "--older-than", "30d", "--status", "completed,cancelld"],
        'Unknown status "cancelld": use completed, failed, timed_out, rolled_back or cancelled. Did you mean cancelled?',
      ],
      // A slip of running is answered with why it cannot be purged, not a guess that is then refused.
      [
        ["purge", "--older-than", "30d", "--status", "runing"],
        "--status runing: a running execution is never purged; name the statuses of finished runs to purge: completed, failed, timed_out, rolled_back or cancelled.",
      ],
      [["run", fixture("succeeds.yaml"), "--agent", "scriptd"], 'Unknown agent "scriptd": use scripted or openai. Did you mean scripted?'],
      [["eval", fixture("succeeds.yaml"), "--agent", "OpenAI"], 'Unknown agent "OpenAI": use scripted or openai. Did you mean openai?'],
      [["eval", fixture("succeeds.yaml"), "--format", "josn"], 'Unknown format "josn": use table, json or html. Did you mean json?'],
      [["compare", "eval_a", "eval_b", "--format", "tabel"], 'Unknown format "tabel": use table, json or html. Did you mean table?'],
      [["diagram", "exec_x", "--format", "htm"], 'Unknown diagram format "htm": use mmd or html. Did you mean html?'],
      [["export", "exec_x", "--format", "jsonnl"], 'Unknown export format "jsonnl": use json, jsonl or otlp. Did you mean jsonl?'],
      // A list where one word goes: purge takes a list of statuses, list one.
      [
        ["list", "--status", "failed,completed"],
        '--status takes one status, not a list: "failed,completed". Give one of running, completed, failed, timed_out, rolled_back or cancelled.',
      ],
      // Other commands take --format json; list takes --json.
      [
        ["list", "--format", "json"],
        "Unknown option --format for reev list. Did you mean --json? This command prints a table, or JSON with --json.",
      ],
      [
        ["list", "--formt=json"],
        "Unknown option --formt=json for reev list. Did you mean --json? This command prints a table, or JSON with --json.",
      ],
    ];
    for (const [args, message] of cases) expectBadInput(await reev(...args, "--db", db), `reev: ${message}\n`);
  });

  it("--tools without --agent openai", async () => {
    expectBadInput(
      await reev("run", fixture("succeeds.yaml"), "--tools", fixture("tools.mjs"), "--db", db),
      "reev: --tools goes with --agent openai: the scripted agent replays each step's script.",
    );
  });

  it("an unsupported database URL: the database layer's words, without its code", async () => {
    expectBadInput(
      await reev("list", "--db", "mysql://root@localhost/reev"),
      'reev: Unsupported database URL "mysql://root@localhost/reev"',
      /^reev: Unsupported/m,
    );
  });

  it("an import file that is not there: checked before the database is opened", async () => {
    const missing = join(temp.dir, "no-such-export.json");
    expectBadInput(
      await reev("import", missing, "--db", db),
      `reev: Cannot read ${missing}: no such file or directory.\n`,
      `Check that ${missing} exists and can be read.`,
    );
  });
});

describe("--json: errors as one JSON object on stderr, with the code for scripts", () => {
  const jsonError = (r: CliResult) => {
    expect(r.stdout, show(r)).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, show(r)).toHaveLength(1);
    return JSON.parse(lines[0] as string) as { error: { code: string; message: string; field: string | null } };
  };

  it("bad input: INVALID_ARGUMENT, the field, the words and the next step", async () => {
    const r = await reev("list", "--limit", "0", "--json", "--db", db);
    expect(r.code, show(r)).toBe(2);
    expect(jsonError(r)).toEqual({
      error: {
        code: "INVALID_ARGUMENT",
        message: '--limit must be an integer from 1 to 1000, got "0". Run reev list --help for its options and examples.',
        field: "--limit",
      },
    });
    // Even when the parser stops before reading --json, the caller asked for JSON.
    const unknown = await reev("list", "--frobnicate", "--json");
    expect(jsonError(unknown).error).toMatchObject({ code: "INVALID_ARGUMENT", field: "--frobnicate" });
    const noArgument = await reev("show", "--json");
    expect(jsonError(noArgument).error).toMatchObject({ code: "INVALID_ARGUMENT", field: "executionId" });
    expect(existsSync(db)).toBe(false);
  });

  it("a database that cannot be reached: CONNECTION, exit 1, and the next step", async () => {
    const r = await reev("list", "--db", "postgresql://postgres@127.0.0.1:1/reev", "--json");
    expect(r.code, show(r)).toBe(1);
    expect(jsonError(r)).toEqual({
      error: {
        code: "CONNECTION",
        message:
          "Cannot reach the PostgreSQL server at 127.0.0.1:1 (postgresql://postgres@127.0.0.1:1/reev). Start the server, or fix the host and port in --db.",
        field: "--db",
      },
    });
  });
});

describe("a database that cannot be opened: what is wrong and what to do, never the driver's jargon", () => {
  it("a PostgreSQL server that is not there: exit 1", async () => {
    const r = await reev("list", "--db", "postgresql://postgres@127.0.0.1:1/reev");
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toBe(
      "reev: Cannot reach the PostgreSQL server at 127.0.0.1:1 (postgresql://postgres@127.0.0.1:1/reev).\n" +
        "Start the server, or fix the host and port in --db.\n",
    );
    expect(r.stderr).not.toMatch(/Raw query|Code: `|CONNECTION/);
  });

  it("a host name that does not resolve: a name to fix, not a server to start (.invalid never resolves, RFC 6761)", async () => {
    const r = await reev("list", "--db", "postgresql://postgres@nohost.invalid:5432/reev");
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toBe(
      'reev: The PostgreSQL host name "nohost.invalid" does not resolve (postgresql://postgres@nohost.invalid:5432/reev).\n' +
        "Fix the host name in --db.\n",
    );
  });

  it("a server that asks for a password --db does not give, or refuses the *** a copied hint carries: which, and what to put in --db", async () => {
    const server = await loginServer();
    try {
      const none = await reev("list", "--db", server.url("postgres"));
      expect(none.code, show(none)).toBe(1);
      expect(none.stderr).toBe(
        `reev: The PostgreSQL server asks for a password, and --db gives none (${server.url("postgres")}).\n` +
          "Put the password in --db (postgresql://USER:PASSWORD@HOST/DB), or set PGPASSWORD.\n",
      );
      const masked = await reev("list", "--db", server.url("postgres:***"));
      expect(masked.code, show(masked)).toBe(1);
      expect(masked.stderr).toBe(
        `reev: The PostgreSQL server refused the login (${server.url("postgres:***")}): the password in --db is ***, the mask reev prints in place of a password.\n` +
          "Put the real password back in place of *** in --db.\n",
      );
      // Any other password it refuses is the login's own refusal.
      const wrong = await reev("list", "--db", server.url("postgres:nope"));
      expect(wrong.stderr, show(wrong)).toMatch(
        /^reev: The PostgreSQL server refused the login: password authentication failed for user "postgres" \(postgresql:\/\/postgres:\*\*\*@/,
      );
      expect(wrong.stderr).toMatch(/\nCheck the user and password in --db\.\n$/);
    } finally {
      await server.close();
    }
  });
});

/** A backend message of PostgreSQL's wire protocol: its type byte, its length, its body. */
function wireMessage(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * A loopback peer that plays the first half of a PostgreSQL server's password (SCRAM) login: CI's
 * server trusts every login, so it never asks. It asks for SCRAM, answers the client's first message
 * with its own (where the real driver, pg, needs the password it may not have), and refuses the
 * client's proof as a server refuses a wrong password (28P01). reev never gets further than the login.
 */
async function loginServer(): Promise<{ url: (auth: string) => string; close(): Promise<void> }> {
  const authentication = (code: number, body: string) =>
    wireMessage("R", Buffer.concat([Buffer.from([0, 0, 0, code]), Buffer.from(body, "latin1")]));
  const refuse = wireMessage("E", Buffer.from('SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "postgres"\0\0'));
  const server = createServer((socket) => {
    socket.on("error", () => {});
    // Whole messages only (TCP may split them): the startup message (a length, then the rest), then
    // the client's SASL messages (a type byte, a length, the rest).
    let received = Buffer.alloc(0);
    let answered = 0;
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const header = answered === 0 ? 0 : 1;
      if (received.length < header + 4 || received.length < header + received.readInt32BE(header)) return;
      const message = received.subarray(0, header + received.readInt32BE(header)).toString("latin1");
      received = received.subarray(message.length);
      answered += 1;
      if (answered === 1) socket.write(authentication(10, "SCRAM-SHA-256\0\0"));
      else if (answered === 2) {
        const clientNonce = /r=([^,\0]+)/.exec(message)?.[1] ?? "";
        socket.write(authentication(11, `r=${clientNonce}server,s=${Buffer.from("salt").toString("base64")},i=4096`));
      } else if (message.startsWith("p")) socket.end(refuse);
      // Anything else is the client giving up (Terminate): it hears nothing more.
      else socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (auth) => `postgresql://${auth}@127.0.0.1:${port}/reev`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("reev --help, reev COMMAND --help, reev --version", () => {
  /** Every command, in the order reev --help lists them: a new one must be added here, and so gets its --help checked below. */
  const commands = [
    "run",
    "eval",
    "evaluations",
    "compare",
    "demo",
    "list",
    "show",
    "status",
    "consolidate",
    "diagram",
    "export",
    "import",
    "migrate",
    "serve",
    "recover",
    "purge",
    "schema",
  ];

  it("reev --help lists every command, how to pick a database and the exit codes, on stdout", async () => {
    const r = await reev("--help");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^Usage: reev /);
    const listed = r.stdout.slice(r.stdout.indexOf("\nCommands:\n")).match(/^ {2}[a-z]+(?= )/gm);
    expect(listed?.map((line) => line.trim())).toEqual([...commands, "help"]);
    expect(r.stdout).toContain("Exit codes: 0 success, 1");
    expect(r.stdout).toContain("Run reev <command> --help");
    expect(r.stderr).toBe("");
  });

  // Two processes per command, one after another: on a loaded 2-core CI machine, over a minute.
  it("each command's --help (and reev help COMMAND) is that command's: usage, options and examples", async () => {
    for (const command of commands) {
      const r = await reev(command, "--help");
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout, show(r)).toMatch(new RegExp(`^Usage: reev ${command} `));
      expect(r.stdout, show(r)).toMatch(/^Examples:\n {2}reev /m);
      expect(r.stderr).toBe("");
      expect((await reev("help", command)).stdout).toBe(r.stdout);
    }
    const run = await reev("run", "--help");
    for (const option of ["--agent", "--tools", "--concurrency", "--repeat", "--out", "--no-consolidate", "--db", "--migrate"])
      expect(run.stdout).toContain(option);
    // --help wins over the arguments around it: nothing runs.
    const withArgs = await reev("run", "missing.yaml", "--repeat", "2", "--help");
    expect(withArgs.code).toBe(0);
    expect(withArgs.stdout).toBe(run.stdout);
  }, 360_000);

  it("reev --version prints @reev/cli's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await reev(flag);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });
});
