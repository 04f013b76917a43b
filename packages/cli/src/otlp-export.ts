// OpenTelemetry export for `reev export --format otlp` and `reev run --otlp-endpoint`. The SDK is
// imported only when spans are sent, so every other command starts without it.
import type { Database } from "@reev/db";
import { errorMessage } from "@reev/orchestrator";
import type { OtlpEndpoint, OtlpExportReport, OtlpRunExporter } from "@reev/orchestrator/otlp";
import { type CliIO, withDatabase } from "./context.js";
import { laterCommand, shellWord } from "./hint.js";
import {
  exitAtOnce,
  type InterruptNotices,
  type InterruptSignal,
  interruptExitCode,
  stopNotices,
  withInterrupts,
  writeInterrupted,
} from "./interrupt.js";

const otlp = () => import("@reev/orchestrator/otlp");

/**
 * Where `reev export --format otlp` sends: --endpoint, else the OTEL_EXPORTER_OTLP_* variables, else
 * the OpenTelemetry default. Resolved before the database is opened: a bad URL changes nothing.
 */
async function exportEndpoint(endpoint: string | undefined): Promise<OtlpEndpoint> {
  const { DEFAULT_OTLP_TRACES_ENDPOINT, resolveOtlpEndpoint } = await otlp();
  return resolveOtlpEndpoint({ endpoint, endpointSource: "--endpoint", fallback: DEFAULT_OTLP_TRACES_ENDPOINT }) as OtlpEndpoint;
}

/**
 * What Ctrl-C means while spans are sent: no further request, not even a retry; the one under way is
 * given a moment to be answered (its answer says whether its spans arrived), then cut off. Its length
 * (ANSWER_GRACE_MS) is not said: the notices are made before the exporter's module is loaded.
 */
function otlpNotices(json: boolean): InterruptNotices {
  return stopNotices(json, {
    first: (name) =>
      `Interrupted (${name}): sending no more, and waiting briefly for the answer to the request under way. ${exitAtOnce(name)}`,
    again: (name) =>
      `${name} again: exiting at once. The endpoint may hold part of the run: run the command again to send it whole. Nothing in the database was changed (an export only reads).`,
  });
}

/** What a signal during an OTLP export left: what was sent, and how to send the rest. */
function interruptedWords(signal: InterruptSignal, report: OtlpExportReport | undefined, endpoint: string): string {
  const again = "Run the command again to send the run whole";
  const resent = "(the spans sent go again, with the same ids)";
  if (report && report.sent === report.spans)
    return `Interrupted (${signal}) once every span was sent: the run is complete at ${endpoint}.`;
  if (report?.unconfirmed) {
    const sent = report.sent
      ? `${report.sent} of the run's ${report.spans} spans were sent to ${endpoint}, and the request carrying ${report.unconfirmed} more`
      : `nothing was confirmed sent to ${endpoint}: the request carrying ${report.unconfirmed} spans`;
    const rest = report.spans - report.sent - report.unconfirmed;
    return `Interrupted (${signal}): ${sent} was cut off unanswered, so they may or may not have arrived${rest ? `; the other ${rest} were not sent` : ""}. ${again} (spans that arrived go again, with the same ids).`;
  }
  if (!report?.sent) return `Interrupted (${signal}) before any span was sent: nothing was sent to ${endpoint}. ${again}.`;
  return `Interrupted (${signal}): ${report.sent} of the run's ${report.spans} spans were sent to ${endpoint}, the rest not. ${again} ${resent}.`;
}

/**
 * `reev export <id> --format otlp`: the stored run as spans, sent; one line on stdout says what went
 * where, progress on stderr. With --json, stderr is the error's JSON line or nothing, as for every
 * command: no progress there for a script to tell apart from it. Ctrl-C sends no further request
 * and says what was sent (see otlpNotices).
 */
export async function exportOtlpCommand(
  db: string | undefined,
  executionId: string,
  endpoint: string | undefined,
  options: { json: boolean },
  io: CliIO,
): Promise<number> {
  const { value: sent, interrupted } = await withInterrupts(
    io,
    async (signal) => {
      const target = await exportEndpoint(endpoint);
      const { OtlpRunExporter } = await otlp();
      // Before the database is opened, as the endpoint: header variables it cannot read are refused.
      await using exporter = new OtlpRunExporter(target);
      // Interrupted while the exporter loaded: no database is opened, nothing is sent.
      if (signal.aborted) return { report: undefined, url: target.url };
      return await withDatabase(db, "read", async (database) => {
        // Progress on stderr: stdout keeps the one line that says what was sent.
        const progress = options.json ? undefined : (line: string) => io.stderr.write(`${line}\n`);
        const report = await exporter.exportRun(database, executionId, progress, { signal });
        return { report, url: target.url };
      });
    },
    { notices: otlpNotices(options.json) },
  );
  const { report, url } = sent;
  if (report && report.sent === report.spans)
    io.stdout.write(`Sent ${report.spans} spans of execution ${executionId} to ${report.endpoint} (trace ${report.traceId}).\n`);
  if (!interrupted) return 0;
  writeInterrupted(io, options.json, interruptedWords(interrupted, report, url));
  return interruptExitCode(interrupted);
}

