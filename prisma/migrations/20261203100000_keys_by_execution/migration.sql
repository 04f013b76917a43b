-- Every key of the run tables includes execution_id, so they can be distributed by it and colocated
-- (Citus, see docs/scaling.md): a key that lacks the distribution column cannot be enforced per shard.
-- - step_sessions: primary key (execution_id, step_index), the old unique index promoted in place;
--   session_id stays as a plain column (reev's id, derived from the key).
-- - tool_calls: gains execution_id and step_index, backfilled from its step; primary key
--   (execution_id, step_index, call_index), foreign key to its step by (execution_id, step_index).
--   Its surrogate id and its session_id (both derivable) go.
-- - consolidated_sessions: primary key (execution_id, consolidated_session_id); the global UNIQUE on
--   consolidated_session_id stays, the one exception, for a single server only.
-- - every foreign key: ON UPDATE NO ACTION instead of CASCADE. Keys never change, and Citus refuses a
--   foreign key that includes the distribution column with ON UPDATE CASCADE (PostgreSQL cannot alter
--   a foreign key's action in place, so the two older ones are dropped and made again).
-- Every row is kept (test/migration-keys.test.ts migrates a populated database and compares).
-- The shape matches what `pnpm db:migrate:create` writes from schema.prisma (the drift check proves
-- it); the backfill and the in-place promotion are by hand.

-- tool_calls: the new key columns, filled from the step each call belongs to.
ALTER TABLE "tool_calls" DROP CONSTRAINT "tool_calls_session_id_fkey";
ALTER TABLE "tool_calls" ADD COLUMN "execution_id" VARCHAR(255), ADD COLUMN "step_index" INTEGER;
UPDATE "tool_calls" AS t SET "execution_id" = s."execution_id", "step_index" = s."step_index"
FROM "step_sessions" AS s WHERE s."session_id" = t."session_id";
ALTER TABLE "tool_calls" ALTER COLUMN "execution_id" SET NOT NULL, ALTER COLUMN "step_index" SET NOT NULL;
DROP INDEX "tool_calls_session_id_call_index_key";
ALTER TABLE "tool_calls" DROP CONSTRAINT "tool_calls_pkey",
DROP COLUMN "id",
DROP COLUMN "session_id",
ADD CONSTRAINT "tool_calls_pkey" PRIMARY KEY ("execution_id", "step_index", "call_index");

-- step_sessions: the unique (execution_id, step_index) index becomes the primary key without a rebuild.
ALTER TABLE "step_sessions" DROP CONSTRAINT "step_sessions_pkey";
ALTER TABLE "step_sessions" ADD CONSTRAINT "step_sessions_pkey" PRIMARY KEY USING INDEX "step_sessions_execution_id_step_index_key";

-- consolidated_sessions
ALTER TABLE "consolidated_sessions" DROP CONSTRAINT "consolidated_sessions_pkey",
ADD CONSTRAINT "consolidated_sessions_pkey" PRIMARY KEY ("execution_id", "consolidated_session_id");

-- Foreign keys, all without ON UPDATE CASCADE.
ALTER TABLE "step_sessions" DROP CONSTRAINT "step_sessions_execution_id_fkey";
ALTER TABLE "consolidated_sessions" DROP CONSTRAINT "consolidated_sessions_execution_id_fkey";
ALTER TABLE "step_sessions" ADD CONSTRAINT "step_sessions_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "execution_sessions"("execution_id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "tool_calls" ADD CONSTRAINT "tool_calls_execution_id_step_index_fkey" FOREIGN KEY ("execution_id", "step_index") REFERENCES "step_sessions"("execution_id", "step_index") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "consolidated_sessions" ADD CONSTRAINT "consolidated_sessions_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "execution_sessions"("execution_id") ON DELETE CASCADE ON UPDATE NO ACTION;
