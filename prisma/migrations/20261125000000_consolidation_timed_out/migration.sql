-- One word for "timed out" in every enum: consolidation_status said 'timeout' beside the 'timed_out' of
-- execution_status and step_status. A rename keeps every stored row (and is what Prisma's diff cannot
-- write: it would drop and re-create the type).
ALTER TYPE "consolidation_status" RENAME VALUE 'timeout' TO 'timed_out';
