import { EventEmitter } from "node:events";

/**
 * "Something about execution X changed": the one signal live views wait for. It carries an id,
 * never data — a listener reads what changed from the database, so what it shows is always what was
 * committed. Runs started in this process signal it directly; on PostgreSQL the NOTIFY listener
 * signals it for writes made by any process.
 */
export class ChangeHub {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  /** An execution changed (a step stored, its transaction ended, it finished, it was consolidated). */
  changed(executionId: string): void {
    this.#emitter.emit("change", executionId);
  }

  /** Every execution may have changed (the notification connection was lost): listeners catch up. */
  changedAll(): void {
    this.#emitter.emit("change", undefined);
  }

  /**
   * Calls `listener` on each change of `executionId`, or of any execution when it is undefined, with
   * the id that changed (undefined after changedAll); returns the unsubscribe.
   */
  subscribe(executionId: string | undefined, listener: (changed: string | undefined) => void): () => void {
    const handler = (id: string | undefined) => {
      if (executionId === undefined || id === undefined || id === executionId) listener(id);
    };
    this.#emitter.on("change", handler);
    return () => this.#emitter.off("change", handler);
  }
}
