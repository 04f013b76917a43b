import { ZFlowPlan } from "@reev/orchestrator";
import { z } from "zod";

/**
 * The JSON Schema of a flow file, generated from the zod schema that validates flow files, so the two
 * cannot disagree. It describes the file as written (`io: "input"`: fields with defaults are optional)
 * and targets draft-07, which editors' YAML and JSON language servers support. Refinements a JSON
 * Schema cannot express (unique stepIds, maxBackoffMs ≥ backoffMs, text PostgreSQL can store) are
 * left to `reev run`, which checks the file against the zod schema itself.
 */
export function flowFileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ZFlowPlan, { target: "draft-7", io: "input" });
}
