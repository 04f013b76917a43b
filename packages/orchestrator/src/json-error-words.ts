import { errorMessage } from "./errors.js";

/**
 * JSON.parse's error with the line and column of its "at position N" (a character offset, which no
 * editor shows), so the reader can go to the mistake: "… at position 13 (line 3, column 3)".
 */
export function jsonErrorWords(error: unknown, text: string): string {
  const message = errorMessage(error);
  const match = /at position (\d+)/.exec(message);
  if (!match) return message;
  const before = text.slice(0, Number(match[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${message} (line ${line}, column ${column})`;
}
