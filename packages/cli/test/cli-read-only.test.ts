/**
 * Read commands never change a database, and PostgreSQL is migrated only when asked: the `reev` CLI as
 * a child process, against databases that are missing, empty, one migration behind or someone else's,
 * and against --db typos. After each command the database's catalog (relations, types, schemas,
 * `_prisma_migrations`) is read again and compared: nothing changed.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "@reev/db";
import { pgliteOf, prismaClientOf } from "@reev/db/internal";
import { catalogSnapshot, createPostgresDatabase, olderMigrations, postgresCatalogSnapshot } from "@reev/db/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { assertBuilt, type CliResult, cliEnv, fixture, makeTempDir, runCli, show } from "./support/run-cli.js";

const baseUrl = process.env.REEV_TEST_DATABASE_URL;
/** Tests that start the CLI a dozen times: each start is a new Node process (seconds on a busy machine). */
const MANY_RUNS = 300_000;

/** Every command that only reads, with the arguments it needs (the execution need not exist). */
const READ_COMMANDS: readonly (readonly string[])[] = [
  ["list"],
  ["evaluations"],
  ["show", "exec_x"],
  ["status", "exec_x"],
  ["diagram", "exec_x"],
  ["export", "exec_x"],
  ["recover", "--dry-run"],
  ["purge", "--older-than", "0d", "--dry-run"],
];

let temp: ReturnType<typeof makeTempDir>;
let older: ReturnType<typeof olderMigrations>;

beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-read-only-");
  older = olderMigrations();
});
afterAll(() => {
  temp?.remove();
  older?.remove();
});

function expectRefused(r: CliResult, message: string | RegExp, hint: string | RegExp): void {
  expect(r.code, show(r)).toBe(2);
  expect(r.stdout, show(r)).toBe("");
  const [first = "", second = ""] = r.stderr.split("\n");
  if (typeof message === "string") expect(first, show(r)).toBe(`reev: ${message}`);
  else expect(first, show(r)).toMatch(message);
  if (typeof hint === "string") expect(second, show(r)).toBe(hint);
  else expect(second, show(r)).toMatch(hint);
}

/** The catalog of an embedded database, opened as it is (`migrate: false`: no migration, no check). */
async function pgliteCatalog(dataDir: string): Promise<string[]> {
  const db = await openDatabase({ url: dataDir, migrate: false });
  try {
    return await catalogSnapshot(async (sql) => (await pgliteOf(db)!.query<{ line: string }>(sql)).rows);
  } finally {
    await db.close();
  }
}

