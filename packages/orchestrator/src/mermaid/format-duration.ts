/** Whole milliseconds as reev printed them (`4477ms`); durations are measured, never fractional in intent. */
export function formatMs(ms: number): string {
  return `${Math.round(ms)}ms`;
}
