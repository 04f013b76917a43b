// Ctrl-C and SIGTERM during a command that runs flows (`reev run`, `reev demo`, `reev eval`), or that
// works in steps it can stop between (`reev purge` between two batches, `reev recover` between two
// runs, `reev consolidate` before it begins, `reev export` before its document is out or between two
// requests; `reev migrate` and `reev import` say what they do with it in their own words). Node's default is to die on
// the spot, leaving every run `running` with its consolidation pending forever. Instead, the first
// signal aborts the runs' AbortSignal: each current agent call is stopped, its step recorded as failed
// ("interrupted (SIGINT)"), the rest skipped, the run finished as `cancelled` and its committed steps
// consolidated; the command then prints its summary and exits with 128 + the signal's number, as a
// shell reports a process the signal killed (130 for SIGINT, 143 for SIGTERM), so scripts and
// supervisors can tell an interruption from a failure. A second signal exits at once: the runs still
// going are left to `reev recover`, which finds them by their dead owner. Only the same signal again
// counts as the second one (see the handler).
import { constants } from "node:os";
import { CliError, errorText } from "./cli-error.js";
import type { CliIO } from "./context.js";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
export type InterruptSignal = (typeof SIGNALS)[number];

/** 128 + the signal's number: the exit status a shell shows for a process that signal ended. */
export const interruptExitCode = (signal: InterruptSignal) => 128 + constants.signals[signal];

export type Interrupted<T> = { value: T; interrupted: InterruptSignal | undefined };

/** The reason withInterrupts aborts its signal with: "interrupted (SIGINT)", what a stopped step records, and which signal it was. */
export class Interruption extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted (${signal})`);
  }
}

/** The signal that aborted `signal` (withInterrupts'), or undefined while it has not. */
export const interruptionOf = (signal: AbortSignal | undefined): InterruptSignal | undefined =>
  signal?.aborted && signal.reason instanceof Interruption ? signal.reason.signal : undefined;

/**
 * Whether a signal has come, once the event loop has polled for one: a command that works in units it
 * can stop between (a run recovered, a batch purged) asks before each. A signal's handler runs only in
 * the loop's I/O poll, and on PGlite queries settle in microtasks, so a loop of them never reached it.
 * Two turns: the first setImmediate may run straight after the poll under way, the second only after
 * the next one.
 */
export async function interruptHeard(signal: AbortSignal | undefined): Promise<InterruptSignal | undefined> {
  if (!signal) return undefined;
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  return interruptionOf(signal);
}

/** Removes the startup guard's handlers; undefined once it has ended (or never began). */
let endGuard: (() => void) | undefined;
/** The commands whose action takes the signals over with withInterrupts, before it does anything. */
const TAKES_OVER = new WeakSet<object>();

/**
 * From the process's first line until a command begins: loading reev's modules takes a second or
 * more, and a Ctrl-C then ended the process by Node's default, silently. Now it is said, with what
 * was done (nothing yet) and what to do. Ended by withInterrupts (which takes over) or, for a command
 * that does not use it, as its action begins (`endStartupGuard`): from there Ctrl-C is the command's.
 */
export function guardStartup(io: CliIO, json: boolean, exit: (code: number) => never = (code) => process.exit(code)): void {
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      const words = `Interrupted (${name}) while reev was starting: nothing was run or recorded. Run the command again to do it.`;
      // With --json, stderr carries one JSON error line, as for any other error.
      io.stderr.write(json ? errorText(new CliError("INTERRUPTED", words), true) : `${words}\n`);
      exit(interruptExitCode(name));
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  endGuard = () => {
    for (const [name, handler] of handlers) process.off(name, handler);
    endGuard = undefined;
  };
}

/** Ends the startup guard (a no-op when there is none). */
export const endStartupGuard = () => endGuard?.();

/** Marks a command whose action calls withInterrupts first: the startup guard stays until that takes over, no gap between. */
export function takesOverInterrupts<C extends object>(command: C): C {
  TAKES_OVER.add(command);
  return command;
}

export const takesOverInterruptsOf = (command: object) => TAKES_OVER.has(command);

/**
 * How many of the command's runs have started at this moment. The notices are worded by it: a signal
 * before the first run starts has no step to stop and leaves nothing for `reev recover`.
 */
export type RunsStarted = () => number;

/**
 * `reev recover` as the user can type it, or null on an in-memory database: nothing outlives the
 * process there, so there is nothing for recover to finish (it was suggested all the same).
 */
export type Recover = string | null;

const IN_MEMORY_GOES = "the in-memory database goes with the process";

/** How to exit at once once `name` came: only the same signal again does (see withInterrupts), so not Ctrl-C after a SIGTERM. */
export const againToExit = (name: InterruptSignal) => (name === "SIGINT" ? "Press Ctrl-C again" : "Send SIGTERM again");

/** The end of every interrupt notice: "Press Ctrl-C again to exit at once." (or SIGTERM's). */
export const exitAtOnce = (name: InterruptSignal) => `${againToExit(name)} to exit at once.`;

/**
 * What a command that ran flows still does once every run has ended, for the second signal's words:
 * `work`, what exiting cuts short ("its summary and the runs' diagrams"); `draw`, the command that
 * draws a run's diagram later (null: none, or nothing outlives the process).
 */
export type AfterRuns = { work: string; draw: string | null };

/**
 * The first signal's notice: what stopping does, given the runs started then (undefined: not counted).
 * `recover` is `reev recover` as the user can type it (see hint.ts, which this module, loaded before
 * anything else, does not import: it needs @reev/db).
 */
export function interruptNotice(name: InterruptSignal, started: number | undefined, recover: Recover = "reev recover"): string {
  if (started === 0) return `\nInterrupted (${name}): no run had started, and none will. ${exitAtOnce(name)}\n`;
  return (
    `\nInterrupted (${name}): stopping each run's current step, recording it as failed and finishing the run as cancelled.\n` +
    `${againToExit(name)} to exit at once (${recover === null ? IN_MEMORY_GOES : `then ${recover} finishes the runs`}).\n`
  );
}

