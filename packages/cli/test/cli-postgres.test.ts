/**
 * The `reev` CLI as a child process on PostgreSQL: only when REEV_TEST_DATABASE_URL is set. Each test
 * gets a fresh database of its own, created before it and dropped after it.
 */
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { assertBuilt, cliEnv, executionIds, fixture, makeTempDir, runCli, show } from "./support/run-cli.js";

const baseUrl = process.env.REEV_TEST_DATABASE_URL;

describe.skipIf(!baseUrl)("reev on PostgreSQL", () => {
  let temp: ReturnType<typeof makeTempDir>;
  let database: { url: string; drop(): Promise<void> } | undefined;
  const reev = (...args: string[]) => runCli([...args, "--db", database!.url], { cwd: temp.dir });

  beforeAll(() => {
    assertBuilt();
    temp = makeTempDir("reev-cli-pg-");
  });

  afterAll(() => temp?.remove());

  beforeEach(async () => {
    database = await createPostgresDatabase(baseUrl!);
  });

  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it("reev list on the fresh database says it was never migrated; after reev migrate, that it is empty", async () => {
    const before = await reev("list");
    expect(before.code, show(before)).toBe(2);
    expect(before.stderr).toMatch(/^reev: PostgreSQL at postgres(ql)?:\/\/\S+ has no reev tables: it has never been migrated\.$/m);
    const migrate = await reev("migrate");
    expect(migrate.code, show(migrate)).toBe(0);
    const r = await reev("list");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^No executions in PostgreSQL at postgres(ql)?:\/\//);
  });

  it("a URL that names no database: the words say which one it defaulted to and how to name reev's own; nothing is migrated", async () => {
    // The driver takes $PGDATABASE, else the user name: $PGDATABASE points it at this test's database.
    const name = new URL(database!.url).pathname.slice(1);
    const unnamed = new URL(database!.url);
    unnamed.pathname = "";
    const suggested = new URL(database!.url);
    suggested.pathname = "/reev";
    const hint = `Name reev's own database in --db, as in ${suggested} (create it first: createdb reev), then run reev migrate --db with that URL.`;
    const reevUnnamed = (database: string, ...args: string[]) =>
      runCli([...args, "--db", unnamed.toString()], { cwd: temp.dir, env: cliEnv({ PGDATABASE: database }) });

    for (const command of [["list"], ["run", fixture("succeeds.yaml")]]) {
      const r = await reevUnnamed(name, ...command);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr, show(r)).toBe(
        `reev: PostgreSQL at ${unnamed} has no reev tables: it has never been migrated. The URL names no database, so it defaulted to "${name}" ($PGDATABASE).\n${hint}\n`,
      );
    }
    const missing = await reevUnnamed(`${name}_missing`, "list");
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stderr, show(missing)).toBe(
      `reev: The PostgreSQL server has no database "${name}_missing" (${unnamed}). The URL names no database, so it defaulted to "${name}_missing" ($PGDATABASE).\n${hint}\n`,
    );
    // Nothing was migrated: the database is as fresh as it was.
    expect((await reev("list")).stderr).toContain("has no reev tables: it has never been migrated.");
  });

  it("a database the server does not have is bad input (exit 2, SCHEMA) naming it and how to create it; nothing is created", async () => {
    const missing = new URL(database!.url);
    missing.pathname = `${missing.pathname}_missing`;
    for (const command of [
      ["list", "--json"],
      ["run", fixture("succeeds.yaml")],
    ]) {
      const r = await runCli([...command, "--db", missing.toString()], { cwd: temp.dir });
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout, show(r)).not.toMatch(/exec_/);
      const name = missing.pathname.slice(1);
      if (command[0] === "list") {
        expect(JSON.parse(r.stderr), show(r)).toMatchObject({ error: { code: "SCHEMA", field: "--db" } });
      } else {
        expect(r.stderr).toContain(`The PostgreSQL server has no database "${name}"`);
        expect(r.stderr).toContain(`createdb ${name}`);
      }
    }
  });

  it('a role the server does not have: its own words (not "denied access"), exit 1, the password masked', async () => {
    const nobody = new URL(database!.url);
    nobody.username = "reev_no_such_role";
    nobody.password = "s3cret";
    const r = await runCli(["list", "--db", nobody.toString()], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr, show(r)).toBe(
      `reev: The PostgreSQL server refused the login: role "reev_no_such_role" does not exist (${nobody.toString().replace("s3cret", "***")}).\n` +
        "Check the user and password in --db.\n",
    );
  });

  // The test server runs without SSL (as CI's and a fresh install's do). node-postgres's own SECURITY
  // WARNING about how it reads sslmode may come first: it stays (see connect-failure.ts in @reev/db).
  it("sslmode=require against a server without SSL: it does not accept SSL, remove sslmode or enable SSL; exit 1", async () => {
    const ssl = new URL(database!.url);
    ssl.searchParams.set("sslmode", "require");
    const r = await runCli(["list", "--db", ssl.toString()], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr.slice(r.stderr.indexOf("reev: ")), show(r)).toBe(
      `reev: The PostgreSQL server at ${ssl.hostname}:${ssl.port || "5432"} does not accept SSL connections, and --db asks for SSL with sslmode=require (${ssl}).\n` +
        "Remove sslmode from --db, or enable SSL on the server.\n",
    );
    expect(r.stderr).not.toContain("TlsConnectionError");
  });

  it("reev run records every execution, concurrently, and reev list shows them", async () => {
    const r = await reev(
      "run",
      fixture("succeeds.yaml"),
      fixture("critical-fails.yaml"),
      "--concurrency",
      "2",
      "--repeat",
      "2",
      "--migrate",
    );
    expect(r.code, show(r)).toBe(1); // the critical-fails runs fail
    expect(r.stderr).toMatch(/^Database: PostgreSQL at /m);
    const ids = executionIds(r.stdout);
    expect(ids, show(r)).toHaveLength(4);
    expect(r.stdout.match(/\.html$/gm)).toHaveLength(4);

    const list = await reev("list");
    expect(list.code, show(list)).toBe(0);
    const rows = list.stdout.split("\n").filter((line) => line.startsWith("exec_"));
    expect(rows.map((line) => line.split(/\s+/)[0]).sort()).toEqual([...ids].sort());
    expect(rows.filter((line) => /✅ completed\s/.test(line))).toHaveLength(2);
    expect(rows.filter((line) => /❌ failed\s/.test(line))).toHaveLength(2);

    const status = await reev("status", ids[0]!, "--json");
    expect(status.code, show(status)).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ executionId: ids[0], status: "completed", consolidation: { status: "completed" } });
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("4 runs: 2 completed, 2 failed");
  });

  it("a run recorded on the embedded database moves to PostgreSQL: reev export, then reev import", async () => {
    const embedded = `${temp.dir}/embedded-db`;
    const run = await runCli(["run", fixture("succeeds.yaml"), "--db", embedded], { cwd: temp.dir });
    expect(run.code, show(run)).toBe(0);
    const [id] = executionIds(run.stdout);
    const out = `${temp.dir}/moved.jsonl`;
    const exported = await runCli(["export", id!, "--format", "jsonl", "--out", out, "--db", embedded], { cwd: temp.dir });
    expect(exported.code, show(exported)).toBe(0);

    const imported = await reev("import", out, "--migrate");
    expect(imported.code, show(imported)).toBe(0);
    expect(imported.stdout).toContain(`Imported execution ${id} into PostgreSQL at`);
    const status = await reev("status", id!, "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ executionId: id, status: "completed", consolidation: { status: "completed" } });
    const again = await reev("import", out);
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toContain("was already in");
    const bad = await reev("import", `${temp.dir}/no-such-file.json`);
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toMatch(/^reev: Cannot read /);
  });
});
