-- Evaluation runs (`reev eval`): one row per evaluation, every execution it makes pointing to it
-- (nullable: an execution outlives its evaluation, ON DELETE SET NULL), and the `expect` verdicts stored
-- with the flow (execution_sessions.checks) and each step (step_sessions.checks). Written by
-- `pnpm db:migrate:create` from schema.prisma.

-- CreateEnum
CREATE TYPE "evaluation_status" AS ENUM ('running', 'completed', 'incomplete', 'failed');

-- AlterTable
ALTER TABLE "execution_sessions" ADD COLUMN     "checks" JSONB,
ADD COLUMN     "evaluation_id" VARCHAR(255);

-- AlterTable
ALTER TABLE "step_sessions" ADD COLUMN     "checks" JSONB;

-- CreateTable
CREATE TABLE "evaluation_runs" (
    "id" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255),
    "agent" VARCHAR(255) NOT NULL,
    "model" VARCHAR(255),
    "status" "evaluation_status" NOT NULL DEFAULT 'running',
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "configuration" JSONB NOT NULL,
    "summary" JSONB,

    CONSTRAINT "evaluation_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "evaluation_runs_started_at_id_idx" ON "evaluation_runs"("started_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "execution_sessions_evaluation_id_idx" ON "execution_sessions"("evaluation_id");

-- AddForeignKey
ALTER TABLE "execution_sessions" ADD CONSTRAINT "execution_sessions_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluation_runs"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
