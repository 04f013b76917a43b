import { type EvaluationCursor, type ExecutionsPageKey, ZExecutionsPageKey } from "@reev/db";
import { z } from "zod";
import { badRequest } from "./api-error.js";

/**
 * A page cursor: the last row's (started_at, id), as base64url JSON of the pair. Opaque to clients;
 * anything that does not decode to a page key is a 400 naming `cursor`.
 */
const encodePair = (startedAt: Date, id: string): string =>
  Buffer.from(JSON.stringify([startedAt.toISOString(), id])).toString("base64url");

/** The pair a cursor holds, read as the executions' page key: ZExecutionsPageKey checks both halves. */
const ZCursorPair = z
  .tuple([z.unknown(), z.unknown()])
  .transform(([startedAt, executionId]) => ({ startedAt, executionId }))
  .pipe(ZExecutionsPageKey);

export const encodeCursor = (key: ExecutionsPageKey): string => encodePair(key.startedAt, key.executionId);

export function decodeCursor(cursor: string): ExecutionsPageKey {
  const invalid = () =>
    badRequest("The cursor is not one this API gave out: pass meta.nextCursor of the previous page unchanged.", "cursor");
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const key = ZCursorPair.safeParse(value);
  if (!key.success) throw invalid();
  return key.data;
}

/** The evaluations' cursor: their key is a (started_at, id) pair too, so it is decoded the same one way. */
export const encodeEvaluationCursor = (key: EvaluationCursor): string => encodePair(key.startedAt, key.id);

export function decodeEvaluationCursor(cursor: string): EvaluationCursor {
  const { startedAt, executionId: id } = decodeCursor(cursor);
  return { startedAt, id };
}
