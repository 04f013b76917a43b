import type { Database } from "@reev/db";
import { test, testBackends } from "@reev/db/testing";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";

type Page = { data: { execution_id: string; started_at: string }[]; meta: { limit: number; nextCursor: string | null } };

const BASE = Date.UTC(2026, 0, 1);
/** Sorts as the list does: started_at descending, then execution_id descending. */
const before = (a: { at: number; id: string }, b: { at: number; id: string }) => a.at < b.at || (a.at === b.at && a.id < b.id);

describe.each(testBackends())("pagination on $name", (backend) => {
  test.override({ backend });

  test("paging while runs are inserted returns every run once: the ones there at the start and the new ones behind the cursor", async ({
    db,
  }) => {
    const { app } = createServer({ db, log: () => {} });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        // Start times from a small range, so many runs share one (the execution id breaks the tie).
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 0, maxLength: 30 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 3 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 7 }),
        async (initial, insertsPerPage, limit) => {
          const flowId = `paging-${backend.name}-${round++}`;
          let n = 0;
          const insert = async (second: number) => {
            const row = { at: BASE + second * 1000, id: `${flowId}-${String(n++).padStart(3, "0")}` };
            await create(db, flowId, row);
            return row;
          };
          const expected = new Set<string>();
          for (const second of initial) expected.add((await insert(second)).id);
          const seen: string[] = [];
          let cursor: string | null = null;
          let last: { at: number; id: string } | undefined;
          for (let page = 0; ; page++) {
            const query = new URLSearchParams({ flowId, limit: String(limit), ...(cursor ? { cursor } : {}) });
            const response = await app.request(`/api/v1/executions?${query}`);
            expect(response.status).toBe(200);
            const body = (await response.json()) as Page;
            expect(body.data.length).toBeLessThanOrEqual(limit);
            for (const e of body.data) seen.push(e.execution_id);
            const tail = body.data.at(-1);
            if (tail) last = { at: Date.parse(tail.started_at), id: tail.execution_id };
            cursor = body.meta.nextCursor;
            if (!cursor) break;
            // New runs arrive between pages: those that sort after the last row seen must show up later.
            for (const second of insertsPerPage[page] ?? []) {
              const row = await insert(second);
              if (last && before(row, last)) expected.add(row.id);
            }
          }
          expect(new Set(seen).size).toBe(seen.length);
          expect(new Set(seen)).toEqual(expected);
        },
      ),
      { numRuns: backend.name === "pglite" ? 15 : 25 },
    );
  });
});

async function create(db: Database, flowId: string, row: { at: number; id: string }) {
  await db.writer.createExecutionSession({ executionId: row.id, flowId, agent: "test", prompt: "p", startedAt: new Date(row.at) });
}
