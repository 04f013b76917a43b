/**
 * A reference for the CLI scenario (§1.5): a bare PGlite on `dir`, with reev's engine settings, in a fresh process — the floor
 * under reev's cold start on the embedded database. Prints the in-process open time (ms) on stdout.
 *
 *   node pglite-open-probe.js <directory>
 */
import { newPGlite } from "@reev/db/embedded-pglite";
import { msSince, now } from "./stats.js";

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: pglite-open-probe.js <directory>");
  const start = now();
  const db = newPGlite({ dataDir: dir });
  await db.waitReady;
  const ms = msSince(start);
  await db.close();
  process.stdout.write(`${JSON.stringify({ openMs: ms })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`pglite-open-probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
