import { test as base } from "vitest";
import type { Database } from "../open-database.js";
import { openTestDatabase, type TestBackend, type TestDatabaseOptions, testBackends } from "./test-databases.js";

/**
 * The databases of one test file: one per backend, opened (migrated) on first use and kept for the
 * rest of the file, so its tests share the schema cost but never see another file's rows.
 */
export class FileDatabases {
  readonly #options: TestDatabaseOptions;
  readonly #opened = new Map<string, Promise<Database>>();

  constructor(options: TestDatabaseOptions) {
    this.#options = options;
  }

  /** The file's database on `backend`, opened on the first call. */
  get(backend: TestBackend): Promise<Database> {
    let db = this.#opened.get(backend.name);
    if (!db) {
      db = openTestDatabase(backend, this.#options);
      this.#opened.set(backend.name, db);
    }
    return db;
  }

  /** Closes every database (dropping the PostgreSQL ones); the first failure is thrown after all were tried. */
  async closeAll(): Promise<void> {
    const opened = [...this.#opened.values()];
    this.#opened.clear();
    const results = await Promise.allSettled(opened.map(async (db) => (await db).close()));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/**
 * vitest's `test` with a migrated database of the file's own, per backend:
 *
 * ```ts
 * describe.each(testBackends())("steps on $name", (backend) => {
 *   test.override({ backend });
 *   test("…", async ({ db }) => { … });
 * });
 * ```
 *
 * - `backend` (per test, default the first of `testBackends()`): override it in a `describe` to run
 *   the tests there on another backend.
 * - `db`: the file's database on that backend. It is opened on first use and closed (a PostgreSQL
 *   one dropped) after the file, so tests share it: give every row an id of its own.
 * - `databaseOptions` (per file): how the file's databases are opened (`wrapAdapter`, `writer`, …);
 *   override it at the top of a file, before any test: `test.override({ databaseOptions: {…} })`.
 * - `databases` (per file): the file's databases themselves, for suite hooks (`test.beforeAll(async
 *   ({ databases }) => …)`), which cannot use per-test fixtures.
 */
export const test = base
  .extend("databaseOptions", { scope: "file" }, {} as TestDatabaseOptions)
  .extend("databases", { scope: "file" }, async ({ databaseOptions }, { onCleanup }) => {
    const databases = new FileDatabases(databaseOptions);
    onCleanup(() => databases.closeAll());
    return databases;
  })
  .extend("backend", testBackends()[0] as TestBackend)
  .extend("db", async ({ backend, databases }) => databases.get(backend));
