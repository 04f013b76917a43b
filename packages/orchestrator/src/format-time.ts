/**
 * A time as every human-readable output prints it (the CLI, the HTML report, the viewer):
 * "2026-12-03 10:00:00", in UTC (a table's column header says so; in running text, `utcStamp` says
 * so). JSON keeps ISO 8601.
 */
export const utcTime = (date: Date) => date.toISOString().replace("T", " ").slice(0, 19);

/** A time in a sentence or a field, where no header says UTC: "2026-12-03 10:00:00 UTC". */
export const utcStamp = (date: Date) => `${utcTime(date)} UTC`;

/** A time a document stores as text (its consolidated_at), written as utcStamp does; as stored if it is no date. */
export function storedStamp(stored: string): string {
  const at = new Date(stored);
  return Number.isNaN(at.getTime()) ? stored : utcStamp(at);
}
