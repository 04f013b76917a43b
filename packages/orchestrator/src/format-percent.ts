/**
 * A percentage (0–100) to one decimal, as every view shows rates. One that is not exactly 100 or 0
 * never reads as if it were: 2,999 of 3,000 steps is ">99.9%", not "100.0%" beside "1 failed"
 * (toFixed rounds 99.97 up), and 1 of 3,000 is "<0.1%", not "0.0%". Null (no data) is "—".
 */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const shown = value.toFixed(1);
  if (shown === "100.0" && value < 100) return ">99.9%";
  if (shown === "0.0" && value > 0) return "<0.1%";
  return `${shown}%`;
}
