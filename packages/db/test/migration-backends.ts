// The databases the migration tests run on: PGlite always, PostgreSQL when REEV_TEST_DATABASE_URL is
// set, each with the migration engine's adapter factory and a plain query for looking inside.

import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { newPGlite } from "../src/embedded-pglite.js";
import { migrateDeploy } from "../src/internal.js";
import { ensurePgliteTemplate } from "../src/pglite-template.js";
import { createPostgresDatabase } from "../src/testing/index.js";

export type Row = Record<string, unknown>;
export type MigrationBackend = {
  factory(): PrismaPGlite | PrismaPg;
  query(sql: string): Promise<Row[]>;
  close(): Promise<void>;
};

async function pgliteBackend(dump?: Uint8Array): Promise<MigrationBackend> {
  const pglite = newPGlite(dump ? { loadDataDir: new Blob([dump]) } : {});
  await pglite.waitReady;
  return {
    factory: () => new PrismaPGlite(pglite),
    query: async (sql) => (await pglite.query<Row>(sql)).rows,
    close: () => pglite.close(),
  };
}

async function postgresBackend(baseUrl: string): Promise<MigrationBackend> {
  const created = await createPostgresDatabase(baseUrl);
  return {
    factory: () => new PrismaPg({ connectionString: created.url }),
    query: async (sql) => {
      const client = new pg.Client({ connectionString: created.url });
      await client.connect();
      try {
        return (await client.query<Row>(sql)).rows;
      } finally {
        await client.end();
      }
    },
    close: () => created.drop(),
  };
}

/** Fresh (empty) databases, or migrated ones: PGlite cloned from the migrated template, PostgreSQL deployed. */
export function migrationBackends({ migrated }: { migrated: boolean }): { name: string; open(): Promise<MigrationBackend> }[] {
  const backends = [{ name: "pglite", open: async () => pgliteBackend(migrated ? await ensurePgliteTemplate() : undefined) }];
  const url = process.env.REEV_TEST_DATABASE_URL;
  if (url) {
    backends.push({
      name: "postgres",
      open: async () => {
        const backend = await postgresBackend(url);
        if (migrated) await migrateDeploy(backend.factory());
        return backend;
      },
    });
  }
  return backends;
}
