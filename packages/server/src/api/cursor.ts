import { type EvaluationCursor, type ExecutionsPageKey, ZExecutionsPageKey, ZId } from "@reev/db";
import { z } from "zod";
import { badRequest } from "./api-error.js";

/**
 * A page cursor: the last row's (started_at, id), as base64url JSON. Opaque to clients; anything
 * that does not decode to a key is a 400 naming `cursor`.
 */
const encodePair = (startedAt: Date, id: string): string =>
  Buffer.from(JSON.stringify([startedAt.toISOString(), id])).toString("base64url");

function decodePair<T>(cursor: string, toKey: (startedAt: unknown, id: unknown) => T | undefined): T {
  const invalid = () =>
    badRequest("The cursor is not one this API gave out: pass meta.nextCursor of the previous page unchanged.", "cursor");
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const key = toKey(value[0], value[1]);
  if (key === undefined) throw invalid();
  return key;
}

export const encodeCursor = (key: ExecutionsPageKey): string => encodePair(key.startedAt, key.executionId);

export const decodeCursor = (cursor: string): ExecutionsPageKey =>
  decodePair(cursor, (startedAt, executionId) => {
    const parsed = ZExecutionsPageKey.safeParse({ startedAt, executionId });
    return parsed.success ? parsed.data : undefined;
  });

const ZEvaluationCursor = z.object({ startedAt: z.iso.datetime().transform((s) => new Date(s)), id: ZId });

/** The evaluations' cursor, the same shape as the executions' (their keys are (started_at, id) too). */
export const encodeEvaluationCursor = (key: EvaluationCursor): string => encodePair(key.startedAt, key.id);

export const decodeEvaluationCursor = (cursor: string): EvaluationCursor =>
  decodePair(cursor, (startedAt, id) => {
    const parsed = ZEvaluationCursor.safeParse({ startedAt, id });
    return parsed.success ? parsed.data : undefined;
  });
