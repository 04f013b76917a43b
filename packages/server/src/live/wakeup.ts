/**
 * A streaming loop's wait: until something changed (or the stream should end), or until the
 * heartbeat is due. A signal that comes while the loop is busy is kept, so the next wait returns at
 * once and nothing that happened between two reads is missed.
 */
export class Wakeup {
  #pending = false;
  #wake: () => void = () => {};

  /** Something happened: the waiting loop (or its next wait) goes on at once. */
  signal(): void {
    this.#pending = true;
    this.#wake();
  }

  /** "changed" once signalled (at once if it was since the last wait), "timeout" after `ms`. */
  wait(ms: number): Promise<"changed" | "timeout"> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve("changed");
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = () => {};
        resolve("timeout");
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = () => {};
        this.#pending = false;
        resolve("changed");
      };
    });
  }
}
