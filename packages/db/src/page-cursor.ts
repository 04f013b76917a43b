import { z } from "zod";
import { ZId, ZTimestamp } from "./schemas.js";

/**
 * A page cursor as the API (`meta.nextCursor`) and the CLI (`--after`) give it out: the list it pages
 * and that list's last row's (started_at, id), as base64url JSON. Opaque to its users, so one copied
 * from either pages the same list in the other. Executions and evaluations are keyed alike: the list
 * it names is what keeps one list's cursor from paging the other from an arbitrary row.
 */
export type PageCursorKey = { startedAt: Date; id: string };

export const PAGED_LISTS = ["executions", "evaluations"] as const;
export type PagedList = (typeof PAGED_LISTS)[number];

const ZCursor = z.tuple([z.enum(PAGED_LISTS), ZTimestamp, ZId]).transform(([list, startedAt, id]) => ({ list, key: { startedAt, id } }));

export const encodePageCursor = (list: PagedList, { startedAt, id }: PageCursorKey): string =>
  Buffer.from(JSON.stringify([list, startedAt.toISOString(), id])).toString("base64url");

/** The list a cursor pages and its key, or null when the text is not one encodePageCursor gave out. */
export function decodePageCursor(cursor: string): { list: PagedList; key: PageCursorKey } | null {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const decoded = ZCursor.safeParse(value);
  return decoded.success ? decoded.data : null;
}
