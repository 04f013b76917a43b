/**
 * Ctrl-C (SIGTERM) while `reev serve` starts: after its database is open, before it listens. A real
 * child process and a real signal; module hooks hold the loading of the server's modules (after the
 * "Database:" line) until the test has seen the signal's notice, so the signal lands there by a
 * condition, not by a guess of time. The start-up stops: the database is closed, nothing is served.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPostgresDatabase } from "@reev/db/testing";
import { describe, expect, it } from "vitest";
import { startCli } from "./support/live-cli.js";
import { assertBuilt, cliEnv, makeTempDir, runCli, show } from "./support/run-cli.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-module.mjs", import.meta.url));

/** The default embedded database (in the working directory), and PostgreSQL when REEV_TEST_DATABASE_URL is set. */
const backends: { name: string; database(cwd: string): Promise<{ args: string[]; description: string; drop(): Promise<void> }> }[] = [
  {
    name: "the embedded database",
    database: async (cwd) => ({
      args: [],
      description: `embedded PGlite at ${join(cwd, ".reev", "db")} (new: created now)`,
      drop: async () => {},
    }),
  },
  ...(process.env.REEV_TEST_DATABASE_URL
    ? [
        {
          name: "PostgreSQL",
          database: async () => {
            const db = await createPostgresDatabase(process.env.REEV_TEST_DATABASE_URL as string, { migrated: true });
            return { args: ["--db", db.url], description: "", drop: db.drop };
          },
        },
      ]
    : []),
];

describe.each(backends)("Ctrl-C while reev serve starts, on $name", (backend) => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} after the database is open: says nothing was served, closes the database, exits ${code}`, async () => {
      assertBuilt();
      const cwd = makeTempDir("reev-serve-interrupt-");
      const database = await backend.database(cwd.dir);
      try {
        const serve = startCli(["serve", "--port", "0", ...database.args], {
          cwd: cwd.dir,
          env: cliEnv({ REEV_TEST_HOLD_MODULE: "/packages/server/dist/index\\.js$" }),
          preload: HOLD,
          stdin: true,
        });
        // Each rejects if the process ends first (as it did by Node's default, silently).
        const [, databaseLine] = await Promise.all([serve.waitForLine(/^HOLDING /), serve.waitForLine(/^Database: /)]);
        serve.child.kill(signal);
        const notice = `Interrupted (${signal}) while reev serve was starting: nothing was served.`;
        await serve.waitForLine(/^Interrupted /);
        // Only now may the start-up go on: it must see the signal and stop.
        serve.child.stdin?.write("release\n");
        const result = await serve.done;
        expect({
          code: result.code,
          signal: result.signal,
          stdout: result.stdout,
          stderr: result.stderr.split("\n").filter((line) => !line.startsWith("HOLDING ")),
        }).toEqual({ code, signal: null, stdout: "", stderr: [databaseLine, notice, ""] });
        if (database.description) expect(databaseLine).toBe(`Database: ${database.description}`);
        // Released: another command opens it (an embedded database held open would refuse it).
        const list = await runCli(["list", ...database.args], { cwd: cwd.dir });
        expect(list.code, show(list)).toBe(0);
      } finally {
        await database.drop();
        cwd.remove();
      }
    });
  }
});
