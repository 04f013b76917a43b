// A consolidated document is stored with lz4 wherever the server offers it (migration
// 20261204080000): compressing a large document with pglz took about a sixth of the storing statement's time.
// PGlite is built without lz4, so there the column keeps the default, and both read back the same text.
import { describe, expect } from "vitest";
import { prismaClientOf } from "../src/internal.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution, uid } from "./helpers.js";

describe.each(testBackends())("consolidated content's compression on $name", (backend) => {
  test.override({ backend });

  test("the document column uses lz4 exactly where the server has it, and a stored document reads back whole", async ({ db }) => {
    const prisma = prismaClientOf(db);
    const [server] = await prisma.$queryRaw<{ lz4: boolean; column: string }[]>`
      SELECT 'lz4' = ANY ((SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression')::text[]) AS lz4,
        (SELECT attcompression::text FROM pg_attribute
          WHERE attrelid = 'consolidated_sessions'::regclass AND attname = 'consolidated_content') AS column`;
    // 'l' is lz4; '' is the server's default_toast_compression (pglz unless configured otherwise).
    expect(server?.column).toBe(server?.lz4 ? "l" : "");

    const id = await createExecution(db.writer);
    // Large and compressible: stored compressed, so the method actually used shows.
    const content = JSON.stringify({ steps: Array.from({ length: 400 }, (_, i) => ({ i, text: "the same words again " })) });
    const cid = uid("c");
    await db.writer.storeConsolidatedSession(cid, id, content, {});
    const [stored] = await prisma.$queryRaw<{ method: string | null }[]>`
      SELECT pg_column_compression(consolidated_content) AS method FROM consolidated_sessions WHERE consolidated_session_id = ${cid}`;
    expect(stored?.method).toBe(server?.lz4 ? "lz4" : "pglz");
    expect(await db.writer.getConsolidatedSession(cid)).toBe(content);
  });
});
