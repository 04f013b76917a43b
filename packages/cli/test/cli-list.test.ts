// `reev list` pages by --limit and --after (or --offset): a full page says whether more are stored, and where the next page starts.
import { PassThrough } from "node:stream";
import type { Database } from "@reev/db";
import { decodePageCursor } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
import { encodeCursor } from "@reev/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listCommand } from "../src/commands/list.js";
import type { CliIO } from "../src/context.js";

function captureIO(): CliIO & { out(): string } {
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  return { stdout: stdout as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream, out: () => out };
}

describe.each(testBackends())("reev list on $name", (backend) => {
  let db: Database;
  /** Runs list-more-i, each started i seconds into 2026 (so a higher i is newer). */
  const recordRuns = async (indices: readonly number[]) => {
    for (const i of indices)
      await db.writer.createExecutionSession({
        executionId: `list-more-${i}`,
        flowId: "f",
        agent: "a",
        prompt: "p",
        startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      });
  };
  beforeEach(async () => {
    db = await openTestDatabase(backend);
    await recordRuns([0, 1, 2]);
  });
  afterEach(async () => {
    await db?.close();
  });

  /** The rows a page shows, by id. */
  const ids = (out: string) => [...out.matchAll(/^(list-\S+)/gm)].map((m) => m[1]);
  /** The page the hint's copy shows: its --after decoded as the command line does. */
  const after = (cursor: string) => {
    const key = decodePageCursor(cursor)?.key;
    expect(key).toBeDefined();
    return { startedAt: key?.startedAt as Date, executionId: key?.id as string };
  };
  /** Two runs recorded while someone pages: newer than every row listed so far. */
  const recordTwoMore = () => recordRuns([3, 4]);

  it("a full page with more behind it says so and where the next starts, by key; the last page does not", async () => {
    const first = captureIO();
    expect(await listCommand(db, { limit: 2 }, { json: false }, first)).toBe(0);
    expect(ids(first.out())).toEqual(["list-more-2", "list-more-1"]);
    // The next page of the same list: its --limit (and --status) too, or the copy would page another list.
    const cursor = /^More executions are stored: reev list --limit 2 --after ([A-Za-z0-9_-]+) shows the next 2\.$/m.exec(first.out())?.[1];
    expect(cursor, first.out()).toBeDefined();
    // The API's cursor for the same row: one copied from either pages the other.
    expect(cursor).toBe(encodeCursor({ startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 1)), executionId: "list-more-1" }));
    await recordTwoMore();
    const last = captureIO();
    expect(await listCommand(db, { limit: 2, after: after(cursor as string) }, { json: false }, last)).toBe(0);
    // Neither repeated (list-more-1 again, as --offset 2 now shows) nor skipped.
    expect(ids(last.out())).toEqual(["list-more-0"]);
    expect(last.out()).not.toContain("More executions");
    const shifted = captureIO();
    await listCommand(db, { limit: 2, offset: 2 }, { json: false }, shifted);
    expect(ids(shifted.out())).toEqual(["list-more-2", "list-more-1"]);
  });

  it("--json carries the next page's cursor; paging by it never repeats a row while runs are recorded", async () => {
    const exact = captureIO();
    await listCommand(db, { limit: 3 }, { json: true }, exact);
    expect(JSON.parse(exact.out())).toMatchObject({ more: false, nextCursor: null });
    const page1 = captureIO();
    await listCommand(db, { limit: 1 }, { json: true }, page1);
    const first = JSON.parse(page1.out());
    expect(first).toMatchObject({ executions: [{ executionId: "list-more-2" }], more: true, nextCursor: expect.any(String) });
    await recordTwoMore();
    const seen: string[] = ["list-more-2"];
    let cursor: string | null = first.nextCursor;
    while (cursor) {
      const page = captureIO();
      await listCommand(db, { limit: 1, after: after(cursor) }, { json: true }, page);
      const json = JSON.parse(page.out());
      seen.push(...json.executions.map((e: { executionId: string }) => e.executionId));
      expect(json.more).toBe(json.nextCursor !== null);
      cursor = json.nextCursor;
    }
    expect(seen).toEqual(["list-more-2", "list-more-1", "list-more-0"]);
    // From an --offset page too, the next page is by key.
    const offset = captureIO();
    await listCommand(db, { limit: 1, offset: 1 }, { json: false }, offset);
    expect(ids(offset.out())).toEqual(["list-more-3"]);
    expect(offset.out()).toMatch(/^More executions are stored: reev list --limit 1 --after [A-Za-z0-9_-]+ shows the next 1\.$/m);
    const none = captureIO();
    await listCommand(db, { limit: 5, after: after(encodeCursor({ startedAt: new Date(0), executionId: "x" })) }, { json: false }, none);
    expect(none.out()).toMatch(/^No executions older than the --after cursor in /);
  });

  it("--flow lists one flow's runs, and its next page keeps the flow", async () => {
    await db.writer.createExecutionSession({ executionId: "list-other", flowId: "other flow", agent: "a", prompt: "p" });
    const other = captureIO();
    await listCommand(db, { flowId: "other flow", limit: 50 }, { json: true }, other);
    expect(JSON.parse(other.out()).executions.map((e: { executionId: string }) => e.executionId)).toEqual(["list-other"]);
    const paged = captureIO();
    await listCommand(db, { flowId: "f", limit: 2 }, { json: false }, paged);
    expect(paged.out()).not.toContain("list-other");
    expect(paged.out()).toMatch(/^More executions are stored: reev list --flow f --limit 2 --after [A-Za-z0-9_-]+ shows the next 2\.$/m);
    const none = captureIO();
    await listCommand(db, { flowId: "nope", limit: 50 }, { json: false }, none);
    expect(none.out()).toMatch(/^No executions of flow "nope" in /);
    // Paged past the end: where the end is.
    const past = captureIO();
    await listCommand(db, { limit: 50, offset: 1000 }, { json: false }, past);
    expect(past.out()).toMatch(/^No executions past the first 1000 in .*: only 4 are stored\.\n$/);
  });
});
