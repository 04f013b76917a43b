// `--after <cursor>` of reev list and reev evaluations: the next page by key, as the API and the viewer
// page, so a page copied from a hint never repeats or skips a row however many runs are recorded meanwhile.
import { decodePageCursor, type PageCursorKey, type PagedList } from "@reev/db";
import { Option } from "commander";
import { invalidArgument } from "./cli-error.js";

/** The command that lists each kind of row, for words about a cursor of the other. */
const COMMAND_OF: Record<PagedList, string> = { executions: "reev list", evaluations: "reev evaluations" };

/** The --after option of the command listing `list`. A new Option per command: commander keeps state on it. */
export const afterOption = (list: PagedList) =>
  new Option(
    "--after <cursor>",
    `the next page: only ${list} older than this cursor, which the previous page's hint (or its --json nextCursor) gives; never repeats or skips a row`,
  ).argParser((value) => pageCursor(value, list));

function pageCursor(value: string, list: PagedList): PageCursorKey {
  const decoded = decodePageCursor(value);
  if (decoded?.list === list) return decoded.key;
  const other = decoded ? ` It is a cursor of ${COMMAND_OF[decoded.list]}, not of ${COMMAND_OF[list]}.` : "";
  throw invalidArgument(
    `--after must be a cursor ${COMMAND_OF[list]} gave out, got "${value}".${other}`,
    "--after",
    "Copy the whole command the previous page suggests, or pass its --json nextCursor unchanged.",
  );
}
