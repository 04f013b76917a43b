/**
 * `reev evaluations` as a user runs it (child processes), on the embedded database (a directory) and,
 * when REEV_TEST_DATABASE_URL is set, on PostgreSQL: an empty database says how to record one; then
 * three evaluations, one of each kind a user meets — finished by `reev eval` (with its report),
 * ended by `reev recover` after its process died (no report), and still running (its owner, this
 * test process, is alive) — listed newest first, runs and passes only where a report says so. An id
 * that is not there points to `reev evaluations`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@reev/db";
import { describe, expect, it } from "vitest";
import { cliBackends, fixture, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const temp = cliTempDir("reev-cli-evaluations-");
const backends = cliBackends(() => temp.dir);

type EvaluationJson = {
  evaluationId: string;
  name: string | null;
  agent: string;
  model: string | null;
  status: string;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  runs: number | null;
  passes: number | null;
  flows: number | null;
  stale: boolean;
  abandoned: boolean;
};

/**
 * Records a running evaluation from a process that then exits without finishing it, as a killed
 * `reev eval` leaves one (it closes the database first: the embedded one is a directory one process holds).
 */
function evaluationOfAGoneProcess(url: string, id: string): Promise<void> {
  const script = `
    import { openDatabase } from "@reev/db";
    const db = await openDatabase({ url: process.env.DB_URL });
    await db.writer.createEvaluationRun({ id: process.env.EVAL_ID, name: "gone", agent: "scripted", configuration: {} });
    await db.close();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("../", import.meta.url)),
      env: { ...process.env, DB_URL: url, EVAL_ID: id },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`the evaluation's process exited with ${code}`))));
  });
}

/** The table's rows: evaluation id → its cells. */
const tableRows = (stdout: string) =>
  new Map(
    stdout
      .split("\n")
      .filter((line) => line.startsWith("eval_"))
      .map((line) => {
        const cells = line.split(/ {2,}/);
        return [cells[0] as string, cells];
      }),
  );

