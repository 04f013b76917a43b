const startedAt = Date.now();

/** Progress on stderr (stdout is the result table), with the seconds since the bench started. */
export function progress(text: string): void {
  process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
}