describe("--db typos are refused, and nothing is created", () => {
  const typos: [db: string, suggestion: string][] = [
    ["memory:", "Did you mean memory:// (an in-memory database, gone on exit)?"],
    ["memory:/", "Did you mean memory:// (an in-memory database, gone on exit)?"],
    ["postgres:/x", "Did you mean postgres://x?"],
    ["postgresql:/x", "Did you mean postgresql://x?"],
    ["file:", "Did you mean a directory path, such as ./reev-db (or file:./reev-db)?"],
    ["pglite:", "Did you mean a directory path, such as ./reev-db, or memory://?"],
    // Its colon lost, it would be a path, and a writing command would create a directory "postgresql".
    [
      "postgresql//postgres@127.0.0.1/x",
      "Did you mean postgresql://postgres@127.0.0.1/x? (For a directory of that name, write ./postgresql//postgres@127.0.0.1/x.)",
    ],
  ];

  const refusedIn = async (cwd: string, commands: readonly (readonly string[])[], db: string, suggestion: string) => {
    mkdirSync(cwd);
    for (const args of commands) {
      expectRefused(await runCli([...args, "--db", db], { cwd }), `"${db}" is not a database URL reev knows. ${suggestion}`, "");
    }
    expect(readdirSync(cwd)).toEqual([]);
  };

  it(
    "--db memory: by every command that opens a database",
    async () => {
      const commands = [
        ...READ_COMMANDS,
        ["run", fixture("succeeds.yaml")],
        ["demo"],
        ["import", fixture("succeeds.yaml")],
        ["recover"],
        ["migrate"],
      ];
      await refusedIn(join(temp.dir, "typo-every-command"), commands, "memory:", typos[0]![1]);
    },
    MANY_RUNS,
  );

  it.each(typos)("--db %s", async (db, suggestion) => {
    await refusedIn(join(temp.dir, `typo-${readdirSync(temp.dir).length}`), [["list"], ["run", fixture("succeeds.yaml")]], db, suggestion);
  });

  it("an unknown scheme is refused too; with --json, a VALIDATION error on --db", async () => {
    const cwd = join(temp.dir, "unknown-scheme");
    mkdirSync(cwd);
    const r = await runCli(["list", "--db", "sqlite:reev.db", "--json"], { cwd });
    expect(r.code, show(r)).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        code: "VALIDATION",
        message:
          'Unsupported database URL "sqlite:reev.db": use postgresql://user@host:5432/db, memory://, or a directory path (or ./sqlite:reev.db for a directory with a colon in its name).',
        field: "--db",
      },
    });
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a malformed REEV_DATABASE_URL is refused naming the variable, since no --db on the command line shows it", async () => {
    const cwd = join(temp.dir, "env-typo");
    mkdirSync(cwd);
    const r = await runCli(["list"], { cwd, env: { ...cliEnv(), REEV_DATABASE_URL: "postgres:/x" } });
    expectRefused(
      r,
      '"postgres:/x" is not a database URL reev knows. Did you mean postgres://x? It comes from REEV_DATABASE_URL.',
      "Fix REEV_DATABASE_URL, or unset it for the embedded database in ./.reev/db; --db overrides it.",
    );
    expect(readdirSync(cwd)).toEqual([]);
    // Unset, the default ./.reev/db is to blame, not the variable.
    mkdirSync(join(cwd, ".reev"));
    writeFileSync(join(cwd, ".reev/db"), "not a database");
    const unset = await runCli(["list"], { cwd });
    expect(unset.code, show(unset)).toBe(2);
    expect(unset.stderr).toContain(`${join(cwd, ".reev/db")} is a file`);
    expect(unset.stderr).not.toContain("REEV_DATABASE_URL");
  });
});