/**
 * The second signal's notice, as it exits at once. `going`: the runs started and not yet ended
 * (undefined: not counted); with none, exiting cuts short only `after`, the work that follows them.
 */
export function againNotice(
  name: InterruptSignal,
  started: number | undefined,
  recover: Recover = "reev recover",
  { going, after }: { going?: number | undefined; after?: AfterRuns | undefined } = {},
): string {
  if (started === 0) return `\n${name} again: exiting at once. No run had started.\n`;
  if (going === 0 && after) {
    const kept =
      recover === null
        ? `; ${IN_MEMORY_GOES}`
        : `: each is finished and recorded${after.draw ? `; ${after.draw} draws a run's diagram` : ""}`;
    return `\n${name} again: exiting at once, cutting short ${after.work}. No run was still going${kept}.\n`;
  }
  if (recover === null) return `\n${name} again: exiting at once; ${IN_MEMORY_GOES}, and nothing of the runs remains.\n`;
  return `\n${name} again: exiting at once. Runs still going stay "running" until ${recover} finishes them.\n`;
}

/** An interruption's words: each command says what stopping means for its own work. "" prints nothing (`--json`). */
export type InterruptNotices = {
  /** The first signal: what stopping does now. */
  first(name: InterruptSignal): string;
  /** The same signal again, as the process exits at once: what that leaves. */
  again(name: InterruptSignal): string;
  /** Another signal while stopping (see withInterrupts). */
  already(name: InterruptSignal, first: InterruptSignal): string;
};

/**
 * Another signal while stopping. A SIGTERM right after Ctrl-C is most often pnpm's (it forwards one to
 * `pnpm reev`): said so, since the user sent none and "SIGTERM after SIGINT" read like a second fault.
 */
export const alreadyStopping = (name: InterruptSignal, first: InterruptSignal) =>
  name === "SIGTERM" && first === "SIGINT"
    ? "A SIGTERM came too (pnpm sends one after Ctrl-C): still stopping; Ctrl-C again exits at once.\n"
    : `Already stopping (${name} after ${first}); ${first} again exits at once.\n`;

/**
 * The notices of a command that stops at a point of its own choosing (migrate, purge, recover,
 * consolidate, export): `first` says what stopping does, `again` what exiting at once leaves. With
 * --json stderr carries one JSON error line and nothing else: the first signal says nothing (the
 * command's INTERRUPTED line comes as it ends, see writeInterrupted), the second says its words as that line.
 */
export function stopNotices(
  json: boolean,
  words: { first(name: InterruptSignal): string; again(name: InterruptSignal): string },
): InterruptNotices {
  return {
    first: (name) => (json ? "" : `\n${words.first(name)}\n`),
    again: (name) => (json ? errorText(new CliError("INTERRUPTED", words.again(name)), true) : `\n${words.again(name)}\n`),
    already: (name, first) => (json ? "" : alreadyStopping(name, first)),
  };
}

/**
 * What an interrupted command did and left, said last: on stdout after its report (on stderr with
 * `stream`, where stdout is a document: reev export), or with --json as the INTERRUPTED error line on
 * stderr (the report, on stdout, stays one JSON document).
 */
export function writeInterrupted(io: CliIO, json: boolean, words: string, stream: keyof CliIO = "stdout"): void {
  if (json) io.stderr.write(errorText(new CliError("INTERRUPTED", words), true));
  else io[stream].write(`${words}\n`);
}

/**
 * The notices of a command that runs flows, worded by the runs started and still going at each signal
 * (undefined: not counted), and with `after`, what the command does once they have all ended.
 */
export const runNotices = ({
  runsStarted,
  runsGoing,
  recover,
  after,
}: {
  runsStarted?: RunsStarted;
  runsGoing?: () => number;
  recover?: Recover;
  after?: AfterRuns;
} = {}): InterruptNotices => ({
  first: (name) => interruptNotice(name, runsStarted?.(), recover),
  again: (name) => againNotice(name, runsStarted?.(), recover, { going: runsGoing?.(), after }),
  already: alreadyStopping,
});

/**
 * Runs `work` with an AbortSignal that the first SIGINT or SIGTERM aborts (its reason's message is
 * "interrupted (SIGINT)", what the stopped step records); the same signal again calls `exit` at once. The
 * handlers are removed when `work` ends, whatever way. `notices` words what each signal means for the
 * command (default: a command that runs flows, its runs not counted).
 */
export async function withInterrupts<T>(
  io: CliIO,
  work: (signal: AbortSignal) => Promise<T>,
  { notices = runNotices(), exit = (code) => process.exit(code) }: { notices?: InterruptNotices; exit?: (code: number) => never } = {},
): Promise<Interrupted<T>> {
  const controller = new AbortController();
  let interrupted: InterruptSignal | undefined;
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      if (interrupted === name) {
        io.stderr.write(notices.again(name));
        exit(interruptExitCode(name));
      }
      // Another signal while stopping is the same request: `pnpm reev` forwards a SIGTERM to reev
      // right after the terminal's SIGINT reached both, and must not cut the stopping short.
      if (interrupted) {
        io.stderr.write(notices.already(name, interrupted));
        return;
      }
      interrupted = name;
      io.stderr.write(notices.first(name));
      controller.abort(new Interruption(name));
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  // After this command's handlers are on: a signal between the two finds one of them.
  endStartupGuard();
  try {
    const value = await work(controller.signal);
    return { value, interrupted };
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
  }
}
