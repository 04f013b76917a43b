/**
 * `reev recover` for evaluations, end to end on the embedded database (a directory) and, when
 * REEV_TEST_DATABASE_URL is set, on PostgreSQL: a `reev eval` child process is SIGKILLed while one of
 * its runs hangs in its agent call, so its evaluation stays `running` and `reev purge` must keep its
 * runs. `recover --dry-run` lists it and changes nothing; `recover` finishes its runs, then the
 * evaluation as `incomplete` with the reason; then purge can delete the runs. A live evaluation is
 * never touched: on PostgreSQL a second `reev eval` still running; on the directory, which one process
 * holds at a time, an evaluation recorded by this (live) test process.
 */
import { hostname } from "node:os";
import { openDatabase } from "@reev/db";
import { describe, expect, it } from "vitest";
import { type LiveCli, startCli } from "./support/live-cli.js";
import { cliBackends, fixture, runCli, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-eval-recover-");
const backends = cliBackends(() => temp.dir);

type RecoverJson = {
  runs: { executionId: string; status: string }[];
  evaluations: { evaluationId: string; status: string; error: string; executions: number; runningExecutions: number }[];
};

/** The id `reev eval` prints once it has recorded its evaluation. */
const evaluationIdOf = (line: string) => line.match(/^Evaluation (eval_\S+):/)?.[1] as string;

describe.each(backends)("reev recover finishes an evaluation whose process was killed, on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const { reev } = database;
  const evalChild = (...flows: string[]) =>
    startCli(["eval", ...flows.map((f) => fixture(f)), "--repeat", "1", "--concurrency", "2", "--db", database.url], {
      cwd: temp.dir,
      timeoutMs: 100_000,
    });

  it("SIGKILL mid-run: --dry-run changes nothing, recover ends the runs and the evaluation, a live one is untouched, purge can delete", {
    timeout: 180_000,
  }, async () => {
    const killed = evalChild("eval-usage.yaml", "eval-hang.yaml");
    const killedId = evaluationIdOf(await killed.waitForLine(/^Evaluation eval_/));
    // Both runs start at once: once the quick one has ended, the other hangs in its agent call.
    await killed.waitForLine(/^\[1\/2\] .* eval-usage run 1 /);
    killed.child.kill("SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");
    const reason = `abandoned: process ${killed.pid} on ${hostname()} exited without finishing`;

    // A live evaluation beside it (see the file's comment for why it differs by backend).
    let live: LiveCli | undefined;
    let liveId: string;
    if (backend.name === "PostgreSQL") {
      live = evalChild("eval-hang.yaml");
      liveId = evaluationIdOf(await live.waitForLine(/^Evaluation eval_/));
    } else {
      liveId = "eval_live_in_the_test_process";
      const db = await openDatabase({ url: database.url });
      try {
        await db.writer.createEvaluationRun({ id: liveId, agent: "scripted", configuration: {} });
      } finally {
        await db.close();
      }
    }

    try {
      // While it "runs", none of its runs can be purged, not even the one that completed.
      const blocked = await reev("purge", "--older-than", "0d", "--dry-run", "--json");
      expect(blocked.code, show(blocked)).toBe(0);
      expect(JSON.parse(blocked.stdout)).toMatchObject({ deleted: { executions: 0 } });

      const dry = await reev("recover", "--dry-run", "--json");
      expect(dry.code, show(dry)).toBe(0);
      const wouldBe = JSON.parse(dry.stdout) as RecoverJson;
      expect(wouldBe.runs.map((r) => r.status)).toEqual(["running"]);
      expect(wouldBe.evaluations).toEqual([
        expect.objectContaining({ evaluationId: killedId, status: "running", error: reason, executions: 2, runningExecutions: 1 }),
      ]);

      const done = await reev("recover");
      expect(done.code, show(done)).toBe(0);
      expect(done.stdout).toContain("Finished 1 abandoned run as failed");
      expect(done.stdout).toContain("Finished 1 abandoned evaluation as incomplete");
      expect(done.stdout).toMatch(new RegExp(`^${killedId} +${killed.pid}@${hostname()} +\\S+ \\S+ +2 +${reason}$`, "m"));

      const db = await openDatabase({ url: database.url });
      try {
        const evaluation = await db.writer.getEvaluationRun(killedId);
        expect(evaluation).toMatchObject({ status: "incomplete", error: reason, summary: null });
        expect(evaluation?.finishedAt).toBeInstanceOf(Date);
        const runs = await db.writer.listEvaluationExecutions(killedId);
        expect(runs.map((r) => [r.flowId, r.status]).sort()).toEqual([
          ["eval-hang", "failed"],
          ["eval-usage", "completed"],
        ]);
        expect((await db.writer.getEvaluationRun(liveId))?.status).toBe("running");
      } finally {
        await db.close();
      }

      const again = await reev("recover", "--json");
      expect(JSON.parse(again.stdout)).toMatchObject({ runs: [], evaluations: [] });

      // The purge the report suggests works as printed (with the --db recover was given), and counts these runs.
      const suggested = done.stdout.match(/\((reev purge .*?) counts every finished run, these included, and deletes nothing\)/)?.[1];
      expect(suggested, done.stdout).toBe(`reev purge --older-than 0d --dry-run --db ${database.url}`);
      const counted = await runCli((suggested as string).split(" ").slice(1), { cwd: temp.dir });
      expect(counted.code, show(counted)).toBe(0);
      expect(counted.stdout).toMatch(/^Would purge 2 runs that finished before /);

      const purged = await reev("purge", "--older-than", "0d", "--json");
      expect(purged.code, show(purged)).toBe(0);
      expect(JSON.parse(purged.stdout)).toMatchObject({ dryRun: false, deleted: { executions: 2 } });
    } finally {
      live?.child.kill("SIGINT");
    }
    if (live) {
      // The live evaluation was left to its process, which still ends it itself.
      const ended = await live.done;
      expect(ended.code, show(ended)).toBe(130);
    }
  });
});
