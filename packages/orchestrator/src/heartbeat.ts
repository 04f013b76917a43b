/**
 * A running execution's (or evaluation's) sign of life: a beat after each recorded step and one every
 * `intervalMs` while an agent thinks, so `reev recover` on another host can tell a live run from a dead
 * one. `send` is the writer's beat for that row (`heartbeat`, `evaluationHeartbeat`).
 * Beats run one after another, never piling up; a failed beat is dropped, because the next step
 * write reports a database that is really gone, and a lost beat only makes the run look stale sooner.
 */
export class Heartbeat {
  readonly #send: () => Promise<unknown>;
  readonly #timer: NodeJS.Timeout;
  #last: Promise<unknown> = Promise.resolve();

  constructor(send: () => Promise<unknown>, intervalMs: number) {
    this.#send = send;
    // unref: a beat never keeps the process alive on its own.
    this.#timer = setInterval(() => this.beat(), intervalMs).unref();
  }

  beat(): void {
    this.#last = this.#last.then(() => this.#send()).catch(() => {});
  }

  /** No more beats; resolves once the last one has ended, so none outlives the run (or its database). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#last;
  }
}
