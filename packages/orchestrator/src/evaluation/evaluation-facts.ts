import { type EvaluationRunRecord, markedStatus, type RunMark, runMark } from "@reev/db";
import { utcStamp } from "../format-time.js";

/**
 * What a page says of an evaluation under its title, the same in `reev eval`'s HTML report and the
 * viewer; its status marked as the lists mark it ("running (abandoned)"). `mark`: its `runMark`, if judged already.
 */
export const evaluationFacts = (e: EvaluationRunRecord, mark: RunMark = runMark(e)): string[] => [
  e.id,
  `agent ${e.agent}${e.model ? ` (${e.model})` : ""}`,
  markedStatus(e, mark),
  `started ${utcStamp(e.startedAt)}`,
];
