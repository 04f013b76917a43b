/**
 * `reev purge` and `reev serve --retention` as a user runs them (child processes), on an embedded
 * database directory and on PostgreSQL when REEV_TEST_DATABASE_URL is set. The runs are recorded
 * through @reev/db beforehand; the CLI's reports are checked against the rows really in the tables.
 */

import { once } from "node:events";
import { existsSync, watch } from "node:fs";
import { join } from "node:path";
import { type Database, type FinalExecutionStatus, openDatabase } from "@reev/db";
import { pgliteOf, prismaClientOf } from "@reev/db/internal";
import { catalogSnapshot, createPostgresDatabase, postgresCatalogSnapshot } from "@reev/db/testing";
import { afterAll, describe, expect, it } from "vitest";
import { purgeCommand } from "../src/commands/purge.js";
import type { CliIO } from "../src/context.js";
import { startCli } from "./support/live-cli.js";
import { runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const DAY_MS = 86_400_000;
const MANY_RUNS = 300_000;

const temp = cliTempDir("reev-cli-purge-");

type Site = {
  name: string;
  url(): Promise<string>;
  catalog(url: string): Promise<string[]>;
  /**
   * `reached` resolves once another process's purge of `url` is under way (it has written to the
   * database), so a signal sent then is the purge's to handle: a condition, not a wait of some length.
   */
  purgeUnderWay(url: string, executions: number): { reached: Promise<void>; close(): void };
  done(): Promise<void>;
};

let dirs = 0;
const sites: Site[] = [
  {
    name: "an embedded directory",
    url: async () => join(temp.dir, `db${++dirs}`),
    catalog: async (url) => {
      const db = await openDatabase({ url, migrate: false });
      try {
        return await catalogSnapshot(async (sql) => (await pgliteOf(db)!.query<{ line: string }>(sql)).rows);
      } finally {
        await db.close();
      }
    },
    purgeUnderWay: (url) => {
      // The embedded database is one process's at a time: the test watches its write-ahead log instead.
      const watcher = watch(join(url, "pg_wal"));
      const reached = once(watcher, "change").then(() => {});
      return { reached, close: () => watcher.close() };
    },
    done: async () => {},
  },
];
const baseUrl = process.env.REEV_TEST_DATABASE_URL;
if (baseUrl) {
  const drops: (() => Promise<void>)[] = [];
  sites.push({
    name: "PostgreSQL",
    url: async () => {
      const created = await createPostgresDatabase(baseUrl, { migrated: true });
      drops.push(created.drop);
      return created.url;
    },
    catalog: postgresCatalogSnapshot,
    purgeUnderWay: (url, executions) => {
      let closed = false;
      const reached = withDb(url, async (db) => {
        // Until the first batch has committed: fewer executions than before.
        while (!closed && (await prismaClientOf(db).executionSession.count()) >= executions) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      });
      return {
        reached,
        close: () => {
          closed = true;
        },
      };
    },
    done: async () => {
      for (const drop of drops.splice(0)) await drop();
    },
  });
}

/** Records `count` finished runs of `flowId` that ended `ageMs` ago, each with 2 steps of 1 tool call and a consolidation. */
async function seed(db: Database, flowId: string, count: number, ageMs: number, status: FinalExecutionStatus = "completed") {
  for (let i = 0; i < count; i++) {
    const executionId = `${flowId}-${ageMs}-${status}-${i}`;
    const finishedAt = new Date(Date.now() - ageMs);
    await db.writer.createExecutionSession({
      executionId,
      flowId,
      agent: "scripted",
      prompt: "p",
      startedAt: new Date(finishedAt.getTime() - 1000),
    });
    await db.writer.storeSteps(
      executionId,
      [0, 1].map((stepIndex) => ({
        stepIndex,
        status: "success" as const,
        toolCalls: [{ toolName: "t", input: { stepIndex }, success: true }],
        attempts: [{ attempt: 1, status: "success" as const }],
      })),
    );
    await db.writer.finishExecutionSession(executionId, { status, finishedAt });
    await db.writer.storeConsolidatedSession(`${executionId}-c`, executionId, "{}", {});
  }
}

async function withDb<T>(url: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ url });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const tableRows = (url: string) =>
  withDb(url, async (db) => {
    const p = prismaClientOf(db);
    return {
      executions: await p.executionSession.findMany({ orderBy: { executionId: "asc" } }),
      steps: await p.stepSession.count(),
      stepAttempts: await p.stepAttempt.count(),
      toolCalls: await p.toolCall.count(),
      consolidatedSessions: await p.consolidatedSession.count(),
    };
  });