describe.each(backends)("reev evaluations on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const { reev } = database;

  it("lists none on a database without evaluations, and says how to record one", async () => {
    // The embedded database is made by a command that writes; PostgreSQL's was migrated on creation.
    if (backend.name === "PGlite") {
      // A directory migrate made is said to be new: a mistyped --db makes one.
      const migrated = await reev("migrate");
      expect(migrated.code, show(migrated)).toBe(0);
      expect(migrated.stdout).toMatch(/^embedded PGlite at \S+ \(new: created now\) is up to date\.\n$/);
    }
    const r = await reev("evaluations");
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^No evaluations in .+\.\n/);
    // The command it suggests reads the same database: it carries the --db this one was given.
    expect(r.stdout.split("\n")[1]).toBe(
      `Record one by evaluating your flow files (or a directory of them); reev eval ${fileURLToPath(new URL("../examples/", import.meta.url))} --db ${database.url} evaluates the bundled examples.`,
    );
    expect(r.stderr).toBe("");
    const json = await reev("evaluations", "--json");
    expect(JSON.parse(json.stdout)).toEqual({ evaluations: [], more: false, nextCursor: null });
  });

  it("lists them newest first: runs and passes from the stored report, — where there is none", { timeout: 180_000 }, async () => {
    const finished = await reev("eval", fixture("eval-v1/gamma.yaml"), "--repeat", "2", "--name", "v1", "--format", "json");
    expect(finished.code, show(finished)).toBe(0);
    const finishedId = (JSON.parse(finished.stdout) as { evaluation: { id: string } }).evaluation.id;

    const goneId = `eval_gone_${backend.name}`;
    await evaluationOfAGoneProcess(database.url, goneId);
    // Before recovery it is marked as reev list marks a run whose process is gone, with what to do.
    const abandoned = await reev("evaluations");
    expect(tableRows(abandoned.stdout).get(goneId)?.[2], show(abandoned)).toBe("running (abandoned)");
    expect(abandoned.stdout).toContain(
      `abandoned: the evaluation's process is gone and the evaluation never finished; reev recover --db ${database.url} finishes such evaluations\n`,
    );
    const abandonedJson = JSON.parse((await reev("evaluations", "--json")).stdout) as { evaluations: EvaluationJson[] };
    expect(abandonedJson.evaluations.find((e) => e.evaluationId === goneId)).toMatchObject({ status: "running", abandoned: true });
    const recovered = await reev("recover");
    expect(recovered.code, show(recovered)).toBe(0);
    expect(recovered.stdout).toContain("Finished 1 abandoned evaluation as incomplete");

    const runningId = `eval_running_${backend.name}`;
    const db = await openDatabase({ url: database.url });
    try {
      await db.writer.createEvaluationRun({ id: runningId, agent: "openai", model: "gpt-4o-mini", configuration: {} });
    } finally {
      await db.close();
    }

    const r = await reev("evaluations");
    expect(r.code, show(r)).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^evaluation +name +status +agent\/model +started \(UTC\) +runs +passes$/);
    const rows = tableRows(r.stdout);
    expect([...rows.keys()]).toEqual([runningId, goneId, finishedId]);
    const time = expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(rows.get(runningId)).toEqual([runningId, "—", "running", "openai/gpt-4o-mini", time, "—", "—"]);
    expect(rows.get(goneId)).toEqual([goneId, "gone", "incomplete", "scripted", time, "—", "—"]);
    expect(rows.get(finishedId)).toEqual([finishedId, "v1", "completed", "scripted", time, "2", "2"]);
    expect(r.stdout).not.toContain("Older evaluations");

    const limited = await reev("evaluations", "--limit", "2");
    expect([...tableRows(limited.stdout).keys()]).toEqual([runningId, goneId]);
    const json = await reev("evaluations", "--json");
    const { evaluations, more } = JSON.parse(json.stdout) as { evaluations: EvaluationJson[]; more: boolean };
    expect(more).toBe(false);
    expect(evaluations.map((e) => [e.evaluationId, e.status, e.runs, e.passes, e.flows])).toEqual([
      [runningId, "running", null, null, null],
      [goneId, "incomplete", null, null, null],
      [finishedId, "completed", 2, 2, 1],
    ]);
    // Its owner, this process, is alive: not marked.
    expect(evaluations[0]).toMatchObject({ agent: "openai", model: "gpt-4o-mini", finishedAt: null, error: null, abandoned: false });
    expect(r.stdout).not.toContain("abandoned:");
    expect(evaluations[1]?.error).toMatch(/^abandoned: process \d+ on .+ exited without finishing$/);
    expect(evaluations[2]?.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse((await reev("evaluations", "--limit", "1", "--json")).stdout)).toMatchObject({ more: true });

    // Paging on by the hint's cursor, as a user copies it.
    const hint = /^Older evaluations are stored: reev evaluations --limit 2 --after (\S+) --db (.+) shows the next 2\.$/m.exec(
      limited.stdout,
    );
    expect(hint?.[2], show(limited)).toBe(database.url);
    const cursor = hint?.[1];
    // An evaluation recorded between the two pages is newer than both: the next page neither repeats a row nor skips one.
    const between = await openDatabase({ url: database.url });
    try {
      await between.writer.createEvaluationRun({ id: `eval_between_${backend.name}`, agent: "scripted", configuration: {} });
    } finally {
      await between.close();
    }
    const older = await reev("evaluations", "--limit", "2", "--after", cursor as string);
    expect(older.code, show(older)).toBe(0);
    expect([...tableRows(older.stdout).keys()], show(older)).toEqual([finishedId]);
    expect(older.stdout).not.toContain("Older evaluations");
    const pagedJson = JSON.parse((await reev("evaluations", "--limit", "2", "--json")).stdout) as { more: boolean; nextCursor: string };
    expect(pagedJson.more).toBe(true);
    const rest = JSON.parse((await reev("evaluations", "--limit", "2", "--after", pagedJson.nextCursor, "--json")).stdout);
    expect(rest.evaluations.map((e: EvaluationJson) => e.evaluationId)).toEqual([goneId, finishedId]);
    expect(rest).toMatchObject({ more: false, nextCursor: null });
    const bad = await reev("evaluations", "--after", "nope!");
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toContain('--after must be a cursor reev evaluations gave out, got "nope!".');
    // Both lists page by (started_at, id): the other's cursor is refused, not used from an arbitrary row.
    const runsCursor = JSON.parse((await reev("list", "--limit", "1", "--json")).stdout).nextCursor as string;
    const crossed = await reev("evaluations", "--after", runsCursor);
    expect(crossed.code, show(crossed)).toBe(2);
    expect(crossed.stderr).toContain(
      `--after must be a cursor reev evaluations gave out, got "${runsCursor}". It is a cursor of reev list, not of reev evaluations.`,
    );
  });

  it("an unknown id points to reev evaluations; an evaluation's id where an execution's belongs is told as such", async () => {
    const compare = await reev("compare", "eval_nope", "eval_nope_either");
    expect(compare.code, show(compare)).toBe(2);
    // Named with the database it was looked for in, as reev show names it.
    expect(compare.stderr).toMatch(/^reev: No evaluation or execution "eval_nope" in (embedded PGlite|PostgreSQL) at [^\n]+\.\n/);
    expect(compare.stderr).toContain(
      `.\nRun reev evaluations --db ${database.url} to see the recorded evaluations (reev list --db ${database.url} for executions).\n`,
    );
    const baseline = await reev("eval", fixture("eval-v1/gamma.yaml"), "--baseline", "eval_nope");
    expect(baseline.code, show(baseline)).toBe(2);
    expect(baseline.stderr).toMatch(
      /^reev: No evaluation "eval_nope" in .+\.\nRun reev evaluations --db \S+ to see the recorded evaluations/,
    );
    // An execution's id as --baseline: told it is one, not "No evaluation".
    const executionId = (JSON.parse((await reev("list", "--json")).stdout) as { executions: { executionId: string }[] }).executions[0]!
      .executionId;
    const runAsBaseline = await reev("eval", fixture("eval-v1/gamma.yaml"), "--baseline", executionId);
    expect(runAsBaseline.code, show(runAsBaseline)).toBe(2);
    expect(runAsBaseline.stderr).toMatch(
      new RegExp(
        `^reev: "${executionId}" is an execution in .+, not an evaluation: --baseline takes an evaluation's id\\.\\nreev evaluations --db \\S+ lists`,
      ),
    );
    const id = `eval_running_${backend.name}`;
    const shown = await reev("show", id);
    expect(shown.code, show(shown)).toBe(2);
    expect(shown.stderr).toMatch(
      new RegExp(`^reev: "${id}" is an evaluation in .+, not an execution\\.\\nreev evaluations --db \\S+ lists`),
    );
    // An execution id that is not there still points to reev list.
    const status = await reev("status", "exec_nope");
    expect(status.stderr).toMatch(/\nRun reev list --db \S+ to see the recorded executions\.\n$/);
  });
});