/**
 * `reev run --otlp-endpoint URL` (or OTEL_EXPORTER_OTLP_ENDPOINT set): each run is sent as it
 * finishes, from what was stored. Once one could not be sent the endpoint is taken as down and the
 * later runs are not tried (each would wait out the time limit); they are listed to send later.
 */
export class RunExports {
  readonly #exporter: OtlpRunExporter;
  readonly #signal: AbortSignal | undefined;
  #spans = 0;
  readonly #sent: string[] = [];
  readonly #unsent: string[] = [];
  #failure: string | undefined;
  /** The failure is the signal's: reev exits 130 (143) for it, not 1. */
  #interrupted = false;

  private constructor(exporter: OtlpRunExporter, signal: AbortSignal | undefined) {
    this.#exporter = exporter;
    this.#signal = signal;
  }

  /**
   * Undefined when neither --otlp-endpoint nor an OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variable asks
   * for an export. Once `signal` (Ctrl-C) aborts, nothing more is sent: no retry, no later run.
   */
  static async open(endpoint: string | undefined, signal?: AbortSignal): Promise<RunExports | undefined> {
    const { OtlpRunExporter, resolveOtlpEndpoint } = await otlp();
    const target = resolveOtlpEndpoint({ endpoint, endpointSource: "--otlp-endpoint" });
    return target ? new RunExports(new OtlpRunExporter(target), signal) : undefined;
  }

  get endpoint(): string {
    return this.#exporter.endpoint.url;
  }

  /** Sends one finished run; never throws: a failure is kept for `report`. */
  async send(db: Database, executionId: string): Promise<void> {
    if (this.#failure !== undefined) {
      this.#unsent.push(executionId);
      return;
    }
    try {
      const report = await this.#exporter.exportRun(db, executionId, undefined, { signal: this.#signal });
      this.#spans += report.sent;
      if (report.sent === report.spans) {
        this.#sent.push(executionId);
        return;
      }
      // Stopped by the signal: this run and every later one are left to send by hand.
      this.#interrupted = this.#failure === undefined;
      this.#failure ??= `Interrupted: no run was sent after the signal${report.unconfirmed ? ` (a request of ${report.unconfirmed} spans of ${executionId} was cut off unanswered: they may or may not have arrived)` : ""}.`;
      this.#unsent.push(executionId);
    } catch (error) {
      this.#failure ??= errorMessage(error);
      this.#unsent.push(executionId);
    }
  }

  /** What was sent and what was not, on stdout (with how to send the rest later); true when every run was sent. */
  report(io: CliIO): boolean {
    const runs = (n: number) => `${n} ${n === 1 ? "run" : "runs"}`;
    io.stdout.write(`\nOpenTelemetry: sent ${runs(this.#sent.length)} (${this.#spans} spans) to ${this.endpoint}.\n`);
    if (this.#failure === undefined) return true;
    io.stdout.write(
      [
        `  ${this.#failure}`,
        `  Not sent: ${runs(this.#unsent.length)}. ${sendLater(this.endpoint)}`,
        ...this.#unsent.map((id) => `    ${id}`),
        ...(this.#interrupted ? [] : ["  reev exits 1 for the runs not sent, whatever the runs' own outcome."]),
        "",
      ].join("\n"),
    );
    return false;
  }

  async close(): Promise<void> {
    await this.#exporter.shutdown();
  }
}

/** How the runs not sent get sent later; on memory:// they cannot be: the database goes with the command. */
function sendLater(endpoint: string): string {
  const later = laterCommand(`export <executionId> --format otlp --endpoint ${shellWord(endpoint)}`);
  return later
    ? `Once the endpoint is up, send each with: ${later}`
    : "They cannot be sent later: the in-memory database (--db memory://) goes with this command. To send them later, record the runs with --db a directory or a PostgreSQL URL.";
}