describe.each(sites)("reev purge on $name", (site) => {
  afterAll(() => site.done());

  it(
    "bad durations and options exit 2 naming the flag, and delete nothing",
    async () => {
      const url = await site.url();
      await withDb(url, (db) => seed(db, "flow-a", 2, 40 * DAY_MS));
      const before = await tableRows(url);
      const cases: [args: string[], field: string, message: RegExp][] = [
        [["--older-than", "-1d"], "--older-than", /--older-than must be a whole number and a unit .* got "-1d": it is negative\./],
        [["--older-than", "abc"], "--older-than", /got "abc": it is not a duration\./],
        [["--older-than", "7"], "--older-than", /got "7": it has no unit\./],
        [["--older-than", "1.5d"], "--older-than", /got "1.5d": it is not a duration\./],
        [["--older-than", "30d", "--status", "failed,running"], "--status", /a running execution is never purged/],
        [["--older-than", "30d", "--status", "broken"], "--status", /Unknown status "broken"/],
        [["--older-than", "30d", "--batch", "0"], "--batch", /--batch must be an integer from 1 to 100000/],
      ];
      for (const [args, field, message] of cases) {
        const r = await runCli(["purge", ...args, "--db", url], { cwd: temp.dir });
        expect(r.code, show(r)).toBe(2);
        expect(r.stdout, show(r)).toBe("");
        expect(r.stderr.split("\n")[0], show(r)).toMatch(message);
        const j = await runCli(["purge", ...args, "--db", url, "--json"], { cwd: temp.dir });
        expect(j.code, show(j)).toBe(2);
        expect(JSON.parse(j.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT", field } });
      }
      const missing = await runCli(["purge", "--db", url], { cwd: temp.dir });
      expect(missing.code, show(missing)).toBe(2);
      expect(missing.stderr.split("\n")[0], show(missing)).toBe("reev: reev purge needs --older-than, as in --older-than <age>.");
      // A typo of the required option is named as a typo, not as the option missing.
      const typo = await runCli(["purge", "--older-then", "7d", "--db", url], { cwd: temp.dir });
      expect(typo.code, show(typo)).toBe(2);
      expect(typo.stderr, show(typo)).toMatch(/--older-then.*\n?.*Did you mean --older-than\?/);
      // A mistyped embedded directory: no database is made there, and the purge says so.
      const nowhere = join(temp.dir, "no-such-db");
      const absent = await runCli(["purge", "--older-than", "0d", "--db", nowhere], { cwd: temp.dir });
      expect(absent.code, show(absent)).toBe(2);
      expect(absent.stderr, show(absent)).toContain(`There is no database at ${nowhere}`);
      expect(existsSync(nowhere)).toBe(false);
      expect(await tableRows(url)).toEqual(before);
    },
    MANY_RUNS,
  );

  it(
    "--dry-run reports the counts and changes nothing; the purge deletes exactly them; again, nothing",
    async () => {
      const url = await site.url();
      await withDb(url, async (db) => {
        await seed(db, "flow-a", 3, 40 * DAY_MS);
        await seed(db, "flow-a", 2, 40 * DAY_MS, "failed");
        await seed(db, "flow-b", 2, 40 * DAY_MS);
        await seed(db, "flow-a", 1, 2 * DAY_MS);
      });
      const catalog = await site.catalog(url);
      const before = await tableRows(url);
      const args = ["purge", "--older-than", "30d", "--flow", "flow-a", "--batch", "2", "--db", url, "--json"];
      const dry = await runCli([...args, "--dry-run"], { cwd: temp.dir });
      expect(dry.code, show(dry)).toBe(0);
      const expected = { executions: 5, steps: 10, stepAttempts: 10, toolCalls: 10, consolidatedSessions: 5 };
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, flowId: "flow-a", batchSize: 2, deleted: expected });
      expect(await site.catalog(url)).toEqual(catalog);
      expect(await tableRows(url)).toEqual(before);

      const done = await runCli(args, { cwd: temp.dir });
      expect(done.code, show(done)).toBe(0);
      // 5 runs in batches of 2: 2, 2 and 1 (the transaction that then finds none left is not counted).
      expect(JSON.parse(done.stdout)).toMatchObject({ dryRun: false, deleted: expected, batches: 3 });
      const after = await tableRows(url);
      expect(after.executions.map((e) => e.executionId)).toEqual([
        `flow-a-${2 * DAY_MS}-completed-0`,
        `flow-b-${40 * DAY_MS}-completed-0`,
        `flow-b-${40 * DAY_MS}-completed-1`,
      ]);
      expect(before.steps - after.steps).toBe(expected.steps);
      expect(before.toolCalls - after.toolCalls).toBe(expected.toolCalls);
      expect(before.stepAttempts - after.stepAttempts).toBe(expected.stepAttempts);
      expect(before.consolidatedSessions - after.consolidatedSessions).toBe(expected.consolidatedSessions);

      const again = await runCli(
        args.filter((a) => a !== "--json"),
        { cwd: temp.dir },
      );
      expect(again.code, show(again)).toBe(0);
      expect(again.stdout).toMatch(
        /^Nothing to purge in .*: no run of flow flow-a finished before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.\n$/,
      );
      expect(await tableRows(url)).toEqual(after);

      // A flow with no run at all, most likely a misspelt --flow, is told apart from one with none old enough.
      const misspelt = await runCli(["purge", "--older-than", "30d", "--flow", "flow-c", "--db", url], { cwd: temp.dir });
      expect(misspelt.code, show(misspelt)).toBe(0);
      // The stored flow it most likely meant: the closest (a typo), else those containing it.
      expect(misspelt.stdout).toMatch(
        /^Nothing to purge in .*: no run of flow flow-c is stored at all\. Did you mean flow-a\? reev list --db \S+ shows the stored runs and their flows\.\n$/,
      );
      const cut = await runCli(["purge", "--older-than", "30d", "--flow", "flow", "--db", url], { cwd: temp.dir });
      expect(cut.stdout, show(cut)).toContain("no run of flow flow is stored at all. Did you mean flow-a or flow-b? ");
      // reev list says the same of it.
      const listed = await runCli(["list", "--flow", "flow-c", "--db", url], { cwd: temp.dir });
      expect(listed.stdout, show(listed)).toMatch(/^No executions of flow "flow-c" in .*\. Did you mean flow-a\?\n$/);
      const known = await runCli(["list", "--flow", "flow-b", "--status", "failed", "--db", url], { cwd: temp.dir });
      expect(known.stdout, show(known)).not.toContain("Did you mean");
      expect(await tableRows(url)).toEqual(after);
    },
    MANY_RUNS,
  );

  it(
    "--json: stderr carries no progress, even for a purge long enough to print it without --json",
    async () => {
      const url = await site.url();
      // One run a batch, 300 batches.
      await withDb(url, (db) => seed(db, "flow-long", 300, 40 * DAY_MS));
      const args = ["purge", "--older-than", "30d", "--batch", "1", "--db", url];
      // The same dry run in process, with and without --json, on a clock that runs 0.6 s a reading: a
      // fast database finishes 300 batches within the second the progress line waits for, so a real
      // clock could not tell "no progress with --json" from "too quick for any".
      const inProcess = async (json: boolean) => {
        let clock = 0;
        let stderr = "";
        const io = {
          stdout: { write: () => true },
          stderr: {
            write: (chunk: string) => {
              stderr += chunk;
              return true;
            },
          },
        } as unknown as CliIO;
        const now = () => {
          clock += 600;
          return clock;
        };
        expect(await purgeCommand(url, { olderThanMs: 30 * DAY_MS, dryRun: true, batchSize: 1 }, { json, now }, io)).toBe(0);
        return stderr;
      };
      expect(await inProcess(false)).toMatch(/^Counted \d+ executions \(\d+ rows\) in \d+ batches so far…$/m);
      expect(await inProcess(true)).toBe("");
      // The same work with --json, as a user runs it, then the purge itself.
      for (const extra of [["--dry-run", "--json"], ["--json"]]) {
        const r = await runCli([...args, ...extra], { cwd: temp.dir });
        expect(r.code, show(r)).toBe(0);
        expect(r.stderr, show(r)).toBe("");
        expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: extra.includes("--dry-run"), batches: 300, deleted: { executions: 300 } });
      }
      expect((await tableRows(url)).executions).toEqual([]);
    },
    MANY_RUNS,
  );

  it(
    "--status and 0d: the text report lists the rows of each table",
    async () => {
      const url = await site.url();
      await withDb(url, async (db) => {
        await seed(db, "flow-s", 2, 1000, "failed");
        await seed(db, "flow-s", 1, 1000, "completed");
      });
      const r = await runCli(["purge", "--older-than", "0d", "--status", "failed,cancelled", "--db", url], { cwd: temp.dir });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/^Purged 2 runs \(failed, cancelled\) that finished before .* UTC from .*, in 1 batch:\n/);
      expect(r.stdout).toMatch(/step_sessions +4\n/);
      expect(r.stdout).toMatch(/consolidated_sessions +2\n/);
      expect((await tableRows(url)).executions.map((e) => e.status)).toEqual(["completed"]);
    },
    MANY_RUNS,
  );
});

