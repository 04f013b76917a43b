-- Retention (`reev purge`, `reev serve --retention`) walks the finished executions oldest finish first,
-- a batch at a time, keyset on (finished_at, execution_id): without this index every batch read the
-- whole execution_sessions table to find and sort its candidates (see test/query-plans.test.ts).

-- CreateIndex
CREATE INDEX "execution_sessions_finished_at_execution_id_idx" ON "execution_sessions"("finished_at", "execution_id");
