import { createHash } from "node:crypto";
import { MAX_ID_LENGTH } from "@reev/db";

/**
 * `base + suffix`, kept within the database's 255-character ids: a base too long for its suffix is
 * shortened and tagged with its hash, so distinct bases stay distinct.
 */
export function fitId(base: string, suffix: string): string {
  if (base.length + suffix.length <= MAX_ID_LENGTH) return `${base}${suffix}`;
  const hash = createHash("sha256").update(base).digest("hex").slice(0, 12);
  return `${base.slice(0, MAX_ID_LENGTH - suffix.length - hash.length - 1)}_${hash}${suffix}`;
}
