/**
 * How reev prints a duration everywhere — the terminal, the diagram and the HTML report — so one step
 * shows one number: `850ms` under a second, `4.48s` under a minute, `1m05s` beyond. A duration that was
 * not measured (null) is "—", never a guessed 0.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  // Each unit is chosen after rounding, so 999.6 ms reads 1.00s and 59.996 s reads 1m00s, never 1000ms or 60.00s.
  const wholeMs = Math.round(ms);
  if (Math.abs(wholeMs) < 1000) return `${wholeMs}ms`;
  const hundredths = Math.round(ms / 10);
  if (Math.abs(hundredths) < 6000) return `${(hundredths / 100).toFixed(2)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.trunc(seconds / 60)}m${String(Math.abs(seconds % 60)).padStart(2, "0")}s`;
}
