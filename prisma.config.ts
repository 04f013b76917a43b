// For developers with internet: `pnpm prisma migrate dev` from the root, as usual. Without internet
// use `pnpm db:migrate:create <name>` / `pnpm db:migrate` / `pnpm db:status`, which run Prisma's
// WebAssembly schema engine in-process (packages/db/src/migrate).
import { defineConfig } from "prisma/config";

// Prisma's CLI speaks to PostgreSQL servers only: a REEV_DATABASE_URL naming an embedded PGlite
// directory (or memory://) is not passed on.
const server = [process.env.DATABASE_URL, process.env.REEV_DATABASE_URL].find((url) => url && /^postgres(ql)?:\/\//i.test(url));

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    url: server ?? "postgresql://postgres@127.0.0.1:5432/reev",
  },
});
