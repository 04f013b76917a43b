import { fileURLToPath } from "node:url";

// src/ and dist/ sit at the same depth, so one relative path serves the sources and the build.
const root = new URL("../../../", import.meta.url);

/** The repository's one Prisma schema. */
export const SCHEMA_PATH = fileURLToPath(new URL("prisma/schema.prisma", root));
/** The committed migrations, in `prisma migrate`'s layout. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("prisma/migrations", root));
