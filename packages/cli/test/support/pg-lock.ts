/**
 * A PostgreSQL connection of the test's own, for the interrupt tests that make a `reev` child wait at
 * a known point: the test takes a lock the child's next statement needs, waits until the child waits
 * on it (a condition, not a guess of time), signals the child, and lets the lock go.
 */
import { createRequire } from "node:module";

// pg is @reev/db's dependency, not the CLI's: reached through it rather than added for the tests.
export type PgClient = {
  connect(): Promise<void>;
  query<R>(sql: string, args?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
};
export const pg = createRequire(import.meta.resolve("@reev/db"))("pg") as {
  Client: new (options: { connectionString: string }) => PgClient;
};

/**
 * Polls until another backend waits on a lock `client` holds (pg_blocking_pids names it). Inside the
 * transaction that holds the lock, pg_stat_activity is read once and kept: its snapshot is cleared
 * before each look.
 */
export async function waitUntilBlockingAnother(client: PgClient): Promise<void> {
  for (;;) {
    await client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await client.query<{ blocked: number }>(
      "SELECT count(*)::int AS blocked FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
    );
    if ((rows[0]?.blocked ?? 0) > 0) return;
  }
}

export type HeldLock = { blocking(): Promise<void>; release(): Promise<void> };

/** Runs `sql` (which takes a lock: FOR UPDATE, LOCK TABLE) in a transaction left open until `release`. */
export async function holdLock(url: string, sql: string, args: unknown[] = []): Promise<HeldLock> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query(sql, args);
  return {
    blocking: () => waitUntilBlockingAnother(client),
    release: async () => {
      await client.query("COMMIT");
      await client.end();
    },
  };
}
