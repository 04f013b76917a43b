// `--after <cursor>` of reev list and reev evaluations: the next page by key, as the API and the viewer
// page, so a page copied from a hint never repeats or skips a row however many runs are recorded meanwhile.
import { decodePageCursor, type PageCursorKey } from "@reev/db";
import { Option } from "commander";
import { invalidArgument } from "./cli-error.js";

/** The --after option; `what` names the rows ("executions"). A new Option per command: commander keeps state on it. */
export const afterOption = (what: string) =>
  new Option(
    "--after <cursor>",
    `the next page: only ${what} older than this cursor, which the previous page's hint (or its --json nextCursor) gives; never repeats or skips a row`,
  ).argParser(pageCursor);

function pageCursor(value: string): PageCursorKey {
  const key = decodePageCursor(value);
  if (key) return key;
  throw invalidArgument(
    `--after must be a cursor reev gave out, got "${value}".`,
    "--after",
    "Copy the whole command the previous page suggests, or pass its --json nextCursor unchanged.",
  );
}
