/**
 * The first Ctrl-C's notice says what is really under way (a new user's Ctrl-C a second into
 * `reev run` was told of runs being stopped when none had started). A real child process and a real
 * SIGINT at a known point each: before any run, the flow file is a FIFO the child is blocked reading
 * (the test's open for writing returns once it reads), so reev has taken Ctrl-C over and no run can
 * have started; during a run, the step that hangs has said it started.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { againNotice } from "../src/interrupt.js";
import { startCli } from "./support/live-cli.js";
import { assertBuilt, fixture, makeTempDir, show } from "./support/run-cli.js";

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-interrupt-notice-");
});
afterAll(() => temp?.remove());

describe("the first Ctrl-C's notice", () => {
  it.skipIf(process.platform === "win32")("before any run started: says none had and none will; no database is opened", async () => {
    const flow = join(temp.dir, "flow.yaml");
    execFileSync("mkfifo", [flow]);
    const db = join(temp.dir, "db-before");
    const run = startCli(["run", flow, "--db", db], { cwd: temp.dir });
    const writer = await open(flow, "w"); // returns once reev opens the flow file to read it
    run.child.kill("SIGINT");
    await run.waitForLine(/^Interrupted \(SIGINT\)/);
    await writer.writeFile(readFileSync(fixture("succeeds.yaml")));
    await writer.close();
    const r = await run.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr).toContain("Interrupted (SIGINT): no run had started, and none will. Press Ctrl-C again to exit at once.\n");
    expect(r.stderr).not.toContain("stopping each run");
    expect(r.stdout).toContain("0 runs: 0 completed, 0 failed (1 not started: interrupted)");
    expect(existsSync(db)).toBe(false);
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
