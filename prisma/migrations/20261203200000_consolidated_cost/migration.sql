-- The cost of a consolidated run (issue 11 §3): the attempts' tokens priced by the price table the
-- run was consolidated with (--prices), in US dollars, beside the token sums. Null without a price
-- table or when one attempt cannot be priced: never a guess. Only a new nullable column: no stored
-- row changes (older consolidations have no cost, as they had no price table).
-- Written by `pnpm db:migrate:create` from schema.prisma.

-- AlterTable
ALTER TABLE "consolidated_sessions" ADD COLUMN     "cost_usd" DOUBLE PRECISION;
