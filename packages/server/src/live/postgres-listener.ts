import pg from "pg";
import type { ChangeHub } from "./change-hub.js";

/** The channel the database's triggers announce changed executions on (see the notify_changes migration). */
const CHANGES_CHANNEL = "reev_changes";
/** How the listener's connection names itself in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = "reev-serve-listener";

type ListenerOptions = {
  url: string;
  hub: ChangeHub;
  log: (line: string) => void;
  /** The wait before the first reconnect; it doubles up to `maxRetryMs` (defaults 250 and 5,000). */
  retryMs?: number;
  maxRetryMs?: number;
};

/**
 * One dedicated connection (pg's Client, not the pool: LISTEN belongs to a session) that LISTENs for
 * committed changes from any process and passes each execution id to the hub. When the connection
 * is lost it reconnects with backoff and then tells every live view to catch up from the database,
 * since notifications sent meanwhile are gone.
 */
export class PostgresListener {
  readonly #options: ListenerOptions;
  #client: pg.Client | undefined;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #connected: Promise<void> | undefined;
  #failures = 0;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Connects and LISTENs; resolves once listening (the first time), rejects if the first attempt fails. */
  start(): Promise<void> {
    this.#connected ??= this.#connect();
    return this.#connected;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#options.url, application_name: LISTENER_APPLICATION_NAME });
    client.on("notification", (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) this.#options.hub.changed(message.payload);
    });
    // Both fire when the connection is lost (a restart, pg_terminate_backend): reconnect once.
    const lost = (error?: Error) => this.#lost(client, error);
    client.on("error", lost);
    client.on("end", () => lost());
    this.#client = client;
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.#failures = 0;
  }

  #lost(client: pg.Client, error?: Error): void {
    if (this.#stopped || this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners();
    client.on("error", () => {});
    void client.end().catch(() => {});
    this.#options.log(`Lost the notification connection${error ? ` (${error.message})` : ""}; reconnecting.`);
    this.#retry();
  }

  #retry(): void {
    const base = this.#options.retryMs ?? 250;
    const delay = Math.min(this.#options.maxRetryMs ?? 5_000, base * 2 ** this.#failures);
    this.#failures++;
    this.#retryTimer = setTimeout(() => {
      this.#connect().then(
        // Whatever was announced while we were away is lost: every live view reads the database again.
        () => this.#options.hub.changedAll(),
        (error: unknown) => {
          const client = this.#client;
          this.#client = undefined;
          client?.removeAllListeners();
          client?.on("error", () => {});
          void client?.end().catch(() => {});
          if (this.#stopped) return;
          this.#options.log(`Could not reconnect the notification connection: ${error instanceof Error ? error.message : String(error)}`);
          this.#retry();
        },
      );
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => {});
      await client.end().catch(() => {});
    }
  }
}
