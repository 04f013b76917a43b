/**
 * The first Ctrl-C's notice says what is really under way (a new user's Ctrl-C a second into
 * `reev run` was told of runs being stopped when none had started), for `reev run` and `reev eval`.
 * A real child process and a real signal at a known point each: before any run, the flow file is a FIFO the child is blocked reading
 * (the test's open for writing returns once it reads), so reev has taken Ctrl-C over and no run can
 * have started; during a run, the step that hangs has said it started.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluationNotices } from "../src/commands/eval.js";
import { afterRuns, startedRuns } from "../src/commands/run.js";
import { type AfterRuns, againNotice, runNotices } from "../src/interrupt.js";
import { startCli } from "./support/live-cli.js";
import { cliEnv, fixture, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-interrupt-notice-");

describe("the first Ctrl-C's notice", () => {
  /**
   * `reev <command> <flow> --db <dir>` signalled while it reads its flow file, a FIFO it is blocked on:
   * it has taken Ctrl-C over, and no run can have started. Then the flow is given, so what follows
   * the signal is the command's own doing.
   */
  async function signalWhileReadingFlow(command: "run" | "eval", signal: "SIGINT" | "SIGTERM") {
    const flow = join(temp.dir, `${command}-${signal}.yaml`);
    execFileSync("mkfifo", [flow]);
    const db = join(temp.dir, `db-before-${command}-${signal}`);
    const cli = startCli([command, flow, "--db", db], { cwd: temp.dir });
    const writer = await open(flow, "w"); // returns once reev opens the flow file to read it
    cli.child.kill(signal);
    await cli.waitForLine(new RegExp(`^Interrupted \\(${signal}\\)`));
    await writer.writeFile(readFileSync(fixture("succeeds.yaml")));
    await writer.close();
    return { r: await cli.done, db };
  }

  it.skipIf(process.platform === "win32")("before any run started: says none had and none will; no database is opened", async () => {
    const { r, db } = await signalWhileReadingFlow("run", "SIGINT");
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr).toContain("Interrupted (SIGINT): no run had started, and none will. Press Ctrl-C again to exit at once.\n");
    expect(r.stderr).not.toContain("stopping each run");
    expect(r.stdout).toContain("0 runs: 0 completed, 0 failed (1 not started: interrupted)");
    expect(existsSync(db)).toBe(false);
  });

  it("while a new embedded database is being made: the notice at once, then the Database: line saying no run starts in it", async () => {
    const db = join(temp.dir, "db-being-made");
    // Held once the migrated template a new embedded database is made from has been read.
    const cli = startCli(["run", fixture("succeeds.yaml"), "--db", db], {
      cwd: temp.dir,
      env: cliEnv({ REEV_TEST_HOLD_READ: "\\.tpl$" }),
      preload: fileURLToPath(new URL("./fixtures/hold-at.mjs", import.meta.url)),
      stdin: true,
    });
    await cli.waitForLine(/^HELD read /);
    cli.child.kill("SIGINT");
    cli.child.stdin?.write("go on\n");
    const r = await cli.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr.split("\n").slice(1), show(r)).toEqual([
      "",
      "Interrupted (SIGINT): no run had started, and none will. Press Ctrl-C again to exit at once.",
      `Database: embedded PGlite at ${db} (new: created now): opened as the interrupt came, so no run starts in it`,
      "",
    ]);
    expect(r.stdout).toContain("0 runs: 0 completed, 0 failed (1 not started: interrupted)");
  });

  // A new user's Ctrl-C a second into `reev eval` was ignored (the evaluation ran to its end, exit 0)
  // or ended it without a word: it took Ctrl-C over only once its evaluation was recorded.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it.skipIf(process.platform === "win32")(`reev eval, ${signal} before it began: says so, records nothing, exits ${code}`, async () => {
      const { r, db } = await signalWhileReadingFlow("eval", signal);
      expect({ code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr }, show(r)).toEqual({
        code,
        signal: null,
        stdout: "",
        stderr: [
          "",
          // Only the same signal again exits at once: after a SIGTERM, Ctrl-C would not.
          `Interrupted (${signal}): no run had started, and none will. ${signal === "SIGINT" ? "Press Ctrl-C" : "Send SIGTERM"} again to exit at once.`,
          "Nothing was recorded: the evaluation was interrupted before it began. Run the command again to do it.",
          "",
        ].join("\n"),
      });
      expect(existsSync(db)).toBe(false);
    });
  }

  it("reev eval, once its evaluation is recorded: says only its report is left, not that runs are stopped", () => {
    let recorded: string | undefined;
    const notices = evaluationNotices(runNotices({ runsStarted: () => 3 }), () => recorded);
    expect(notices.first("SIGINT")).toContain("stopping each run's current step");
    recorded = "eval_1";
    expect(notices.first("SIGINT")).toBe(
      "\nInterrupted (SIGINT): evaluation eval_1 is recorded; its report is written, then reev exits. Press Ctrl-C again to exit at once.\n",
    );
    expect(notices.again("SIGINT")).toBe("\nSIGINT again: exiting at once. Evaluation eval_1 is recorded.\n");
  });

  it("a second Ctrl-C once every run has ended: says what it cuts short and that the runs are recorded, not that runs stay running", () => {
    const runs = startedRuns();
    const notices = (after: AfterRuns) =>
      runNotices({ runsStarted: runs.runsStarted, runsGoing: runs.runsGoing, recover: "reev recover", after });
    const drawn = notices(afterRuns({ consolidate: true, diagrams: true }));
    runs.onRunStart();
    runs.onRunStart();
    runs.onRunEnd();
    expect(drawn.again("SIGINT")).toBe(
      '\nSIGINT again: exiting at once. Runs still going stay "running" until reev recover finishes them.\n',
    );
    runs.onRunEnd();
    expect(drawn.again("SIGINT")).toBe(
      "\nSIGINT again: exiting at once, cutting short the summary and the runs' diagrams being written. No run was still going: each is finished and recorded; reev diagram <executionId> --out run.html draws a run's diagram.\n",
    );
    // With --no-diagrams there are none to cut short, nor to draw from here.
    expect(notices(afterRuns({ consolidate: true, diagrams: false })).again("SIGTERM")).toBe(
      "\nSIGTERM again: exiting at once, cutting short the summary being printed. No run was still going: each is finished and recorded.\n",
    );
    // On memory://, nothing of them outlives the process.
    expect(
      runNotices({
        runsStarted: runs.runsStarted,
        runsGoing: runs.runsGoing,
        recover: null,
        after: afterRuns({ consolidate: true, diagrams: true }),
      }).again("SIGINT"),
    ).toContain("No run was still going; the in-memory database goes with the process.\n");
  });

  it("after a SIGTERM, the notices say SIGTERM again exits at once, not Ctrl-C", () => {
    expect(runNotices({ runsStarted: () => 1 }).first("SIGTERM")).toBe(
      "\nInterrupted (SIGTERM): stopping each run's current step, recording it as failed and finishing the run as cancelled.\nSend SIGTERM again to exit at once (then reev recover finishes the runs).\n",
    );
    expect(evaluationNotices(runNotices(), () => "eval_1").first("SIGTERM")).toBe(
      "\nInterrupted (SIGTERM): evaluation eval_1 is recorded; its report is written, then reev exits. Send SIGTERM again to exit at once.\n",
    );
  });

  it("while a run is going: says each run's current step is stopped and the run finished as cancelled", async () => {
    const flow = join(temp.dir, "hangs.yaml");
    writeFileSync(
      flow,
      'flowId: hangs\nprompt: "p"\nsteps:\n  - { stepId: s0, prompt: "p", timeoutMs: 600000, script: [{ hang: true }] }\n',
    );
    const run = startCli(["run", flow, "--db", join(temp.dir, "db-during")], { cwd: temp.dir });
    await run.waitForLine(/step 0 s0 started$/);
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr).toContain(
      "Interrupted (SIGINT): stopping each run's current step, recording it as failed and finishing the run as cancelled.\n",
    );
    expect(r.stdout).toContain("⏹️ cancelled  hangs");
  });

  it("on memory://: says the database goes with the process, never to run reev recover there", async () => {
    const flow = join(temp.dir, "hangs-in-memory.yaml");
    writeFileSync(
      flow,
      'flowId: hangs\nprompt: "p"\nsteps:\n  - { stepId: s0, prompt: "p", timeoutMs: 600000, script: [{ hang: true }] }\n',
    );
    const run = startCli(["run", flow, "--db", "memory://"], { cwd: temp.dir });
    await run.waitForLine(/step 0 s0 started$/);
    run.child.kill("SIGINT");
    const r = await run.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr).toContain("Press Ctrl-C again to exit at once (the in-memory database goes with the process).\n");
    expect(r.stderr).not.toContain("recover");
    // The second Ctrl-C's words, which a run stopping this fast leaves no time to send.
    expect(againNotice("SIGINT", 1, null)).toBe(
      "\nSIGINT again: exiting at once; the in-memory database goes with the process, and nothing of the runs remains.\n",
    );
  });
});
