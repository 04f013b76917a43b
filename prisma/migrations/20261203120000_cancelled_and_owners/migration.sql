-- Runs that end visibly (issue 9 §1): `cancelled` for a run stopped on request (Ctrl-C, SIGTERM),
-- and the owner and heartbeat of every execution, so recovery can tell a run whose process is gone
-- from a live one. Only new nullable columns and a new enum value: no stored row changes.
ALTER TYPE "execution_status" ADD VALUE 'cancelled';

ALTER TABLE "execution_sessions" ADD COLUMN "owner_host" VARCHAR(255),
ADD COLUMN "owner_pid" INTEGER,
ADD COLUMN "owner_started_at" TIMESTAMPTZ(3),
ADD COLUMN "heartbeat_at" TIMESTAMPTZ(3);
