import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

/**
 * One SQL statement with `$n` parameters; returns the rows. With a `name`, `pg` prepares it once per
 * connection, as the writer's driver does for its marked statements (PGlite's driver has no names).
 */
export type Query = <R = Record<string, unknown>>(sql: string, params?: unknown[], name?: string) => Promise<R[]>;

const pgQuery =
  (client: pg.ClientBase | pg.Pool): Query =>
  async (sql, params, name) =>
    (await client.query({ text: sql, values: params as unknown[], ...(name ? { name } : {}) })).rows;

/** The raw driver, reduced to what the bench needs: statements, and transactions on one connection. */
export interface RawDriver {
  readonly query: Query;
  /** Runs `fn` between BEGIN and COMMIT (ROLLBACK on error) on one connection. */
  transaction<T>(fn: (q: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function inTransaction<T>(client: pg.ClientBase, fn: (q: Query) => Promise<T>): Promise<T> {
  const q = pgQuery(client);
  await client.query("BEGIN");
  try {
    const result = await fn(q);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** One `pg.Client`: every transaction on the same connection, one after another. */
export async function pgClientDriver(url: string): Promise<RawDriver> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // A single connection runs one statement or transaction at a time: queue them, as PGlite does. (pg
  // would queue statements itself, but that is deprecated, and it would slip a statement into another
  // caller's open transaction.)
  let queue: Promise<unknown> = Promise.resolve();
  const queued = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  };
  const query = pgQuery(client);
  return {
    query: (sql, params, name) => queued(() => query(sql, params, name)),
    transaction: (fn) => queued(() => inTransaction(client, fn)),
    close: () => client.end(),
  };
}

/** A `pg.Pool` of `max` connections: transactions in parallel. */
export function pgPoolDriver(url: string, max: number): RawDriver {
  const pool = new pg.Pool({ connectionString: url, max });
  // pool.end() resolves before its clients' sockets have closed, and the bench then drops the
  // database WITH (FORCE): an idle client hears "terminating connection" and, without a listener,
  // the pool's 'error' event would crash the process. Errors of a query still reach its caller.
  pool.on("error", () => {});
  return {
    query: pgQuery(pool),
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        return await inTransaction(client, fn);
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** PGlite's own `transaction()` (which queues: PGlite has one connection). Does not close `db`. */
export function pgliteDriver(db: PGlite): RawDriver {
  return {
    query: async (sql, params) => (await db.query(sql, params as unknown[])).rows as never[],
    transaction: (fn) => db.transaction((tx) => fn(async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never[])),
    close: async () => {},
  };
}