describe.each(sites)("Ctrl-C during reev purge on $name", (site) => {
  afterAll(() => site.done());

  it(
    "stops between two batches and reports what went: gone, the rest untouched, and the same command again purges the rest",
    async () => {
      const url = await site.url();
      const total = 300;
      // One run a batch. The Ctrl-C comes once a batch has committed: on PostgreSQL the test sees the
      // count fall (the progress line, a second in, came after all 300 batches there); the embedded
      // database cannot be read beside the purge, and its write-ahead log also changes as it opens, so
      // there the test waits for the progress line (each batch takes milliseconds: 300 take seconds).
      await withDb(url, (db) => seed(db, "flow-int", total, 40 * DAY_MS));
      const args = ["purge", "--older-than", "30d", "--batch", "1", "--db", url];

      const counted = site.name === "PostgreSQL" ? site.purgeUnderWay(url, total) : undefined;
      const purge = startCli(args, { cwd: temp.dir });
      await (counted?.reached ?? purge.waitForLine(/^Purged \d+ executions? \(\d+ rows?\) in \d+ batch(es)? so far…$/));
      purge.child.kill("SIGINT");
      const r = await purge.done;
      counted?.close();
      expect(r.code, show(r)).toBe(130);
      expect(r.stderr, show(r)).toContain(
        "\nInterrupted (SIGINT): stopping once the batch under way is committed. Press Ctrl-C again to exit at once.\n",
      );
      expect(r.stderr, show(r)).not.toMatch(/recover|step/);
      const heading = /^Purged (\d+) runs? that finished before .* UTC from .*, in (\d+) batch(es)?:\n/.exec(r.stdout);
      expect(heading, show(r)).not.toBeNull();
      const purged = Number(heading?.[1]);
      expect(purged).toBeGreaterThan(0);
      expect(purged).toBeLessThan(total);
      expect(r.stdout).toMatch(new RegExp(`^execution_sessions +${purged}$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^step_sessions +${2 * purged}$`, "m"));
      expect(
        r.stdout.endsWith(
          "Interrupted (SIGINT) between two batches: the runs counted above are gone, and the rest is untouched. Run the same command again to purge the rest.\n",
        ),
        show(r),
      ).toBe(true);
      let left = await tableRows(url);
      expect(left.executions.length).toBe(total - purged);
      expect(left).toMatchObject({ steps: 2 * left.executions.length, toolCalls: 2 * left.executions.length });
      expect(left.consolidatedSessions).toBe(left.executions.length);

      // With --json (and SIGTERM): the report on stdout, complete: false; stderr holds one error line and nothing else.
      const watch = site.purgeUnderWay(url, left.executions.length);
      const json = startCli([...args, "--json"], { cwd: temp.dir });
      await watch.reached;
      json.child.kill("SIGTERM");
      const j = await json.done;
      watch.close();
      expect(j.code, show(j)).toBe(143);
      const report = JSON.parse(j.stdout);
      expect(report).toMatchObject({ dryRun: false, complete: false, batchSize: 1 });
      const stderr = j.stderr.split("\n").filter(Boolean);
      expect(stderr, show(j)).toHaveLength(1);
      expect(JSON.parse(stderr[0] as string)).toEqual({
        error: {
          code: "INTERRUPTED",
          message: expect.stringMatching(/^Interrupted \(SIGTERM\) (between two batches|before the first batch)/),
          field: null,
        },
      });
      const before = left.executions.length;
      left = await tableRows(url);
      expect(left.executions.length).toBe(before - report.deleted.executions);

      const again = await runCli([...args, "--json"], { cwd: temp.dir });
      expect(again.code, show(again)).toBe(0);
      expect(again.stderr, show(again)).toBe("");
      expect(JSON.parse(again.stdout)).toMatchObject({ complete: true, deleted: { executions: left.executions.length } });
      expect((await tableRows(url)).executions).toEqual([]);
    },
    MANY_RUNS,
  );
});

