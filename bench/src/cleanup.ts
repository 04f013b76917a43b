/**
 * Everything the bench opens (PGlite engines, connections, temporary databases and directories) is
 * registered in a scope and released in reverse order when the scope ends — after an error, and on
 * Ctrl-C too.
 */
type Task = { name: string; run: () => Promise<void> | void };

const live = new Set<CleanupScope>();

export class CleanupScope {
  readonly #tasks: Task[] = [];
  #done: Promise<void> | undefined;

  constructor() {
    live.add(this);
  }

  defer(name: string, run: () => Promise<void> | void): void {
    this.#tasks.push({ name, run });
    // Opened after the scope closed (a signal arrived mid-open): release it at once.
    if (this.#done) this.#done = this.#done.then(() => this.#drain());
  }

  /** Runs every task (last registered first), reporting failures without stopping. Idempotent. */
  close(): Promise<void> {
    this.#done ??= this.#drain().finally(() => live.delete(this));
    return this.#done;
  }

  async #drain(): Promise<void> {
    while (this.#tasks.length) {
      const task = this.#tasks.pop()!;
      try {
        await task.run();
      } catch (error) {
        process.stderr.write(`cleanup: could not ${task.name}: ${(error as Error).message}\n`);
      }
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up…\n`);
    void Promise.all([...live].map((scope) => scope.close())).finally(() => process.exit(130));
  });
}