describe("read commands on the embedded database", () => {
  it(
    "where there is none, they say so and create nothing: not ./.reev, not the directory named",
    async () => {
      const cwd = join(temp.dir, "no-database");
      mkdirSync(cwd);
      for (const args of READ_COMMANDS) {
        expectRefused(
          await runCli([...args], { cwd }),
          `There is no database at ${join(cwd, ".reev/db")}: the directory does not exist.`,
          "Record a run there first (reev run <flow-file>, or reev demo), or point --db at an existing database.",
        );
        expectRefused(
          await runCli([...args, "--db", "elsewhere/db"], { cwd }),
          `There is no database at ${join(cwd, "elsewhere/db")}: the directory does not exist.`,
          /^Record a run there first/,
        );
      }
      expect(readdirSync(cwd)).toEqual([]);
    },
    MANY_RUNS,
  );

  it("a directory that holds the database one level down: not a reev database, and where it is", async () => {
    const cwd = join(temp.dir, "one-level-up");
    await (await openDatabase({ url: join(cwd, ".reev/db") })).close();
    const before = await pgliteCatalog(join(cwd, ".reev/db"));
    for (const args of [["list"], ["show", "exec_x"]]) {
      const r = await runCli([...args, "--db", ".reev"], { cwd });
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain(`reev: ${join(cwd, ".reev")} is not a reev database, but .reev/db in it is: use --db .reev/db`);
      // A read command is never told to use a new or empty directory: there would be nothing to read.
      expect(r.stderr).not.toContain("new or empty");
    }
    mkdirSync(join(cwd, "notes"));
    writeFileSync(join(cwd, "notes/todo.txt"), "x");
    const other = await runCli(["list", "--db", "notes"], { cwd });
    expect(other.code, show(other)).toBe(2);
    expect(other.stderr).toContain(
      `reev: ${join(cwd, "notes")} is not a reev database: point --db at the directory reev run or reev migrate created (by default .reev/db)`,
    );
    // A file given for the directory: the same way out, not a new directory's.
    const file = await runCli(["list", "--db", "notes/todo.txt"], { cwd });
    expect(file.code, show(file)).toBe(2);
    expect(file.stderr).toContain(
      `reev: ${join(cwd, "notes/todo.txt")} is a file, not a database directory: point --db at the directory reev run or reev migrate created (by default .reev/db)`,
    );
    expect(readdirSync(cwd).sort()).toEqual([".reev", "notes"]);
    expect(readdirSync(join(cwd, ".reev"))).toEqual(["db"]);
    expect(await pgliteCatalog(join(cwd, ".reev/db"))).toEqual(before);
  });

  it(
    "one migration behind: they say so and change nothing; reev run migrates it, as the embedded database always does",
    async () => {
      const dir = join(temp.dir, "behind-db");
      await (await openDatabase({ url: dir, migrationsDir: older.dir })).close();
      const before = await pgliteCatalog(dir);
      for (const args of READ_COMMANDS) {
        expectRefused(
          await runCli([...args, "--db", dir], { cwd: temp.dir }),
          `embedded PGlite at ${dir} is behind this version of reev: 1 migration (${older.missing[0]}) not applied yet.`,
          `Migrate it with reev migrate --db ${dir}; reev run and reev demo also migrate the embedded database themselves.`,
        );
      }
      expect(await pgliteCatalog(dir)).toEqual(before);
      const run = await runCli(["run", fixture("succeeds.yaml"), "--db", dir, "--out", join(temp.dir, "out")], { cwd: temp.dir });
      expect(run.code, show(run)).toBe(0);
      expect(run.stderr).toContain(`Database: embedded PGlite at ${dir} (migrated now: 1 migration applied)\n`);
      const list = await runCli(["list", "--db", dir, "--json"], { cwd: temp.dir });
      expect(list.code, show(list)).toBe(0);
      expect(JSON.parse(list.stdout).executions).toHaveLength(1);

      // The other commands that migrate it as they write say so too, each on a database one behind.
      const exported = join(temp.dir, "behind-run.json");
      const id = JSON.parse(list.stdout).executions[0].executionId as string;
      const exporting = await runCli(["export", id, "--out", exported, "--db", dir], { cwd: temp.dir });
      expect(exporting.code, show(exporting)).toBe(0);
      const writers: [string[], RegExp][] = [
        [["eval", fixture("succeeds.yaml")], /^Evaluation eval_\S+: .*, in embedded PGlite at \S+ \(migrated now: 1 migration applied\)$/m],
        [["import", exported], /^Importing execution \S+ into embedded PGlite at \S+ \(migrated now: 1 migration applied\): /m],
        [["recover"], /^Database: embedded PGlite at \S+ \(migrated now: 1 migration applied\)$/m],
      ];
      for (const [[command, ...args], said] of writers) {
        const behind = join(temp.dir, `behind-${command}`);
        await (await openDatabase({ url: behind, migrationsDir: older.dir })).close();
        const r = await runCli([command as string, ...args, "--db", behind], { cwd: temp.dir });
        expect(r.code, show(r)).toBe(0);
        expect(r.stderr, show(r)).toMatch(said);
      }
    },
    MANY_RUNS,
  );
});

