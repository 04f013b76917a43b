import type { Database, PurgeReport } from "@reev/db";

export type RetentionOptions = {
  /** Runs that finished at least this long ago are purged (as `reev purge --older-than`). */
  olderThanMs: number;
  /** How often the purge runs; the first run is when the server starts listening. Default: hourly. */
  intervalMs?: number;
};

const DEFAULT_INTERVAL_MS = 60 * 60_000;

/** "1 step", "2 steps". */
const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One line for the log: what a purge deleted, table by table. */
function purgeSummary(report: PurgeReport): string {
  const d = report.deleted;
  return (
    `retention: purged ${count(d.executions, "run")} that finished before ${report.cutoff.toISOString()} ` +
    `(${count(d.steps, "step")}, ${count(d.stepAttempts, "attempt")}, ${count(d.toolCalls, "tool call")}, ` +
    `${count(d.consolidatedSessions, "consolidated session")}; ${report.batches} ${report.batches === 1 ? "batch" : "batches"}` +
    `${report.complete ? "" : "; stopped by the shutdown"})`
  );
}

/**
 * `reev serve --retention`: the purge of `reev purge`, at start and then every `intervalMs`. One purge
 * at a time (a slow one delays the next instead of overlapping it); `stop` ends it between two of its
 * batches and waits for the batch under way, so the database can be closed right after.
 */
export class RetentionSchedule {
  readonly #db: Database;
  readonly #options: Required<RetentionOptions>;
  readonly #log: (line: string) => void;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(db: Database, options: RetentionOptions, log: (line: string) => void) {
    this.#db = db;
    this.#options = { intervalMs: DEFAULT_INTERVAL_MS, ...options };
    this.#log = log;
  }

  start(): void {
    if (this.#running || this.#stop.signal.aborted) return;
    this.#run();
  }

  #run(): void {
    if (this.#stop.signal.aborted) return;
    this.#running = this.#db.writer
      .purgeExecutions({ olderThanMs: this.#options.olderThanMs }, { signal: this.#stop.signal })
      .then(
        (report) => this.#log(purgeSummary(report)),
        // A failed purge (the database away a moment) is logged; the next one tries again.
        (error: unknown) => this.#log(`retention: the purge failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        if (!this.#stop.signal.aborted) this.#timer = setTimeout(() => this.#run(), this.#options.intervalMs);
      });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }
}
