const ELLIPSIS = "…";

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** Lone surrogates (legal in JSON strings) become U+FFFD so the output is always well-formed UTF-16. */
export function toWellFormed(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += code >= 0xd800 && code <= 0xdfff ? "\uFFFD" : char;
  }
  return out;
}

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
  const clean = toWellFormed(text);
  const parts = graphemes(clean);
  if (parts.length <= max) return clean;
  return parts.slice(0, max - 1).join("").trimEnd() + ELLIPSIS;
}
