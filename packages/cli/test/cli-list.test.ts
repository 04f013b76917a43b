// `reev list` pages by --limit and --offset: a full page says whether more are stored, and where the next page starts.
import { PassThrough } from "node:stream";
import type { Database } from "@reev/db";
import { openTestDatabase, testBackends } from "@reev/db/testing";
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
  beforeEach(async () => {
    db = await openTestDatabase(backend);
    for (let i = 0; i < 3; i++)
      await db.writer.createExecutionSession({
        executionId: `list-more-${i}`,
        flowId: "f",
        agent: "a",
        prompt: "p",
        startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      });
  });
  afterEach(async () => {
    await db?.close();
  });

  it("a full page with more behind it says so and where the next starts; the last page does not", async () => {
    const first = captureIO();
    expect(await listCommand(db, { limit: 2 }, { json: false }, first)).toBe(0);
    // The next page of the same list: its --limit (and --status) too, or the copy would page another list.
    expect(first.out()).toContain("More executions are stored: reev list --limit 2 --offset 2 shows the next 2.\n");
    const last = captureIO();
    expect(await listCommand(db, { limit: 2, offset: 2 }, { json: false }, last)).toBe(0);
    expect(last.out()).toContain("list-more-0");
    expect(last.out()).not.toContain("More executions");
    const exact = captureIO();
    await listCommand(db, { limit: 3 }, { json: true }, exact);
    expect(JSON.parse(exact.out())).toMatchObject({ more: false });
    const paged = captureIO();
    await listCommand(db, { limit: 1, offset: 1 }, { json: true }, paged);
    expect(JSON.parse(paged.out())).toMatchObject({ executions: [{ executionId: "list-more-1" }], more: true });
  });

  it("--flow lists one flow's runs, and its next page keeps the flow", async () => {
    await db.writer.createExecutionSession({ executionId: "list-other", flowId: "other flow", agent: "a", prompt: "p" });
    const other = captureIO();
    await listCommand(db, { flowId: "other flow", limit: 50 }, { json: true }, other);
    expect(JSON.parse(other.out()).executions.map((e: { executionId: string }) => e.executionId)).toEqual(["list-other"]);
    const paged = captureIO();
    await listCommand(db, { flowId: "f", limit: 2 }, { json: false }, paged);
    expect(paged.out()).not.toContain("list-other");
    expect(paged.out()).toContain("More executions are stored: reev list --flow f --limit 2 --offset 2 shows the next 2.\n");
    const none = captureIO();
    await listCommand(db, { flowId: "nope", limit: 50 }, { json: false }, none);
    expect(none.out()).toMatch(/^No executions of flow "nope" in /);
    // Paged past the end: where the end is.
    const past = captureIO();
    await listCommand(db, { limit: 50, offset: 1000 }, { json: false }, past);
    expect(past.out()).toMatch(/^No executions past the first 1000 in .*: only 4 are stored\.\n$/);
  });
});
