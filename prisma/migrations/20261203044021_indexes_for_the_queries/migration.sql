-- Indexes for the queries that run (see the index test, test/query-plans.test.ts, which EXPLAINs them):
-- the newest consolidation of an execution replaces the separate execution_id and created_at indexes
-- (nothing queried created_at alone); the list's flow filter gets one; recovery's scan and the count of
-- pending steps by transaction become partial indexes over the few rows they are about. Written by
-- `pnpm db:migrate:create` from schema.prisma (previewFeatures partialIndexes), so the drift check knows them.

-- DropIndex
DROP INDEX "consolidated_sessions_created_at_idx";

-- DropIndex
DROP INDEX "consolidated_sessions_execution_id_idx";

-- DropIndex
DROP INDEX "execution_sessions_transaction_opened_at_idx";

-- CreateIndex
CREATE INDEX "consolidated_sessions_execution_id_created_at_id_idx" ON "consolidated_sessions"("execution_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "execution_sessions_flow_id_started_at_idx" ON "execution_sessions"("flow_id", "started_at" DESC);

-- CreateIndex
CREATE INDEX "execution_sessions_transaction_opened_at_idx" ON "execution_sessions"("transaction_opened_at") WHERE (open_transaction_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "step_sessions_transaction_id_idx" ON "step_sessions"("transaction_id") WHERE (state = 'pending');