describe("reev serve --retention", () => {
  it(
    "purges the old runs when it starts, logs what it purged, and stops cleanly",
    async () => {
      const url = join(temp.dir, "served");
      await withDb(url, async (db) => {
        await seed(db, "flow-r", 3, 10 * DAY_MS);
        await seed(db, "flow-r", 1, 0);
      });
      const serve = startCli(["serve", "--port", "0", "--retention", "1d", "--db", url], { cwd: temp.dir });
      try {
        expect(await serve.waitForLine(/^Retention:/)).toBe("Retention: runs that finished over 1d ago are purged now and every hour.");
        const logged = await serve.waitForLine(/^retention: purged/);
        expect(logged).toMatch(
          /^retention: purged 3 runs that finished before \S+ \(6 steps, 6 attempts, 6 tool calls, 3 consolidated sessions; 1 batch\)$/,
        );
        const exited = once(serve.child, "exit");
        serve.child.kill("SIGTERM");
        expect((await exited)[0]).toBe(0);
      } finally {
        serve.child.kill("SIGKILL");
      }
      expect((await tableRows(url)).executions.map((e) => e.executionId)).toEqual(["flow-r-0-completed-0"]);
      const bad = await runCli(["serve", "--retention", "30", "--db", url], { cwd: temp.dir });
      expect(bad.code, show(bad)).toBe(2);
      expect(bad.stderr.split("\n")[0]).toMatch(/--retention must be a whole number and a unit .* got "30": it has no unit\./);
    },
    MANY_RUNS,
  );
});
