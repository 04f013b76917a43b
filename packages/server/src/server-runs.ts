import type { Database } from "@reev/db";
import { type Agent, type FlowPlan, PingPongExecutor, type PriceTable } from "@reev/orchestrator";
import type { ChangeHub } from "./live/change-hub.js";

/** Why runs that were still going are stopped when the server stops: recorded as their error. */
const SHUTDOWN_REASON = "server shutting down";

/**
 * The runs this server started (POST /executions). Each runs in this process and signals the hub as
 * it records, so its viewers see it live even on an embedded database. On shutdown each finishes
 * the step it is in, the rest are skipped, and the run is recorded failed with "server shutting down".
 */
export class ServerRuns {
  readonly #hub: ChangeHub;
  readonly #executor: PingPongExecutor;
  readonly #stop = new AbortController();
  readonly #running = new Set<Promise<void>>();
  readonly #log: (line: string) => void;

  /** `prices`: what each run's consolidation prices its tokens with (null: the cost is unknown). */
  constructor(db: Database, hub: ChangeHub, log: (line: string) => void, prices: PriceTable | null) {
    this.#hub = hub;
    this.#executor = new PingPongExecutor(db, { prices });
    this.#log = log;
  }

  get count(): number {
    return this.#running.size;
  }

  /**
   * Starts `plan` and resolves with its execution id once the execution row is stored (so the id can
   * be read at once), while the run goes on in the background. Rejects when not even that could be
   * stored.
   */
  start(plan: FlowPlan, agent: Agent): Promise<string> {
    if (this.#stop.signal.aborted) return Promise.reject(new Error(`The run was not started: ${SHUTDOWN_REASON}.`));
    let announce: (executionId: string) => void = () => {};
    const started = new Promise<string>((resolve) => {
      announce = resolve;
    });
    const run = this.#executor.execute(plan, agent, {
      stop: this.#stop.signal,
      onEvent: (event) => {
        const executionId = event.type === "execution-finished" ? event.result.executionId : event.executionId;
        if (event.type === "execution-started") announce(executionId);
        this.#hub.changed(executionId);
      },
    });
    const tracked: Promise<void> = run
      .then(
        // Consolidation moved the status after the last event: one more signal.
        (result) => this.#hub.changed(result.executionId),
        (error: unknown) =>
          this.#log(`A run of ${plan.flowId} could not be recorded: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
    return Promise.race([started, run.then((result) => result.executionId)]);
  }

  /** Stops every run at its next step boundary and waits until each is recorded. */
  async shutdown(): Promise<void> {
    this.#stop.abort(SHUTDOWN_REASON);
    await Promise.allSettled([...this.#running.values()]);
  }
}
