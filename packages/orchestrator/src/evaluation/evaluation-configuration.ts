import { z } from "zod";
import { ZPriceTable } from "./price-table.js";

/**
 * Which `expect` verdicts a run of a flow must carry to pass: the flow's own, and those of the steps
 * (by stepId) that have an `expect` block. Kept in the evaluation's configuration, so the report can
 * be rebuilt from the database alone; a verdict that should be there and is not fails the run.
 */
const ZFlowExpectations = z.object({ flowId: z.string().min(1), flow: z.boolean(), steps: z.array(z.string()) });
export type FlowExpectations = z.infer<typeof ZFlowExpectations>;

/**
 * What `reev eval` was asked, as it stores it in the evaluation's configuration: the one description
 * that eval writes and every reader (reev compare --prices, the viewer) parses. A reader picks the
 * fields it needs (`ZEvaluationConfiguration.pick`), so an evaluation recorded by other means, or
 * before a field existed, is read for what it does hold.
 */
export const ZEvaluationConfiguration = z.object({
  /** The flow files, resolved. */
  files: z.array(z.string()),
  flows: z.array(ZFlowExpectations),
  /** Runs per flow: the k of pass@k and pass^k. */
  repeat: z.int().min(1),
  concurrency: z.int().min(1),
  agent: z.string().min(1),
  model: z.string().nullable(),
  minPassRate: z.number().min(0).max(1).nullable(),
  /** The evaluation it was compared with when it finished. */
  baseline: z.string().nullable(),
  /** Kept so the costs in the summary can be traced to the prices they were computed with. */
  prices: ZPriceTable.nullable(),
});
export type EvaluationConfiguration = z.infer<typeof ZEvaluationConfiguration>;
