const ELLIPSIS = "…";

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** User-perceived characters: an emoji with skin tone or a ZWJ family counts as one. */
export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (segment) => segment.segment);
}

/**
 * Shortens to at most `max` graphemes, the ellipsis included. Cutting on grapheme boundaries
 * never splits a surrogate pair or an emoji sequence (reev sliced bytes and panicked on non-ASCII).
 */
export function truncateText(text: string, max: number): string {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
  // Lone surrogates (legal in JSON strings) become U+FFFD: the output is always well-formed UTF-16.
  const clean = text.toWellFormed();
  // Only the first max + 1 graphemes are looked at: segmenting a whole 700 KB line (a step's 50,000
  // tool names) took seconds each time, and a diagram truncates it several times.
  const kept: string[] = [];
  for (const { segment } of segmenter.segment(clean)) {
    if (kept.length === max)
      return (
        kept
          .slice(0, max - 1)
          .join("")
          .trimEnd() + ELLIPSIS
      );
    kept.push(segment);
  }
  return clean;
}
