-- Evaluations whose process is gone end too (issue 9 §1 for `reev eval`): the owner and heartbeat of
-- every evaluation, as execution_sessions records them, so `reev recover` can tell an evaluation whose
-- process was killed from a live one, and the reason it finished one with. Only new nullable columns:
-- no stored row changes (older evaluations have no owner, like older executions).
ALTER TABLE "evaluation_runs" ADD COLUMN "owner_host" VARCHAR(255),
ADD COLUMN "owner_pid" INTEGER,
ADD COLUMN "owner_started_at" TIMESTAMPTZ(3),
ADD COLUMN "heartbeat_at" TIMESTAMPTZ(3),
ADD COLUMN "error" TEXT;
