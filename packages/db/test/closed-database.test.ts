import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, readExecutionOverview } from "../src/index.js";
import { createPostgresDatabase } from "../src/testing/index.js";

const base = process.env.REEV_TEST_DATABASE_URL;
const dirs: string[] = [];
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A database that outlives a close, to look at it again afterwards: a directory, or a PostgreSQL database. */
async function reopenable(kind: "pglite" | "postgres"): Promise<string> {
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "reev-closed-"));
    dirs.push(dir);
    return join(dir, "db");
  }
  const created = await createPostgresDatabase(base as string);
  drops.push(created.drop);
  return created.url;
}

describe.each(base ? (["pglite", "postgres"] as const) : (["pglite"] as const))("a database used after close() on %s", (kind) => {
  it("refuses every call in the same words (CONNECTION, not retryable), and writes nothing", async () => {
    const url = await reopenable(kind);
    const db = await openDatabase({ url, migrate: true });
    await db.writer.createExecutionSession({ executionId: "before-close", flowId: "f", agent: "a", prompt: "p" });
    await db.close();
    const closed = expect.objectContaining({
      code: "CONNECTION",
      retryable: false,
      message: expect.stringContaining(`${db.description} was closed (db.close()): open it again with openDatabase to use it.`),
    });
    await expect(db.writer.getExecutionSession("before-close")).rejects.toEqual(closed);
    await expect(db.writer.createExecutionSession({ executionId: "after-close", flowId: "f", agent: "a", prompt: "p" })).rejects.toEqual(
      closed,
    );
    await expect(readExecutionOverview(db, "before-close")).rejects.toEqual(closed);
    await using again = await openDatabase({ url, migrate: true });
    expect(await again.writer.getExecutionSession("before-close")).not.toBeNull();
    expect(await again.writer.getExecutionSession("after-close")).toBeNull();
  });
});
