// The embedded database's directory lock under contention: processes racing for a lock left by a
// crashed owner must end with exactly one winner (an unlink-and-retry takeover let several win).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHILD = fileURLToPath(new URL("./fixtures/lock-child.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

type Contender = { result: Promise<string>; start(): void; finish(): Promise<void> };

function contender(dataDir: string): Promise<Contender> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dataDir], { cwd: PACKAGE_DIR, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  return new Promise((resolve) => {
    let answered: (line: string) => void = () => {};
    const result = new Promise<string>((r) => (answered = r));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const answer = out.split("\n").find((l) => l.startsWith("GOT") || l.startsWith("NO"));
      if (answer) answered(answer);
      if (out.startsWith("READY\n")) {
        resolve({
          result,
          start: () => child.stdin.write("go\n"),
          finish: async () => {
            child.stdin.end();
            await exited;
          },
        });
      }
    });
  });
}

describe("directory lock", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "reev-lock-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("four processes racing for a stale lock: exactly one wins, the others are told who holds it", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const dataDir = join(dir, `db${trial}`);
      writeFileSync(`${dataDir}.lock`, "999999999\n2020-01-01T00:00:00.000Z\n"); // a crashed owner's lock
      const contenders = await Promise.all([1, 2, 3, 4].map(() => contender(dataDir)));
      for (const c of contenders) c.start();
      const results = await Promise.all(contenders.map((c) => c.result));
      expect(
        results.filter((r) => r === "GOT"),
        results.join("\n"),
      ).toHaveLength(1);
      for (const r of results.filter((x) => x !== "GOT")) expect(r).toMatch(/^NO .*in use by process \d+/);
      await Promise.all(contenders.map((c) => c.finish()));
      // The winner released it on exit, and no temporary lock files are left behind.
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith(`db${trial}.lock`))).toEqual([]);
    }
  });
});
