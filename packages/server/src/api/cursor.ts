import { type ExecutionsPageKey, ZExecutionsPageKey } from "@reev/db";
import { badRequest } from "./api-error.js";

/**
 * The page cursor: the last row's (started_at, execution_id), as base64url JSON. Opaque to clients;
 * anything that does not decode to a key is a 400 naming `cursor`.
 */
export const encodeCursor = (key: ExecutionsPageKey): string =>
  Buffer.from(JSON.stringify([key.startedAt.toISOString(), key.executionId])).toString("base64url");

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
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const parsed = ZExecutionsPageKey.safeParse({ startedAt: value[0], executionId: value[1] });
  if (!parsed.success) throw invalid();
  return parsed.data;
}
