/**
 * JSON with object keys sorted at every level. jsonb keeps keys in its own order, not the caller's:
 * comparing or hashing JSON that way makes a value read back from the database equal to the one given.
 */
export function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
