import type { DatabaseWriter } from "@reev/db";

/**
 * A running execution's sign of life: a beat after each recorded step and one every `intervalMs`
 * while an agent thinks, so `reev recover` on another host can tell a live run from a dead one.
 * Beats run one after another, never piling up; a failed beat is dropped, because the next step
 * write reports a database that is really gone, and a lost beat only makes the run look stale sooner.
 */
export class Heartbeat {
  readonly #writer: DatabaseWriter;
  readonly #executionId: string;
  readonly #timer: NodeJS.Timeout;
  #last: Promise<unknown> = Promise.resolve();

  constructor(writer: DatabaseWriter, executionId: string, intervalMs: number) {
    this.#writer = writer;
    this.#executionId = executionId;
    // unref: a beat never keeps the process alive on its own.
    this.#timer = setInterval(() => this.beat(), intervalMs).unref();
  }

  beat(): void {
    this.#last = this.#last.then(() => this.#writer.heartbeat(this.#executionId)).catch(() => {});
  }

  /** No more beats; resolves once the last one has ended, so none outlives the run (or its database). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#last;
  }
}