describe.skipIf(!baseUrl)("on PostgreSQL, nothing is migrated unless asked", () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const reev = (...args: string[]) => runCli([...args, "--db", database!.url], { cwd: temp.dir });
  const catalog = () => postgresCatalogSnapshot(database!.url);
  const migrateHint = () =>
    `Migrate it first with reev migrate --db ${database!.url}; reev run, demo and import migrate it themselves with --migrate.`;

  beforeEach(async () => {
    database = await createPostgresDatabase(baseUrl!);
  });
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it(
    "a fresh, empty database: every read command and every write command exits 2, and the catalog is unchanged",
    async () => {
      const before = await catalog();
      const exported = join(temp.dir, "exported.json");
      const run = await runCli(["run", fixture("succeeds.yaml"), "--db", join(temp.dir, "source-db"), "--out", join(temp.dir, "out")], {
        cwd: temp.dir,
      });
      const id = /(exec_\S+)$/m.exec(run.stdout)?.[1];
      expect(id, show(run)).toBeDefined();
      const out = await runCli(["export", id!, "--out", exported, "--db", join(temp.dir, "source-db")], { cwd: temp.dir });
      expect(out.code, show(out)).toBe(0);

      const message = `PostgreSQL at ${database!.url} has no reev tables: it has never been migrated.`;
      for (const args of [...READ_COMMANDS, ["run", fixture("succeeds.yaml")], ["import", exported], ["recover"]]) {
        expectRefused(await reev(...args), message, migrateHint());
      }
      expect(await catalog()).toEqual(before);

      const json = await reev("list", "--json");
      expect(json.code, show(json)).toBe(2);
      expect(JSON.parse(json.stderr)).toEqual({ error: { code: "SCHEMA", message: `${message} ${migrateHint()}`, field: "--db" } });
      expect(await catalog()).toEqual(before);
    },
    MANY_RUNS,
  );

  it(
    "a database one migration behind: read and write commands exit 2 and change nothing; reev migrate applies the one missing",
    async () => {
      await (await openDatabase({ url: database!.url, migrate: true, migrationsDir: older.dir })).close();
      const before = await catalog();
      const message = `PostgreSQL at ${database!.url} is behind this version of reev: 1 migration (${older.missing[0]}) not applied yet.`;
      for (const args of [...READ_COMMANDS, ["run", fixture("succeeds.yaml")]]) {
        expectRefused(await reev(...args), message, migrateHint());
      }
      expect(await catalog()).toEqual(before);

      const migrate = await reev("migrate");
      expect(migrate.code, show(migrate)).toBe(0);
      expect(migrate.stdout).toBe(`Applied 1 migration to PostgreSQL at ${database!.url}:\n  ${older.missing[0]}\n`);
      const again = await reev("migrate", "--json");
      expect(JSON.parse(again.stdout)).toEqual({ database: `PostgreSQL at ${database!.url}`, applied: [], resolved: null });
      const list = await reev("list");
      expect(list.code, show(list)).toBe(0);
      expect(list.stdout).toMatch(/^No executions in PostgreSQL at /);
    },
    MANY_RUNS,
  );

  it(
    "reev run --migrate migrates a fresh database and records the run",
    async () => {
      const run = await reev("run", fixture("succeeds.yaml"), "--migrate", "--out", join(temp.dir, "out"));
      expect(run.code, show(run)).toBe(0);
      // Said, not done in silence; the next run has nothing to migrate and says nothing of it.
      expect(run.stderr).toMatch(/^Database: PostgreSQL at \S+ \(migrated now: \d+ migrations applied\)$/m);
      const again = await reev("run", fixture("succeeds.yaml"), "--migrate", "--out", join(temp.dir, "out"));
      expect(again.stderr).toMatch(/^Database: PostgreSQL at \S+$/m);
      const list = await reev("list", "--json");
      expect(JSON.parse(list.stdout).executions).toHaveLength(2);
    },
    MANY_RUNS,
  );

  it(
    "a database that holds other tables and no migration history is never migrated into (Prisma's P3005)",
    async () => {
      const theirs = await openDatabase({ url: database!.url, migrate: false });
      try {
        await prismaClientOf(theirs).$executeRaw`CREATE TABLE customers (id int PRIMARY KEY)`;
        await prismaClientOf(theirs).$executeRaw`CREATE TABLE orders (id int)`;
      } finally {
        await theirs.close();
      }
      const before = await catalog();
      const hint =
        "reev migrates only an empty database or one it migrated before: create a new database for reev (createdb reev) and point --db at it.";
      const refused = `Refusing to migrate PostgreSQL at ${database!.url}: it is not empty and has no reev migration history, and it holds tables or types (customers, orders) that reev did not create.`;
      expectRefused(await reev("migrate"), refused, hint);
      expectRefused(await reev("run", fixture("succeeds.yaml"), "--migrate"), refused, hint);
      expectRefused(
        await reev("list"),
        `PostgreSQL at ${database!.url} is not empty and has no reev migration history: it holds tables or types (customers, orders) that reev did not create.`,
        hint,
      );
      expect(await catalog()).toEqual(before);
      expect(existsSync(join(temp.dir, ".reev"))).toBe(false);
    },
    MANY_RUNS,
  );
});
