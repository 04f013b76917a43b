// Hot statements are prepared once per PostgreSQL connection under a name made from their text;
// everything else stays unnamed, because a server keeps a named statement for the connection's life.
import { describe, expect } from "vitest";
import { ZExecutionsPageInput } from "../src/index.js";
import { insertStepsStatement, listExecutionsStatement, prismaClientOf, statementName } from "../src/internal.js";
import { prepared } from "../src/prepared-statement.js";
import { test, testBackends } from "../src/testing/index.js";
import { createExecution } from "./helpers.js";

describe("statementName", () => {
  test("a marked text always gets the same name; another text of the same statement another; an unmarked one none", () => {
    const a = `/* reev:insert-steps */ SELECT 1`;
    const b = `/* reev:insert-steps */ SELECT 2`;
    expect(statementName({ sql: a })).toBe(statementName({ sql: `${a}` }));
    expect(statementName({ sql: a })).toMatch(/^reev_insert-steps_[0-9a-f]{16}$/);
    expect(statementName({ sql: b })).not.toBe(statementName({ sql: a }));
    expect(statementName({ sql: "SELECT 1 /* reev:insert-steps */" })).toBe("");
    expect(statementName({ sql: `SELECT * FROM t WHERE id IN ($1, $2)` })).toBe("");
  });

  test("the mark is the statement's first text, as Prisma.sql puts it", () => {
    const sql = insertStepsStatement("e", [], {}).text;
    expect(sql.trimStart().startsWith(prepared("insert-steps").sql)).toBe(true);
    // PostgreSQL truncates names at 63 bytes: two statements must never share a truncated name.
    expect(statementName({ sql }).length).toBeLessThanOrEqual(63);
  });
});

describe.each(testBackends().filter((b) => b.name === "postgres"))("prepared statements on $name", (backend) => {
  test.override({ backend });

  test("a step write is prepared under its name on the connection that ran it, and nothing unmarked is", async ({ db }) => {
    const id = await createExecution(db.writer);
    const statement = insertStepsStatement(id, [], {});
    const names = await prismaClientOf(db).$transaction(async (tx) => {
      await tx.$queryRaw(statement);
      await tx.$queryRaw`SELECT ${id}::text AS unmarked`;
      return tx.$queryRaw<{ name: string }[]>`SELECT name FROM pg_prepared_statements ORDER BY name`;
    });
    expect(names.map((n) => n.name)).toEqual([statementName({ sql: statement.text })]);
  });

  test("the runs list, a deep page too, runs on one plan once prepared: its LIMIT is not a parameter", async ({ db }) => {
    // Enough rows that a LIMIT given as a parameter (estimated at a tenth of the table) would make
    // every generic plan dearer than a custom one, so PostgreSQL would plan each execution anew.
    const client = prismaClientOf(db);
    await client.$executeRaw`INSERT INTO execution_sessions (execution_id, flow_id, agent, prompt, status, started_at)
      SELECT 'list-' || g, 'flow', 'scripted', 'p', 'completed', timestamptz '2026-11-01' - make_interval(secs => g)
      FROM generate_series(1, 5000) g`;
    await client.$executeRaw`ANALYZE execution_sessions`;
    const after = { startedAt: new Date("2026-10-31T00:00:00Z"), executionId: "list-86400" };
    for (const page of [{}, { after }]) {
      const statement = listExecutionsStatement(ZExecutionsPageInput.parse({ limit: 50, ...page }));
      const [plans] = await client.$transaction(async (tx) => {
        for (let i = 0; i < 8; i++) await tx.$queryRaw(statement);
        return tx.$queryRaw<{ generic_plans: bigint; custom_plans: bigint }[]>`
          SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = ${statementName({ sql: statement.text })}`;
      });
      // At most five custom plans first (a statement with parameters gets them), then the generic plan, reused.
      const label = `${Object.keys(page).join() || "page 1"}: ${plans?.generic_plans} generic, ${plans?.custom_plans} custom plans`;
      expect(Number(plans?.generic_plans), label).toBeGreaterThanOrEqual(3);
    }
  });
});
