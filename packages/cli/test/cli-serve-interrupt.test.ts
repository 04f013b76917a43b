/**
 * Ctrl-C (SIGTERM) while `reev serve` starts: after its database is open, before it listens. A real
 * child process and a real signal; module hooks hold the loading of the server's modules (after the
 * "Database:" line) until the test has seen the signal's notice, so the signal lands there by a
 * condition, not by a guess of time. The start-up stops: the database is closed, nothing is served.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createPostgresDatabase } from "@reev/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, CLI_COMMAND, cliEnv, makeTempDir, runCli, show } from "./support/run-cli.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-module.mjs", import.meta.url));

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  assertBuilt();
  temp = makeTempDir("reev-cli-serve-interrupt-");
});
afterAll(() => temp?.remove());

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
      const cwd = makeTempDir("reev-serve-interrupt-");
      const database = await backend.database(cwd.dir);
      try {
        const child = spawn(process.execPath, [`--import=${HOLD}`, ...CLI_COMMAND, "serve", "--port", "0", ...database.args], {
          cwd: cwd.dir,
          env: cliEnv({ REEV_TEST_HOLD_MODULE: "/packages/server/dist/index\\.js$" }),
          stdio: ["pipe", "pipe", "pipe"],
        });
        // A safety net only: a process that serves on, or does not end, fails the test instead of hanging it.
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        let stdout = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on("close", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal })),
        );
        const lines: string[] = [];
        // A line seen, or the process ended without it (as it did by Node's default, silently).
        const seen = (test: (line: string) => boolean) =>
          new Promise<void>((resolve, reject) => {
            const check = () => lines.some(test) && resolve();
            check();
            createInterface({ input: child.stderr }).on("line", check);
            child.on("close", (exitCode, exitSignal) =>
              reject(new Error(`reev serve ended (${exitCode ?? exitSignal}) first; stderr:\n${lines.join("\n")}`)),
            );
          });
        createInterface({ input: child.stderr }).on("line", (line) => lines.push(line));
        await Promise.all([seen((line) => line.startsWith("HOLDING ")), seen((line) => line.startsWith("Database: "))]);
        child.kill(signal);
        const notice = `Interrupted (${signal}) while reev serve was starting: nothing was served.`;
        await seen((line) => line === notice);
        // Only now may the start-up go on: it must see the signal and stop.
        child.stdin.write("release\n");
        const result = await ended;
        clearTimeout(timer);
        const databaseLine = lines.find((line) => line.startsWith("Database: "));
        expect({ ...result, stdout, stderr: lines.filter((line) => !line.startsWith("HOLDING ")) }).toEqual({
          code,
          signal: null,
          stdout: "",
          stderr: [databaseLine, notice],
        });
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
