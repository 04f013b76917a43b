-- CreateEnum
CREATE TYPE "execution_status" AS ENUM ('running', 'completed', 'failed', 'timed_out', 'rolled_back');

-- CreateEnum
CREATE TYPE "consolidation_status" AS ENUM ('pending', 'in_progress', 'completed', 'failed', 'timeout');

-- CreateEnum
CREATE TYPE "step_state" AS ENUM ('pending', 'committed');

-- CreateEnum
CREATE TYPE "step_status" AS ENUM ('success', 'failed', 'timed_out', 'skipped');

-- CreateTable
CREATE TABLE "execution_sessions" (
    "execution_id" VARCHAR(255) NOT NULL,
    "flow_id" VARCHAR(255) NOT NULL,
    "agent" VARCHAR(255) NOT NULL,
    "prompt" TEXT NOT NULL,
    "status" "execution_status" NOT NULL DEFAULT 'running',
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "error" TEXT,
    "metadata" JSONB,
    "open_transaction_id" UUID,
    "transaction_opened_at" TIMESTAMPTZ(3),
    "consolidation_status" "consolidation_status" NOT NULL DEFAULT 'pending',
    "consolidation_error" TEXT,
    "consolidation_updated_at" TIMESTAMPTZ(3),

    CONSTRAINT "execution_sessions_pkey" PRIMARY KEY ("execution_id")
);

-- CreateTable
CREATE TABLE "step_sessions" (
    "session_id" VARCHAR(300) NOT NULL,
    "execution_id" VARCHAR(255) NOT NULL,
    "step_index" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "content_sha256" CHAR(64) NOT NULL,
    "state" "step_state" NOT NULL DEFAULT 'committed',
    "transaction_id" UUID,
    "step_id" VARCHAR(255),
    "status" "step_status",
    "score" DOUBLE PRECISION,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "committed_at" TIMESTAMPTZ(3),

    CONSTRAINT "step_sessions_pkey" PRIMARY KEY ("session_id")
);

-- CreateTable
CREATE TABLE "tool_calls" (
    "id" BIGSERIAL NOT NULL,
    "session_id" VARCHAR(300) NOT NULL,
    "call_index" INTEGER NOT NULL,
    "tool_name" VARCHAR(255) NOT NULL,
    "input" JSONB,
    "output" JSONB,
    "success" BOOLEAN,
    "duration_ms" INTEGER,
    "error" TEXT,

    CONSTRAINT "tool_calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consolidated_sessions" (
    "id" SERIAL NOT NULL,
    "execution_id" VARCHAR(255) NOT NULL,
    "consolidated_session_id" VARCHAR(255) NOT NULL,
    "consolidated_content" TEXT NOT NULL,
    "original_session_ids" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "avg_score" DOUBLE PRECISION,
    "total_tools" INTEGER,
    "success_rate" DOUBLE PRECISION,
    "execution_duration_ms" INTEGER,

    CONSTRAINT "consolidated_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "execution_sessions_status_started_at_idx" ON "execution_sessions"("status", "started_at" DESC);

-- CreateIndex
CREATE INDEX "execution_sessions_started_at_idx" ON "execution_sessions"("started_at" DESC);

-- CreateIndex
CREATE INDEX "execution_sessions_transaction_opened_at_idx" ON "execution_sessions"("transaction_opened_at");

-- CreateIndex
CREATE UNIQUE INDEX "step_sessions_execution_id_step_index_key" ON "step_sessions"("execution_id", "step_index");

-- CreateIndex
CREATE UNIQUE INDEX "tool_calls_session_id_call_index_key" ON "tool_calls"("session_id", "call_index");

-- CreateIndex
CREATE UNIQUE INDEX "consolidated_sessions_consolidated_session_id_key" ON "consolidated_sessions"("consolidated_session_id");

-- CreateIndex
CREATE INDEX "consolidated_sessions_execution_id_idx" ON "consolidated_sessions"("execution_id");

-- CreateIndex
CREATE INDEX "consolidated_sessions_created_at_idx" ON "consolidated_sessions"("created_at");

-- AddForeignKey
ALTER TABLE "step_sessions" ADD CONSTRAINT "step_sessions_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "execution_sessions"("execution_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tool_calls" ADD CONSTRAINT "tool_calls_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "step_sessions"("session_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "consolidated_sessions" ADD CONSTRAINT "consolidated_sessions_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "execution_sessions"("execution_id") ON DELETE CASCADE ON UPDATE CASCADE;
