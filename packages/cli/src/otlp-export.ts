// OpenTelemetry export for `reev export --format otlp` and `reev run --otlp-endpoint`. The SDK is
// imported only when spans are sent, so every other command starts without it.
import type { Database } from "@reev/db";
import { errorMessage } from "@reev/orchestrator";
import type { OtlpEndpoint, OtlpRunExporter } from "@reev/orchestrator/otlp";
import { type CliIO, withDatabase } from "./context.js";
import { laterCommand, shellWord } from "./hint.js";

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
 * `reev export <id> --format otlp`: the stored run as spans, sent; one line on stdout says what went
 * where, progress on stderr. With --json, stderr is the error's JSON line or nothing, as for every
 * command: no progress there for a script to tell apart from it.
 */
export async function exportOtlpCommand(
  db: string | undefined,
  executionId: string,
  endpoint: string | undefined,
  options: { json: boolean },
  io: CliIO,
): Promise<number> {
  const target = await exportEndpoint(endpoint);
  const { OtlpRunExporter } = await otlp();
  return withDatabase(db, "read", async (database) => {
    await using exporter = new OtlpRunExporter(target);
    // Progress on stderr: stdout keeps the one line that says what was sent.
    const progress = options.json ? undefined : (line: string) => io.stderr.write(`${line}\n`);
    const report = await exporter.exportRun(database, executionId, progress);
    io.stdout.write(`Sent ${report.spans} spans of execution ${executionId} to ${report.endpoint} (trace ${report.traceId}).\n`);
    return 0;
  });
}

/**
 * `reev run --otlp-endpoint URL` (or OTEL_EXPORTER_OTLP_ENDPOINT set): each run is sent as it
 * finishes, from what was stored. Once one could not be sent the endpoint is taken as down and the
 * later runs are not tried (each would wait out the time limit); they are listed to send later.
 */
export class RunExports {
  readonly #exporter: OtlpRunExporter;
  #spans = 0;
  readonly #sent: string[] = [];
  readonly #unsent: string[] = [];
  #failure: string | undefined;

  private constructor(exporter: OtlpRunExporter) {
    this.#exporter = exporter;
  }

  /** Undefined when neither --otlp-endpoint nor an OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variable asks for an export. */
  static async open(endpoint: string | undefined): Promise<RunExports | undefined> {
    const { OtlpRunExporter, resolveOtlpEndpoint } = await otlp();
    const target = resolveOtlpEndpoint({ endpoint, endpointSource: "--otlp-endpoint" });
    return target ? new RunExports(new OtlpRunExporter(target)) : undefined;
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
      const report = await this.#exporter.exportRun(db, executionId);
      this.#spans += report.spans;
      this.#sent.push(executionId);
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
