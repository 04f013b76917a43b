// The embedded database's directory lock under contention: processes racing for locks left by a
// crashed owner must end with exactly one winner per lock. Two earlier takeovers let two win: an
// unlink-and-retry, and a rename-aside that could move a winner's fresh lock away and fail to put it
// back once a third process had linked its own.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDirectoryLock } from "../src/directory-lock.js";

const CHILD = fileURLToPath(new URL("./fixtures/lock-child.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

type Contender = { results: Promise<string[]>; start(): void; finish(): Promise<void> };

/** A child process that, once started, tries the locks of `<base>0` … `<base><count-1>` in turn. */
function contender(base: string, count: number, contenders: number, me: number): Promise<Contender> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, base, String(count), String(contenders), String(me)], {
    cwd: PACKAGE_DIR,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  return new Promise((resolve) => {
    let answered: (lines: string[]) => void = () => {};
    const results = new Promise<string[]>((r) => (answered = r));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.endsWith("DONE\n")) answered(out.split("\n").slice(1, -2));
      if (out.startsWith("READY\n")) {
        resolve({
          results,
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

  it("processes racing for stale locks: exactly one wins each, the others are told who holds it", async () => {
    const locks = 200;
    const base = join(dir, "db");
    for (let i = 0; i < locks; i++) writeFileSync(`${base}${i}.lock`, "999999999\n2020-01-01T00:00:00.000Z\n"); // a crashed owner's lock
    const contenders = await Promise.all([0, 1, 2, 3].map((me, _, all) => contender(base, locks, all.length, me)));
    for (const c of contenders) c.start();
    const results = await Promise.all(contenders.map((c) => c.results));
    for (let i = 0; i < locks; i++) {
      const answers = results.map((lines) => lines[i]?.replace(/^\d+ /, ""));
      expect(
        answers.filter((a) => a === "GOT"),
        `lock ${i}:\n${answers.join("\n")}`,
      ).toHaveLength(1);
      for (const a of answers.filter((x) => x !== "GOT")) expect(a).toMatch(/^NO .*in use by process \d+/);
    }
    await Promise.all(contenders.map((c) => c.finish()));
    // The winners released theirs on exit, and no temporary or takeover files are left behind.
    expect(readdirSync(dir).filter((f) => !f.includes(".ready."))).toEqual([]);
    expect(existsSync(`${base}0.lock`)).toBe(false);
  });

  it("a takeover left half-done by a process that ended is reported with the file to delete, and nothing is removed", () => {
    const dataDir = join(dir, "crashed-breaker");
    const stale = "999999999\n2020-01-01T00:00:00.000Z\n";
    writeFileSync(`${dataDir}.lock`, stale);
    writeFileSync(`${dataDir}.lock.break`, "999999998\n2020-01-01T00:00:00.000Z\n");
    expect(() => acquireDirectoryLock(dataDir)).toThrow(
      `left ${dataDir}.lock.break. If no reev process is using ${dataDir}, delete that file and try again.`,
    );
    expect(readFileSync(`${dataDir}.lock`, "utf8")).toBe(stale);
    rmSync(`${dataDir}.lock.break`);
    const release = acquireDirectoryLock(dataDir);
    expect(readFileSync(`${dataDir}.lock`, "utf8")).toMatch(new RegExp(`^${process.pid}\n`));
    release();
    expect(readdirSync(dir).filter((f) => f.startsWith("crashed-breaker"))).toEqual([]);
  });

  it("a lock whose owner is a zombie (killed, never reaped) is taken over: the zombie holds nothing", async () => {
    // sh starts a short sleep in the background and becomes a long one, which never reaps it: once the
    // short one ends it stays a zombie. (A child that ended before the exec could be reaped by sh.)
    const parent = spawn("sh", ["-c", "sleep 1 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const [line] = (await once(parent.stdout.setEncoding("utf8"), "data")) as [string];
      const zombie = Number(line.trim());
      await expect.poll(() => readFileSync(`/proc/${zombie}/stat`, "utf8").split(") ")[1]?.[0], { timeout: 15_000 }).toBe("Z");
      const dataDir = join(dir, "zombie-owner");
      writeFileSync(`${dataDir}.lock`, `${zombie}\n2020-01-01T00:00:00.000Z\n`);
      const release = acquireDirectoryLock(dataDir);
      expect(readFileSync(`${dataDir}.lock`, "utf8")).toMatch(new RegExp(`^${process.pid}\n`));
      release();
    } finally {
      parent.kill();
    }
  });

  it("a takeover another live process holds is waited for, and named if it does not end", () => {
    const dataDir = join(dir, "held-breaker");
    const sleeper = spawn("sleep", ["30"]);
    try {
      writeFileSync(`${dataDir}.lock`, "999999999\n2020-01-01T00:00:00.000Z\n");
      writeFileSync(`${dataDir}.lock.break`, `${sleeper.pid}\n`);
      expect(() => acquireDirectoryLock(dataDir)).toThrow(`process ${sleeper.pid} has been taking over its lock for 2 s. Try again.`);
      expect(existsSync(`${dataDir}.lock`)).toBe(true);
    } finally {
      sleeper.kill();
    }
  });
});
