-- Every attempt recorded (issue 9 §3) with its usage (issue 11 §3): step_attempts, one row per attempt of
-- a step, keyed by execution like everything new (its FK is step_sessions' unique (execution_id,
-- step_index), and it goes with its step); tool_calls.attempt keeps a failed attempt's calls beside the
-- successful one's; error_kind tells the agent's failures from infrastructure errors; the consolidated
-- token sums get columns next to the other metrics. Additive only: no existing column changes.
-- Written by `pnpm db:migrate:create` from schema.prisma.

-- CreateEnum
CREATE TYPE "error_kind" AS ENUM ('agent', 'infrastructure');

-- AlterTable
ALTER TABLE "consolidated_sessions" ADD COLUMN     "total_input_tokens" BIGINT,
ADD COLUMN     "total_output_tokens" BIGINT;

-- AlterTable
ALTER TABLE "step_sessions" ADD COLUMN     "error_kind" "error_kind";

-- AlterTable
ALTER TABLE "tool_calls" ADD COLUMN     "attempt" INTEGER;

-- CreateTable
CREATE TABLE "step_attempts" (
    "execution_id" VARCHAR(255) NOT NULL,
    "step_index" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status" "step_status" NOT NULL,
    "error" TEXT,
    "error_kind" "error_kind",
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "model" VARCHAR(255),
    "input_tokens" BIGINT,
    "output_tokens" BIGINT,
    "cached_input_tokens" BIGINT,

    CONSTRAINT "step_attempts_pkey" PRIMARY KEY ("execution_id","step_index","attempt")
);

-- AddForeignKey
ALTER TABLE "step_attempts" ADD CONSTRAINT "step_attempts_execution_id_step_index_fkey" FOREIGN KEY ("execution_id", "step_index") REFERENCES "step_sessions"("execution_id", "step_index") ON DELETE CASCADE ON UPDATE NO ACTION;
