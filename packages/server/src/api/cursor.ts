import { type EvaluationCursor, type ExecutionsPageKey, ZExecutionsPageKey } from "@reev/db";
import { z } from "zod";
import { badRequest } from "./api-error.js";

/**
 * Which list a cursor pages. Both keys are a (started_at, id) pair, so without it a cursor of one list
 * would page the other from an arbitrary row instead of being refused.
 */
type CursorList = "executions" | "evaluations";

/**
 * A page cursor: the list it pages and its last row's (started_at, id), as base64url JSON. Opaque to
 * clients; anything that does not decode to a page key of the list asked is a 400 naming `cursor`.
 */
const encodeKey = (list: CursorList, startedAt: Date, id: string): string =>
  Buffer.from(JSON.stringify([list, startedAt.toISOString(), id])).toString("base64url");

/** The key a cursor holds, read as the executions' page key: ZExecutionsPageKey checks both halves. */
const ZCursorKey = z
  .tuple([z.enum(["executions", "evaluations"]), z.unknown(), z.unknown()])
  .transform(([list, startedAt, executionId]) => ({ list, key: { startedAt, executionId } }))
  .pipe(z.object({ list: z.enum(["executions", "evaluations"]), key: ZExecutionsPageKey }));

export const encodeCursor = (key: ExecutionsPageKey): string => encodeKey("executions", key.startedAt, key.executionId);

function decodeKey(cursor: string, list: CursorList): ExecutionsPageKey {
  const invalid = () =>
    badRequest("The cursor is not one this API gave out: pass meta.nextCursor of the previous page unchanged.", "cursor");
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const decoded = ZCursorKey.safeParse(value);
  if (!decoded.success) throw invalid();
  if (decoded.data.list !== list)
    throw badRequest(`The cursor pages the ${decoded.data.list} list, not the ${list}: pass the nextCursor this list gave out.`, "cursor");
  return decoded.data.key;
}

export const decodeCursor = (cursor: string): ExecutionsPageKey => decodeKey(cursor, "executions");

export const encodeEvaluationCursor = (key: EvaluationCursor): string => encodeKey("evaluations", key.startedAt, key.id);

export function decodeEvaluationCursor(cursor: string): EvaluationCursor {
  const { startedAt, executionId: id } = decodeKey(cursor, "evaluations");
  return { startedAt, id };
}
