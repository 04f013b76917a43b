// `pnpm db:migrate` / `pnpm db:migrate:create <name>` / `pnpm db:status`: Prisma's migrate deploy,
// migrate dev --create-only and migrate status, on the WebAssembly schema engine (no downloads).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { connectFailure } from "../connect-failure.js";
import { acquireDirectoryLock } from "../directory-lock.js";
import { newPGlite } from "../embedded-pglite.js";
import { DatabaseError } from "../errors.js";
import { maskUrl, resolveTarget } from "../open-database.js";
import { type MigrationPaths, migrateCreate, migrateDeploy, migrateStatus } from "./migrate.js";

const USAGE = `usage: reev-db-migrate deploy|status [--db URL]
       reev-db-migrate create <name>

The database defaults to REEV_DATABASE_URL, else the embedded one in .reev/db.
Run from the repository root; INIT_CWD (set by pnpm) is honoured for relative paths.`;

/**
 * The repository's prisma/ folder, the one source of the schema and its migrations: what the
 * developer is editing, not the copy a build of @reev/db carries (which a new migration would miss,
 * or be written into and lost), found like Prisma's own CLI finds it, from where the command runs.
 */
function repositoryPrisma(): Required<MigrationPaths> {
  const root = process.env.INIT_CWD ?? process.cwd();
  const paths = { schemaPath: join(root, "prisma", "schema.prisma"), migrationsDir: join(root, "prisma", "migrations") };
  if (!existsSync(paths.schemaPath)) {
    throw new DatabaseError("VALIDATION", `No prisma/schema.prisma in ${root}: run this from the repository root`, { field: "cwd" });
  }
  return paths;
}

/** A failure already worded for the person at the terminal: printed as it is, exit 1. */
class Worded extends Error {}

/**
 * Connects once before migrating: the schema engine's own errors name no server ("DatabaseNotReachable")
 * or the wrong cause ("User was denied access" for a role that does not exist), where the driver's
 * classification gives the same words as `reev migrate`.
 */
async function probe(factory: PrismaPg, url: string, source: string): Promise<void> {
  try {
    const adapter = await factory.connect();
    try {
      await adapter.queryRaw({ sql: "SELECT 1", args: [], argTypes: [] });
    } finally {
      await adapter.dispose();
    }
  } catch (error) {
    const words = connectFailure(error, url, source);
    if (!words) throw error;
    throw new Worded(`${words.message}\n${words.hint}`, { cause: error });
  }
}

async function withFactory<T>(url: string | undefined, fn: (factory: PrismaPg | PrismaPGlite, where: string) => Promise<T>): Promise<T> {
  const target = resolveTarget(url, process.env.INIT_CWD ?? process.cwd());
  if (target.kind === "postgres") {
    const factory = new PrismaPg({ connectionString: target.url });
    await probe(factory, target.url, url === undefined ? "REEV_DATABASE_URL" : "--db");
    return fn(factory, `PostgreSQL at ${maskUrl(target.url)}`);
  }
  if (target.kind === "pglite-memory")
    throw new DatabaseError("VALIDATION", "memory:// databases vanish on exit: nothing to migrate", { field: "url" });
  const release = acquireDirectoryLock(target.dataDir);
  let pglite: PGlite | undefined;
  try {
    pglite = newPGlite({ dataDir: target.dataDir });
    return await fn(new PrismaPGlite(pglite), target.dataDir);
  } finally {
    await pglite?.close();
    release();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const dbFlag = rest.indexOf("--db");
  const url = dbFlag >= 0 ? rest[dbFlag + 1] : undefined;
  switch (command) {
    case "deploy":
      return withFactory(url, async (factory, where) => {
        const { appliedMigrationNames } = await migrateDeploy(factory, { ...repositoryPrisma(), database: where });
        console.log(
          appliedMigrationNames.length ? `Applied to ${where}:\n  ${appliedMigrationNames.join("\n  ")}` : `${where} is up to date.`,
        );
        return 0;
      });
    case "status":
      return withFactory(url, async (factory, where) => {
        const s = await migrateStatus(factory, repositoryPrisma());
        console.log(`${where}: ${s.upToDate ? "up to date" : "NOT up to date"}`);
        for (const [label, names] of Object.entries({
          pending: s.pending,
          failed: s.failed,
          edited: s.edited,
          "not in the folder": s.unknown,
        })) {
          if (names.length) console.log(`  ${label}: ${names.join(", ")}`);
        }
        return s.upToDate ? 0 : 1;
      });
    case "create": {
      const name = rest.find((a) => !a.startsWith("--"));
      if (!name) break;
      const paths = repositoryPrisma();
      const dir = await migrateCreate(name, paths);
      console.log(
        dir
          ? `Created ${dir}\nReview it, then run pnpm db:migrate.`
          : `No schema changes since the last migration in ${paths.migrationsDir}.`,
      );
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof Worded) console.error(error.message);
    else
      console.error(error instanceof Error ? `${error.name}${"code" in error ? ` [${String(error.code)}]` : ""}: ${error.message}` : error);
    process.exit(1);
  },
);
