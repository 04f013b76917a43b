/**
 * Time as the executor sees it: injectable so tests drive retries and backoff without waiting, and
 * so a timeout can be proven to abort without a timed unit test.
 */
export type Clock = {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

/**
 * The longest delay setTimeout honours: a larger one fires after 1 ms, so longer sleeps wait in
 * pieces of at most this.
 * @internal
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A timer that an AbortSignal cancels: the executor's backoff and the scripted agent's delays. It never
 * resolves before `ms` have passed on performance.now(): setTimeout counts from the event loop's
 * cached time and can fire up to a millisecond early, so what is left is waited too (a scripted 5 ms
 * tool call was measured at 4). @internal
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const end = performance.now() + ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const wait = (left: number) => {
      timer = setTimeout(
        () => {
          const rest = end - performance.now();
          if (rest > 0) return wait(rest);
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        Math.min(Math.ceil(left), MAX_TIMER_MS),
      );
    };
    wait(ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Never resolves; rejects with the signal's reason once it aborts (at once if it already has). @internal */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** The executor's clock unless one is passed. @internal */
export const systemClock: Clock = { now: () => Date.now(), sleep: abortableSleep };
