import { decodePageCursor, type EvaluationCursor, type ExecutionsPageKey, encodePageCursor, type PagedList } from "@reev/db";
import { badRequest } from "./api-error.js";

// A page cursor is the list it pages and its last row's (started_at, id) (encodePageCursor), the very
// text `reev list --after` and `reev evaluations --after` take. Anything else is a 400 naming `cursor`.

export const encodeCursor = (key: ExecutionsPageKey): string =>
  encodePageCursor("executions", { startedAt: key.startedAt, id: key.executionId });

function decodeKey(cursor: string, list: PagedList) {
  const decoded = decodePageCursor(cursor);
  if (!decoded) throw badRequest("The cursor is not one this API gave out: pass meta.nextCursor of the previous page unchanged.", "cursor");
  if (decoded.list !== list)
    throw badRequest(`The cursor pages the ${decoded.list} list, not the ${list}: pass the nextCursor this list gave out.`, "cursor");
  return decoded.key;
}

export function decodeCursor(cursor: string): ExecutionsPageKey {
  const { startedAt, id } = decodeKey(cursor, "executions");
  return { startedAt, executionId: id };
}

export const encodeEvaluationCursor = (key: EvaluationCursor): string => encodePageCursor("evaluations", key);

export const decodeEvaluationCursor = (cursor: string): EvaluationCursor => decodeKey(cursor, "evaluations");
