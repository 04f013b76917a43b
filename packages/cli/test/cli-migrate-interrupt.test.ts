/**
 * Ctrl-C during `reev migrate`, and a migrate killed halfway, on PostgreSQL (where a migration is run
 * on a server that outlives the process; the embedded database is covered by @reev/db's
 * migrations-interrupted test). Deterministic, no sleeps: the test takes the row lock on the history
 * row of a migration under way, so the engine, its script committed, waits to record it finished;
 * the signal comes while it waits, and the lock is let go once the child has answered it.
 */
import { readdirSync } from "node:fs";
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli } from "./support/live-cli.js";
import { pg, waitUntilBlockingAnother } from "./support/pg-lock.js";
import { assertBuilt, makeTempDir, runCli, show } from "./support/run-cli.js";

const base = process.env.REEV_TEST_DATABASE_URL;
// The migrations the built @reev/db applies (its dist/index.js sits beside dist/prisma/).
const MIGRATIONS = new URL("prisma/migrations/", import.meta.resolve("@reev/db"));

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-migrate-interrupt-");
});
afterAll(() => temp?.remove());

/**
 * A connection holding the row lock of one migration's history row while the engine has it under
 * way (its row there, not finished), polled for until it is: `FOR UPDATE` rechecks the row once a
 * concurrent update commits, so a row finished meanwhile is not taken. `except` is left alone.
 * It returns only once the engine waits on that lock to record the migration finished: the row is
 * there while the script still runs too, and a kill then may roll the script back.
 */
async function holdMigrationUnderWay(url: string, except: string): Promise<{ name: string; release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (;;) {
    await client.query("BEGIN");
    const rows = await client
      .query<{ name: string }>(
        "SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NULL AND migration_name <> $1 FOR UPDATE",
        [except],
      )
      .then((r) => r.rows)
      .catch((): { name: string }[] => []); // no history table yet
    if (rows[0]) {
      await waitUntilBlockingAnother(client);
      return {
        name: rows[0].name,
        release: async () => {
          await client.query("COMMIT");
          await client.end();
        },
      };
    }
    await client.query("ROLLBACK");
  }
}

async function history(url: string): Promise<{ unfinished: number; applied: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; finished: boolean; rolled_back: boolean }>(
      "SELECT migration_name AS name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations",
    );
    return {
      unfinished: rows.filter((r) => !r.finished && !r.rolled_back).length,
      applied: rows
        .filter((r) => r.finished && !r.rolled_back)
        .map((r) => r.name)
        .sort(),
    };
  } finally {
    await client.end();
  }
}

describe.skipIf(!base || process.platform === "win32")("reev migrate interrupted, on PostgreSQL", () => {
  const committed = readdirSync(MIGRATIONS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const drop of drops) await drop();
  });
  const fresh = async () => {
    const created = await createPostgresDatabase(base as string);
    drops.push(created.drop);
    return created.url;
  };

  it("Ctrl-C: says it lets the migration finish, finishes every one, reports them and exits 130", async () => {
    const url = await fresh();
    const cli = startCli(["migrate", "--db", url], { cwd: temp.dir });
    const held = await holdMigrationUnderWay(url, "");
    cli.child.kill("SIGINT");
    await cli.waitForLine(/^Interrupted \(SIGINT\)/);
    await held.release();
    const r = await cli.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stderr).toContain(
      "Interrupted (SIGINT): letting every pending migration finish (they are applied in one go), so the database is not left half-migrated. Press Ctrl-C again to exit at once.\n",
    );
    expect(r.stdout).toContain(`Applied ${committed.length} migrations to PostgreSQL at`);
    expect(r.stdout).toContain(`  ${held.name}\n`);
    expect(r.stdout).toContain(
      "Interrupted (SIGINT): the migrations were let finish, so the database is complete and consistent; nothing is left to resolve.\n",
    );
    expect(await history(url)).toEqual({ unfinished: 0, applied: committed });
  });

  it("killed with its SQL applied: other commands point at reev migrate, which records it applied and applies the rest", async () => {
    const url = await fresh();
    const cli = startCli(["migrate", "--db", url], { cwd: temp.dir });
    // Not the newest migration: its lz4 change cannot be told from the schema (see @reev/db's test).
    const held = await holdMigrationUnderWay(url, committed.at(-1) as string);
    cli.child.kill("SIGKILL");
    await cli.done;
    await held.release();

    const list = await runCli(["list", "--db", url], { cwd: temp.dir });
    expect(list.code, show(list)).toBe(2);
    expect(list.stderr).toContain(
      `has a migration that was started and never finished: ${held.name} (an interrupted or failed migrate leaves this).`,
    );
    expect(list.stderr).toContain(
      "finds out from the database's tables whether the migration's SQL was applied, records it so and applies what is left, or says why it cannot.",
    );
    expect(list.stderr).not.toContain("db:status");

    const r = await runCli(["migrate", "--db", url], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^${held.name} had been left unfinished by an interrupted migrate; the database's tables show its SQL was applied, so it is now recorded as applied.\nApplied \\d+ migrations? to PostgreSQL at `,
      ),
    );
    expect(r.stdout).not.toContain(`  ${held.name}\n`);
    expect(await history(url)).toEqual({ unfinished: 0, applied: committed });
    expect((await runCli(["list", "--db", url], { cwd: temp.dir })).code).toBe(0);
  });
});
