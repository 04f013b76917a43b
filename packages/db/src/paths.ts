import { fileURLToPath } from "node:url";

// `pnpm build` copies the repository's prisma/ into dist/prisma/ (scripts/copy-prisma.mjs), so the
// package reads its own copy wherever it is installed. src/ and dist/ are siblings: one relative path
// serves the sources (tests) and the build.
const prisma = new URL("../dist/prisma/", import.meta.url);

/** The Prisma schema this build of @reev/db was made from. */
export const SCHEMA_PATH = fileURLToPath(new URL("schema.prisma", prisma));
/** The migrations this build of @reev/db applies, in `prisma migrate`'s layout. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("migrations", prisma));
