/**
 * Ctrl-C and SIGTERM during `reev consolidate` and `reev export` (to a file, to stdout, and as
 * OpenTelemetry spans), in real child processes, on an embedded directory and on PostgreSQL (when
 * REEV_TEST_DATABASE_URL is set). Each signal lands at a known point, by a condition: a line the
 * child printed or a file it wrote, where the preloaded test/fixtures/hold-at.mjs stops it until the
 * signal is sent; a row or table lock the child waits on (PostgreSQL); or a request the OTLP receiver
 * holds unanswered.
 */
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@reev/db";
import { ANSWER_GRACE_MS } from "@reev/orchestrator/otlp";
import { beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver } from "../../orchestrator/test/support/otlp-receiver.js";
import { type LiveCli, startCli } from "./support/live-cli.js";
import { holdLock } from "./support/pg-lock.js";
import { cliBackends, cliEnv, executionIds, fixture, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const HOLD = fileURLToPath(new URL("./fixtures/hold-at.mjs", import.meta.url));
const temp = cliTempDir("reev-cli-consolidate-export-interrupt-");
const SIGNALS = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const;

/** `reev <args>`, stopped dead by hold-at.mjs at `hold` (REEV_TEST_HOLD_STDERR or REEV_TEST_HOLD_WRITE) until released. */
function held(args: string[], hold: Record<string, string>, cwd = temp.dir): LiveCli & { signalAndRelease(signal: NodeJS.Signals): void } {
  const cli = startCli(args, { cwd, env: cliEnv(hold), preload: HOLD, stdin: true });
  return {
    ...cli,
    // The process is stopped: the signal waits for it, and is the first thing it finds as it goes on.
    signalAndRelease: (signal) => {
      cli.child.kill(signal);
      cli.child.stdin?.write("go on\n");
    },
  };
}

/** Only the same signal again exits at once: after a SIGTERM, Ctrl-C only says it is already stopping. */
const again = (signal: NodeJS.Signals) => (signal === "SIGINT" ? "Press Ctrl-C again" : "Send SIGTERM again");

const jsonError = (message: string) => `${JSON.stringify({ error: { code: "INTERRUPTED", message, field: null } })}\n`;

async function consolidationStatus(url: string, executionId: string): Promise<string | undefined> {
  const db = await openDatabase({ url, migrate: false });
  try {
    return (await db.writer.getExecutionSession(executionId))?.consolidation.status;
  } finally {
    await db.close();
  }
}

describe.each(cliBackends(() => temp.dir))("Ctrl-C during reev consolidate and reev export on $name", (backend) => {
  const database = cliDatabase(backend, temp);
  const isPostgres = backend.name === "PostgreSQL";
  /** A run recorded with --no-consolidate: its consolidation is pending. */
  const unconsolidatedRun = async () => {
    const run = await database.reev("run", fixture("succeeds.yaml"), "--no-consolidate");
    expect(run.code, show(run)).toBe(0);
    return executionIds(run.stdout)[0] as string;
  };
  let exported: string;
  beforeAll(async () => {
    const run = await database.reev("run", fixture("succeeds.yaml"), "--out", join(temp.dir, "diagrams"));
    expect(run.code, show(run)).toBe(0);
    exported = executionIds(run.stdout)[0] as string;
  });

  for (const [signal, code] of SIGNALS) {
    it(`consolidate, ${signal} before the consolidation begins: not begun, said so, nothing changed, exit ${code}`, async () => {
      const id = await unconsolidatedRun();
      const before = await consolidationStatus(database.url, id);
      const cli = held(["consolidate", id, "--db", database.url], { REEV_TEST_HOLD_STDERR: "^Consolidating " });
      await cli.waitForLine(/^Consolidating /);
      cli.signalAndRelease(signal);
      const r = await cli.done;
      expect(r.code, show(r)).toBe(code);
      expect(r.stderr, show(r)).toContain(
        `\nInterrupted (${signal}): a consolidation under way is let finish (it is one transaction); one not begun is not begun. ${again(signal)} to exit at once.\n`,
      );
      expect(r.stdout, show(r)).toBe(
        `Interrupted (${signal}) before the consolidation began: nothing was changed. Run reev consolidate ${id} --db ${database.url} again to consolidate it.\n`,
      );
      expect(before).toBe("pending");
      expect(await consolidationStatus(database.url, id)).toBe(before);
    });
  }

  it.skipIf(!isPostgres)(
    "consolidate, SIGINT while it waits for the run's row: let finish and stored, said so after the report, exit 130",
    async () => {
      const id = await unconsolidatedRun();
      const lock = await holdLock(database.url, "SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [id]);
      const cli = startCli(["consolidate", id, "--db", database.url], { cwd: temp.dir });
      try {
        await lock.blocking();
        cli.child.kill("SIGINT");
        await cli.waitForLine(/^Interrupted \(SIGINT\)/);
      } finally {
        await lock.release();
      }
      const r = await cli.done;
      expect(r.code, show(r)).toBe(130);
      expect(r.stdout, show(r)).toMatch(new RegExp(`^Consolidated +${id}: ${id}_consolidated_\\d+$`, "m"));
      expect(
        r.stdout.endsWith("Interrupted (SIGINT) while consolidating: the consolidation was let finish and is stored (above).\n"),
        show(r),
      ).toBe(true);
      expect(await consolidationStatus(database.url, id)).toBe("completed");
    },
  );

  it.skipIf(!isPostgres)(
    "consolidate --json, SIGTERM while it waits: the run as JSON on stdout, one INTERRUPTED line on stderr, exit 143",
    async () => {
      const id = await unconsolidatedRun();
      const lock = await holdLock(database.url, "SELECT 1 FROM execution_sessions WHERE execution_id = $1 FOR UPDATE", [id]);
      const cli = startCli(["consolidate", id, "--json", "--db", database.url], { cwd: temp.dir });
      try {
        await lock.blocking();
        cli.child.kill("SIGTERM");
      } finally {
        await lock.release();
      }
      const r = await cli.done;
      expect(r.code, show(r)).toBe(143);
      expect(JSON.parse(r.stdout).consolidation.status, show(r)).toBe("completed");
      expect(r.stderr).toBe(
        jsonError("Interrupted (SIGTERM) while consolidating: the consolidation was let finish and is stored (above)."),
      );
    },
  );

  for (const [signal, code] of SIGNALS) {
    it(`export --out, ${signal} once the document is written but not yet in place: no file, no temporary file, said so, exit ${code}`, async () => {
      const dir = join(temp.dir, `export-${backend.name}-${signal}`);
      const out = join(dir, "run.json");
      const cli = held(["export", exported, "--out", out, "--db", database.url], { REEV_TEST_HOLD_WRITE: "\\.partial$" });
      await cli.waitForLine(/^HELD write /);
      cli.signalAndRelease(signal);
      const r = await cli.done;
      expect(r.code, show(r)).toBe(code);
      expect(r.stdout, show(r)).toBe("");
      expect(r.stderr, show(r)).toContain(
        `\nInterrupted (${signal}): stopping; the export is written to ${out} whole or not at all. ${again(signal)} to exit at once.\n`,
      );
      expect(r.stderr.endsWith(`Interrupted (${signal}): ${out} was not written. Run the command again to export.\n`), show(r)).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it("export --out --json onto an earlier file, SIGTERM: the earlier file is left whole, one INTERRUPTED line, exit 143", async () => {
    const out = join(temp.dir, `earlier-${backend.name}.jsonl`);
    writeFileSync(out, "earlier\n");
    const cli = held(["export", exported, "--out", out, "--json", "--db", database.url], { REEV_TEST_HOLD_WRITE: "\\.partial$" });
    await cli.waitForLine(/^HELD write /);
    cli.signalAndRelease("SIGTERM");
    const r = await cli.done;
    expect(r.code, show(r)).toBe(143);
    expect(r.stderr.replace(/^HELD write .*\n/, ""), show(r)).toBe(
      jsonError(
        `Interrupted (SIGTERM): ${out} was not written (the file already there is left as it was). Run the command again to export.`,
      ),
    );
    expect(readFileSync(out, "utf8")).toBe("earlier\n");
    expect(readdirSync(temp.dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it.skipIf(!isPostgres)("export to stdout, SIGINT while it waits to read: nothing on stdout, said so on stderr, exit 130", async () => {
    const lock = await holdLock(database.url, "LOCK TABLE execution_sessions IN ACCESS EXCLUSIVE MODE");
    const cli = startCli(["export", exported, "--db", database.url], { cwd: temp.dir });
    try {
      await lock.blocking();
      cli.child.kill("SIGINT");
      await cli.waitForLine(/^Interrupted \(SIGINT\)/);
    } finally {
      await lock.release();
    }
    const r = await cli.done;
    expect(r.code, show(r)).toBe(130);
    expect(r.stdout, show(r)).toBe("");
    expect(r.stderr.endsWith("Interrupted (SIGINT): nothing was written to stdout. Run the command again to export.\n"), show(r)).toBe(
      true,
    );
  });

  describe("export --format otlp", () => {
    /** An OTLP/HTTP endpoint that answers nothing until told: each request waits in `pending`. */
    async function holdingEndpoint() {
      const pending: ServerResponse[] = [];
      let requests = 0;
      const arrived: (() => void)[] = [];
      const server = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          requests++;
          pending.push(res);
          for (const resolve of arrived.splice(0)) resolve();
        });
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
      return {
        url,
        requests: () => requests,
        request: () => (requests ? Promise.resolve() : new Promise<void>((resolve) => arrived.push(resolve))),
        answerAll: () => {
          for (const res of pending.splice(0)) res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
        },
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      };
    }

    it("SIGINT while the spans' request waits for its answer: let finish, the run is sent whole, said so, exit 130", async () => {
      const endpoint = await holdingEndpoint();
      try {
        const cli = startCli(["export", exported, "--format", "otlp", "--endpoint", endpoint.url, "--db", database.url], { cwd: temp.dir });
        await endpoint.request();
        cli.child.kill("SIGINT");
        await cli.waitForLine(/^Interrupted \(SIGINT\)/);
        endpoint.answerAll();
        const r = await cli.done;
        expect(r.code, show(r)).toBe(130);
        expect(r.stderr, show(r)).toContain(
          "\nInterrupted (SIGINT): sending no more, and waiting briefly for the answer to the request under way. Press Ctrl-C again to exit at once.\n",
        );
        expect(r.stdout, show(r)).toMatch(
          new RegExp(
            `^Sent \\d+ spans of execution ${exported} to ${endpoint.url} \\(trace \\w+\\)\\.\\nInterrupted \\(SIGINT\\) once every span was sent: the run is complete at ${endpoint.url}\\.\\n$`,
          ),
        );
        expect(endpoint.requests()).toBe(1);
      } finally {
        endpoint.close();
      }
    });

    /**
     * `reev export --format otlp` to a receiver answering `answer`, given `signal` once the receiver has
     * seen its first request; with the requests it saw after the signal went (none may come) and how
     * long reev took to exit after it. A time limit of a minute: the retries, not it, would be cut short.
     */
    async function signalledExport(answer: 503 | "never", signal: NodeJS.Signals) {
      const receiver = await startOtlpReceiver();
      receiver.answer(answer);
      try {
        const args = ["export", exported, "--format", "otlp", "--endpoint", receiver.url, "--db", database.url];
        const cli = startCli(args, { cwd: temp.dir, env: cliEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: "60000" }) });
        await receiver.arrived(1);
        const signalledAt = performance.now();
        cli.child.kill(signal);
        const r = await cli.done;
        const exitedAfter = performance.now() - signalledAt;
        return { r, url: receiver.url, exitedAfter, afterSignal: receiver.arrivals.filter((t) => t > signalledAt) };
      } finally {
        await receiver.close();
      }
    }

    it("SIGINT while an endpoint answers 503: no retry after the signal, nothing sent, said so at once, exit 130", async () => {
      const { r, url, exitedAfter, afterSignal } = await signalledExport(503, "SIGINT");
      expect(r.code, show(r)).toBe(130);
      expect(afterSignal, show(r)).toEqual([]);
      expect(exitedAfter, show(r)).toBeLessThan(ANSWER_GRACE_MS + 3_000);
      expect(r.stderr, show(r)).toContain(
        "\nInterrupted (SIGINT): sending no more, and waiting briefly for the answer to the request under way. Press Ctrl-C again to exit at once.\n",
      );
      expect(r.stderr, show(r)).not.toContain("Could not send");
      expect(r.stdout, show(r)).toBe(
        `Interrupted (SIGINT) before any span was sent: nothing was sent to ${url}. Run the command again to send the run whole.\n`,
      );
    });

    it("SIGTERM while an endpoint never answers: its request cut off after a moment, no other, said unconfirmed, exit 143", async () => {
      const { r, url, exitedAfter, afterSignal } = await signalledExport("never", "SIGTERM");
      expect(r.code, show(r)).toBe(143);
      expect(afterSignal, show(r)).toEqual([]);
      expect(exitedAfter, show(r)).toBeLessThan(ANSWER_GRACE_MS + 3_000);
      // No word of retrying after the signal: nothing is retried.
      expect(r.stderr.slice(r.stderr.indexOf("Interrupted (SIGTERM)")), show(r)).not.toContain("has not answered yet");
      expect(r.stdout, show(r)).toMatch(
        new RegExp(
          `^Interrupted \\(SIGTERM\\): nothing was confirmed sent to ${url.replaceAll(".", "\\.")}: the request carrying \\d+ spans was cut off unanswered, so they may or may not have arrived\\. Run the command again to send the run whole \\(spans that arrived go again, with the same ids\\)\\.\n$`,
        ),
      );
    });

    it("reev run --otlp-endpoint, SIGINT while the endpoint answers 503: no request after the signal, the run listed to send later, exit 130", async () => {
      const receiver = await startOtlpReceiver();
      receiver.answer(503);
      try {
        const args = [
          "run",
          fixture("succeeds.yaml"),
          "--otlp-endpoint",
          receiver.url,
          "--out",
          join(temp.dir, "diagrams"),
          "--db",
          database.url,
        ];
        const cli = startCli(args, { cwd: temp.dir, env: cliEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: "60000" }) });
        await receiver.arrived(1);
        const signalledAt = performance.now();
        cli.child.kill("SIGINT");
        const r = await cli.done;
        expect(r.code, show(r)).toBe(130);
        expect(
          receiver.arrivals.filter((t) => t > signalledAt),
          show(r),
        ).toEqual([]);
        expect(performance.now() - signalledAt, show(r)).toBeLessThan(ANSWER_GRACE_MS + 3_000);
        expect(r.stdout, show(r)).toContain(
          `OpenTelemetry: sent 0 runs (0 spans) to ${receiver.url}.\n  Interrupted: no run was sent after the signal.\n  Not sent: 1 run.`,
        );
        // The exit code is the interrupt's, so the line about exiting 1 would be false.
        expect(r.stdout, show(r)).not.toContain("reev exits 1");
      } finally {
        await receiver.close();
      }
    });

    it("SIGTERM before the first request: nothing sent, said so, exit 143", async () => {
      const endpoint = await holdingEndpoint();
      try {
        const args = ["export", exported, "--format", "otlp", "--endpoint", endpoint.url, "--db", database.url];
        const cli = held(args, { REEV_TEST_HOLD_STDERR: "^Sending \\d+ spans" });
        await cli.waitForLine(/^Sending \d+ spans/);
        cli.signalAndRelease("SIGTERM");
        const r = await cli.done;
        expect(r.code, show(r)).toBe(143);
        expect(r.stdout, show(r)).toBe(
          `Interrupted (SIGTERM) before any span was sent: nothing was sent to ${endpoint.url}. Run the command again to send the run whole.\n`,
        );
        expect(endpoint.requests()).toBe(0);
      } finally {
        endpoint.close();
      }
    });
  });
});
