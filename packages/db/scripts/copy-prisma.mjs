// `pnpm build`'s first step: the repository's prisma/ (the one schema and its committed migrations) is
// copied into dist/prisma/, so @reev/db carries what it migrates with at run time, installed anywhere,
// and never reads a path into the repository. prisma/ stays the one source: edit and add migrations
// there (`pnpm db:migrate:create`), never here.
import { cpSync, existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("../../../prisma/", import.meta.url));
const target = fileURLToPath(new URL("../dist/prisma", import.meta.url));
const staging = `${target}.${process.pid}`;

const migrations = existsSync(`${source}migrations`) ? readdirSync(`${source}migrations`).filter((name) => /^\d+_/.test(name)) : [];
if (!migrations.length) {
  // An empty copy would make every new database an empty one, silently.
  console.error(`No migrations in ${source}migrations: nothing for @reev/db to ship.`);
  process.exit(1);
}
// Replaced whole: a migration renamed or removed in prisma/ must not linger in the copy.
rmSync(staging, { recursive: true, force: true });
cpSync(`${source}schema.prisma`, `${staging}/schema.prisma`);
cpSync(`${source}migrations`, `${staging}/migrations`, { recursive: true });
rmSync(target, { recursive: true, force: true });
renameSync(staging, target);
