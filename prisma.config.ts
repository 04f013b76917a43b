// For developers with internet: `pnpm prisma migrate dev` from the root, as usual. Without internet
// use `pnpm db:migrate:create <name>` / `pnpm db:migrate` / `pnpm db:status`, which run Prisma's
// WebAssembly schema engine in-process (packages/db/src/migrate).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    url: process.env.REEV_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/reev",
  },
});
