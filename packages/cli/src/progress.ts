import type { ExecutionEvent } from "@reev/orchestrator";
import { stepLine } from "./format.js";
import { clip, displayWidth } from "./text-table.js";

/** `name`: the flow's id, and with --repeat which of its runs ("flow run 2"). */
type Active = { name: string; total: number; stepIndex: number; stepId: string; attempt: number; note: string };

/** A flow's id, and which of its runs when it runs more than once: "weekly-rebalance-12 run 2". */
export const runName = (flowId: string, run: number | undefined) => (run === undefined ? flowId : `${flowId} run ${run}`);

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live progress for `reev run`. On a terminal: finished steps scroll by as lines and one status line,
 * redrawn in place, shows what every running execution is doing now. Elsewhere (CI logs, pipes):
 * plain lines only, one per event, so logs stay readable and greppable.
 */
export class ProgressReporter {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #active = new Map<string, Active>();
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = Boolean(out.isTTY) && !process.env.CI;
    if (this.#tty) this.#timer = setInterval(() => this.#redraw(), 120).unref();
  }

  /**
   * The listener of one run's events. With `run` (reev run --repeat), its lines name the run as reev
   * eval's do ("flow run 2"): the runs of one flow otherwise print alike.
   */
  handler(run?: number): (event: ExecutionEvent) => void {
    return (event) => this.#handle(event, run);
  }

  #handle(event: ExecutionEvent, run: number | undefined): void {
    switch (event.type) {
      case "execution-started":
        this.#active.set(event.executionId, {
          name: runName(event.flowId, run),
          total: event.totalSteps,
          stepIndex: 0,
          stepId: "",
          attempt: 1,
          note: "",
        });
        this.#print(`▶ ${this.#flow(event.executionId)}: ${event.executionId} (${event.totalSteps} steps)`);
        break;
      case "step-started": {
        const run = this.#active.get(event.executionId);
        if (run) Object.assign(run, { stepIndex: event.stepIndex, stepId: event.stepId, attempt: event.attempt, note: "" });
        if (!this.#tty && event.attempt === 1)
          this.#print(`  ${this.#flow(event.executionId)} step ${event.stepIndex} ${event.stepId} started`);
        this.#redraw();
        break;
      }
      case "step-retrying": {
        const run = this.#active.get(event.executionId);
        if (run) run.note = `retry in ${event.delayMs}ms`;
        this.#print(
          `  ${this.#flow(event.executionId)} step ${event.stepIndex} ${event.stepId} attempt ${event.attempt} failed (${clip(event.error, 80)}); retrying in ${event.delayMs}ms`,
        );
        break;
      }
      case "step-finished":
        this.#print(`  ${this.#flow(event.executionId)} ${stepLine(event.step)}`);
        break;
      case "execution-finished":
        this.#active.delete(event.result.executionId);
        this.#redraw();
        break;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#clearLine();
  }

  #flow(executionId: string): string {
    return this.#active.get(executionId)?.name ?? executionId;
  }

  #print(line: string): void {
    this.#clearLine();
    this.#out.write(`${line}\n`);
    this.#redraw();
  }

  #clearLine(): void {
    if (this.#tty && this.#drawn) this.#out.write("\r\x1b[2K");
    this.#drawn = false;
  }

  #redraw(): void {
    if (!this.#tty) return;
    this.#clearLine();
    if (!this.#active.size) return;
    this.#frame = (this.#frame + 1) % FRAMES.length;
    const parts = [...this.#active.values()].map(
      (r) =>
        `${r.name} ${r.stepIndex + 1}/${r.total} ${r.stepId}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ""}${r.note ? ` ${r.note}` : ""}`,
    );
    const width = Math.max(20, (this.#out.columns ?? 100) - 3);
    const line = `${FRAMES[this.#frame]} ${parts.join(" │ ")}`;
    this.#out.write(displayWidth(line) > width ? clip(line, width) : line);
    this.#drawn = true;
  }
}
