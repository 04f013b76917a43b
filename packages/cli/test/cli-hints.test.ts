/**
 * The commands reev suggests work when copied (child processes, as a user runs them): given --db, a
 * suggestion carries it, so the copy reads the same database instead of ./.reev/db. Each hint is run
 * by a shell exactly as printed, `reev` being this CLI. On an embedded directory whose path needs
 * quoting, and on PostgreSQL (when REEV_TEST_DATABASE_URL is set) with a password in the URL: masked in
 * the hint, and put back by the user, as the hint says.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASKED_NOTE, shellWord } from "../src/hint.js";
import { CLI_COMMAND, cliEnv, runCli, show } from "./support/run-cli.js";
import { cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-hints-");

/** Runs `command` in sh as a user's paste would be, with `reev` standing for this CLI (never ./.reev/db: cwd is empty). */
function paste(command: string): { code: number | null; stdout: string; stderr: string } {
  const reev = [process.execPath, ...CLI_COMMAND].map(shellWord).join(" ");
  const r = spawnSync("sh", ["-c", `reev() { ${reev} "$@"; }\n${command}`], { cwd: temp.dir, env: cliEnv(), encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Site = { name: string; database(): Promise<{ url: string; password?: string; drop(): Promise<void> }> };
const sites: Site[] = [{ name: "an embedded directory", database: async () => ({ url: join(temp.dir, "my runs"), drop: async () => {} }) }];
const base = process.env.REEV_TEST_DATABASE_URL;
if (base) {
  sites.push({
    name: "PostgreSQL, with a password in the URL",
    database: async () => {
      const created = await createPostgresDatabase(base, { migrated: true });
      // The test server may trust every login; the password is there to be masked either way.
      const url = new URL(created.url);
      url.password = "s3cret";
      return { url: url.toString(), password: "s3cret", drop: created.drop };
    },
  });
}

describe.each(sites)("hints carry --db on $name", (site) => {
  let database: Awaited<ReturnType<Site["database"]>>;
  beforeAll(async () => {
    database = await site.database();
    const db = await openDatabase({ url: database.url });
    try {
      for (const i of [1, 2]) {
        const executionId = `hint-${i}`;
        await db.writer.createExecutionSession({
          executionId,
          flowId: "f",
          agent: "scripted",
          prompt: "p",
          startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        });
        await db.writer.finishExecutionSession(executionId, { status: "completed", finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 1, i)) });
      }
    } finally {
      await db.close();
    }
  });
  afterAll(() => database?.drop());

  /** The user's copy of a hinted command: as printed, the masked password put back. */
  const copy = (command: string) =>
    database.password ? command.replace(MASKED_NOTE, "").replaceAll(":***@", `:${database.password}@`) : command;

  it("the next page's command reads the next page of the same database", async () => {
    const r = await runCli(["list", "--limit", "1", "--db", database.url], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain("hint-2");
    const hint = /^More executions are stored: (reev list .*) shows the next 1\.$/m.exec(r.stdout)?.[1];
    expect(hint, show(r)).toMatch(/^reev list --limit 1 --after [A-Za-z0-9_-]+ --db /);
    if (database.password) {
      expect(r.stdout).not.toContain(database.password);
      expect(hint).toContain(":***@");
      expect(hint?.endsWith(MASKED_NOTE)).toBe(true);
    }
    const next = paste(copy(hint as string));
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain("hint-1");
    expect(next.stdout).not.toContain("hint-2");
  });

  it("an unknown id's hint lists the executions of the same database", async () => {
    const r = await runCli(["show", "exec_nope", "--db", database.url], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(2);
    const hint = /^Run (reev list .*) to see the recorded executions\.$/m.exec(r.stderr)?.[1];
    expect(hint, show(r)).toMatch(/^reev list --db /);
    const listed = paste(copy(hint as string));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("hint-1");
    expect(listed.stdout).toContain("hint-2");
  });
});

describe("on memory://", () => {
  const note =
    "An in-memory database (--db memory://) lives only as long as one command: the next command finds nothing there. To keep runs, give --db a directory or a PostgreSQL URL, or try reev demo.";
  // Each would otherwise suggest a second command on memory://, which starts on a new, empty database.
  it.each([
    ["list", ["list"], "stdout"],
    ["evaluations", ["evaluations"], "stdout"],
    ["an unknown id", ["show", "exec_nope"], "stderr"],
  ] as const)("%s says the database lives as long as one command, and suggests none there", async (_, args, stream) => {
    const r = await runCli([...args, "--db", "memory://"], { cwd: temp.dir });
    expect(r[stream].trimEnd().split("\n").at(-1), show(r)).toBe(note);
    expect(r.stdout + r.stderr).not.toMatch(/reev \S+.* --db memory:\/\//);
  });
});
