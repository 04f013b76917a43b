// `pnpm db:migrate` / `pnpm db:status` on a PostgreSQL that cannot be used: the same words as `reev
// migrate` (what happened, what to do, the password masked), not the schema engine's bare kinds.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { maskUrl } from "../src/index.js";

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(PACKAGE, "..", "..");

/** Both commands, side by side: each start loads the schema engine (seconds). */
const bothCommands = (url: string) => Promise.all((["deploy", "status"] as const).map((command) => migrateCli(command, url)));

/** Runs the migrate CLI as the root scripts do, against REEV_DATABASE_URL; resolves with its exit code and output. */
async function migrateCli(command: "deploy" | "status", url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/migrate/cli.ts", command], {
      cwd: PACKAGE,
      env: { ...process.env, REEV_DATABASE_URL: url, INIT_CWD: ROOT },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** stderr without node-postgres's own SECURITY WARNING about sslmode (kept: see connect-failure.ts). */
const withoutDriverWarning = (stderr: string) =>
  stderr.replace(/^\(node:\d+\) Warning: SECURITY WARNING:[\s\S]*?to show where the warning was created\)\n/m, "");

describe("pnpm db:migrate and db:status on a PostgreSQL they cannot use", () => {
  test("a port with no server: which server, and what to do; exit 1; the password never shown", async () => {
    const url = "postgresql://postgres:s3cret@127.0.0.1:1/x";
    for (const r of await bothCommands(url)) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(
        "Cannot reach the PostgreSQL server at 127.0.0.1:1 (postgresql://postgres:***@127.0.0.1:1/x).\n" +
          "Start the server, or fix the host and port in REEV_DATABASE_URL.\n",
      );
      expect(r.stdout + r.stderr).not.toContain("s3cret");
    }
  });

  const server = process.env.REEV_TEST_DATABASE_URL;
  test.runIf(server)('a role that does not exist: the server\'s words for it, not "denied access"', async () => {
    const u = new URL(server!);
    u.username = "reev_no_such_role";
    u.password = "s3cret";
    for (const r of await bothCommands(u.toString())) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(
        `The PostgreSQL server refused the login: role "reev_no_such_role" does not exist (${u.toString().replace("s3cret", "***")}).\n` +
          "Check the user and password in REEV_DATABASE_URL.\n",
      );
    }
  });

  // The test server runs without SSL (as CI's and a fresh install's do).
  test.runIf(server)("sslmode=require against a server without SSL: it does not accept SSL, remove sslmode or enable it", async () => {
    const u = new URL(server!);
    u.searchParams.set("sslmode", "require");
    for (const r of await bothCommands(u.toString())) {
      expect(r.code, r.stderr).toBe(1);
      expect(withoutDriverWarning(r.stderr)).toBe(
        `The PostgreSQL server at ${u.hostname}:${u.port || "5432"} does not accept SSL connections, and REEV_DATABASE_URL asks for SSL with sslmode=require (${maskUrl(u.toString())}).\n` +
          "Remove sslmode from REEV_DATABASE_URL, or enable SSL on the server.\n",
      );
    }
  });
});
