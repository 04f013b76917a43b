import { truncateText } from "./truncate-text.js";

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Inputs normally come from JSON, but a caller may hand over a live object with cycles.
    return String(value);
  }
}

/**
 * A one-line gist of a tool call's input for the step note (`amount = 0.5, mint = SOL…`):
 * top-level keys in their given order, nested values as compact JSON. Null when there is no input.
 */
export function summarizeInput(input: unknown, maxLength: number): string | null {
  if (input === null || input === undefined) return null;
  let summary: string;
  if (typeof input === "object" && !Array.isArray(input)) {
    const entries = Object.entries(input as Record<string, unknown>);
    if (entries.length === 0) return null;
    summary = entries.map(([key, value]) => `${key} = ${scalar(value)}`).join(", ");
  } else {
    summary = scalar(input);
  }
  return truncateText(summary, maxLength);
}
