import { z } from "zod";
import { ZId, ZTimestamp } from "./schemas.js";

/**
 * A page cursor as the API (`meta.nextCursor`) and the CLI (`--after`) give it out: a list's last row's
 * (started_at, id), as base64url JSON of the pair. Opaque to its users, so one they copy from either
 * pages the same list in the other; executions and evaluations are keyed alike.
 */
export type PageCursorKey = { startedAt: Date; id: string };

const ZCursorPair = z.tuple([ZTimestamp, ZId]).transform(([startedAt, id]) => ({ startedAt, id }));

export const encodePageCursor = ({ startedAt, id }: PageCursorKey): string =>
  Buffer.from(JSON.stringify([startedAt.toISOString(), id])).toString("base64url");

/** The key a cursor holds, or null when the text is not one encodePageCursor gave out. */
export function decodePageCursor(cursor: string): PageCursorKey | null {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const key = ZCursorPair.safeParse(value);
  return key.success ? key.data : null;
}
