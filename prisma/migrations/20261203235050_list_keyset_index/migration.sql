-- The runs list pages by keyset on (started_at, execution_id), newest first: with both in one index
-- a page (the first or one 90,000 rows deep) is one index range, with no sort of a started_at group
-- and no row-by-row filter. It replaces the index on started_at alone, whose every use it serves.
-- Building it blocks writes to execution_sessions while it runs (0.13 s for 100,000 executions on
-- the bench machine). No stored row changes.
-- Written by `pnpm db:migrate:create` from schema.prisma.

-- DropIndex
DROP INDEX "execution_sessions_started_at_idx";

-- CreateIndex
CREATE INDEX "execution_sessions_started_at_execution_id_idx" ON "execution_sessions"("started_at" DESC, "execution_id" DESC);
