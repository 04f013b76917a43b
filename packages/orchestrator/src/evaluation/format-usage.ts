// How tokens and cost read in every evaluation view (the terminal table, the HTML report, the viewer),
// so they never disagree. What is unknown reads "—", never 0.

/** A token count with thousands separators ("12,345"); "—" when unknown. */
export const formatTokens = (n: number | null | undefined): string => (n == null ? "—" : n.toLocaleString("en-US"));

/** A mean per run, to one decimal ("1,234.5"): a comparison's per-run tokens are rarely whole. */
export const formatPerRunTokens = (n: number | null | undefined): string =>
  n == null ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: 1 });

/**
 * US dollars: four decimals ("$0.0053"), so cents of a run stay visible; below $0.0001 two significant
 * digits ("$0.000042"), so a cheap run does not read as free. "—" when unknown.
 */
export function formatUsd(v: number | null | undefined): string {
  if (v == null) return "—";
  const size = Math.abs(v);
  const digits = size !== 0 && size < 0.0001 ? Math.min(20, 1 - Math.floor(Math.log10(size))) : 4;
  return `${v < 0 ? "-" : ""}$${size.toFixed(digits)}`;
}

/** Input / output / cached input tokens, as the tables show them: "1,200 / 300 / 200". */
export const formatTokenTriple = (usage: {
  inputTokens: { total: number | null };
  outputTokens: { total: number | null };
  cachedInputTokens?: { total: number | null } | undefined;
}): string =>
  `${formatTokens(usage.inputTokens.total)} / ${formatTokens(usage.outputTokens.total)} / ${formatTokens(usage.cachedInputTokens?.total)}`;

/** How many runs a score summary is over ("3/5 scored"): the mean leaves out runs whose steps reported no score. */
export const scoredRuns = (score: { count: number; missing: number }): string => `${score.count}/${score.count + score.missing} scored`;

/**
 * A difference with its sign: "+0.25", "-0.25", "—" when unknown. A difference that formats as zero
 * reads "±0.00" whatever its float noise (1.1e-16 is no change). `minus` is "-" in the terminal and
 * "−" (U+2212, as wide as "+") in HTML.
 */
export function formatSigned(v: number | null, format: (n: number) => string, minus = "-"): string {
  if (v == null) return "—";
  const size = format(Math.abs(v));
  if (size === format(0)) return `±${size}`;
  return `${v > 0 ? "+" : minus}${size}`;
}
