-- CreateEnum
CREATE TYPE "transaction_outcome" AS ENUM ('committed', 'rolled_back');

-- AlterTable
ALTER TABLE "execution_sessions" ADD COLUMN     "last_transaction_id" UUID,
ADD COLUMN     "last_transaction_outcome" "transaction_outcome";
