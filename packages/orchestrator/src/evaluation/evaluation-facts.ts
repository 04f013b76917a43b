import type { EvaluationRunRecord } from "@reev/db";
import { utcStamp } from "../format-time.js";

/** What a page says of an evaluation under its title, the same in `reev eval`'s HTML report and the viewer. */
export const evaluationFacts = (e: EvaluationRunRecord): string[] => [
  e.id,
  `agent ${e.agent}${e.model ? ` (${e.model})` : ""}`,
  e.status,
  `started ${utcStamp(e.startedAt)}`,
];
