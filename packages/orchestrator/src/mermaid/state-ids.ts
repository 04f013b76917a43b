const MAX_NAME_LENGTH = 32;

/** Mermaid ids may only be [A-Za-z0-9_]; everything else (dashes, dots, CJK, emoji) becomes `_`. */
export function sanitizeIdPart(raw: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, MAX_NAME_LENGTH)
    .replace(/_+$/g, "");
  return cleaned === "" ? "x" : cleaned;
}

/**
 * Hands out unique ids. Sanitising is lossy (`jupiter-swap` and `jupiter_swap` both become
 * `jupiter_swap`), so every id is claimed here and a clash gets a numeric suffix instead of
 * silently merging two states. Compared case-insensitively so ids also stay distinct in the
 * SVG's DOM ids and in case-insensitive file systems.
 */
export class StateIdRegistry {
  private readonly taken = new Set<string>();

  claim(...parts: string[]): string {
    const base = parts.map(sanitizeIdPart).join("_");
    let candidate = base;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = `${base}_${n}`;
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
