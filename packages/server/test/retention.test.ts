// `reev serve --retention`: the server purges old finished runs when it starts listening and again
// every interval, logs each purge, and stops between batches when it closes (nothing logged after).
import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";

const DAY_MS = 86_400_000;

/** A finished run of `flowId` that ended `ageMs` ago, with one step. */
async function finishedRun(db: Database, executionId: string, ageMs: number): Promise<void> {
  const finishedAt = new Date(Date.now() - ageMs);
  await db.writer.createExecutionSession({
    executionId,
    flowId: "retention",
    agent: "scripted",
    prompt: "p",
    startedAt: new Date(finishedAt.getTime() - 1_000),
  });
  await db.writer.storeStep(executionId, { stepIndex: 0, status: "success", toolCalls: [{ toolName: "t", success: true }] });
  await db.writer.finishExecutionSession(executionId, { status: "completed", finishedAt });
}

/** Log lines as they come, and a way to wait for the next one that matches. */
function logLines() {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; from: number; resolve: (line: string) => void }[] = [];
  return {
    lines,
    log: (line: string) => {
      lines.push(line);
      for (const w of waiters.filter((w) => w.pattern.test(line) && lines.length > w.from)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    },
    /** The first matching line logged after the `from`-th. */
    next: (pattern: RegExp, from: number) =>
      new Promise<string>((resolve) => {
        const seen = lines.slice(from).find((l) => pattern.test(l));
        if (seen !== undefined) resolve(seen);
        else waiters.push({ pattern, from, resolve });
      }),
  };
}

describe.each(testBackends())("retention in the server on $name", (backend) => {
  test.override({ backend });

  test("purges at start and every interval, logs what went, and stops with the server", async ({ db }) => {
    await finishedRun(db, "retention-old-1", 3 * DAY_MS);
    await finishedRun(db, "retention-old-2", 2 * DAY_MS);
    await finishedRun(db, "retention-new", 0);
    const logged = logLines();
    const server = createServer({ db, log: logged.log, retention: { olderThanMs: DAY_MS, intervalMs: 20 } });
    await server.listen({ port: 0 });
    try {
      expect(await logged.next(/^retention: purged/, 0)).toMatch(
        /^retention: purged 2 runs that finished before \S+ \(2 steps, 0 attempts, 2 tool calls, 0 consolidated sessions; 1 batch\)$/,
      );
      expect(await db.writer.getExecutionSession("retention-old-1")).toBeNull();
      expect(await db.writer.getExecutionSession("retention-new")).not.toBeNull();
      // Periodically: a run that grows old meanwhile goes at a later purge.
      const seen = logged.lines.length;
      await finishedRun(db, "retention-old-3", 5 * DAY_MS);
      expect(await logged.next(/^retention: purged 1 run /, seen)).toMatch(
        /\(1 step, 0 attempts, 1 tool call, 0 consolidated sessions; 1 batch\)$/,
      );
      expect(await db.writer.getExecutionSession("retention-old-3")).toBeNull();
    } finally {
      await server.close();
    }
    expect(await db.writer.getExecutionSession("retention-new")).not.toBeNull();
  });
});
