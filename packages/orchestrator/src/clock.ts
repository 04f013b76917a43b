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
 * The longest delay setTimeout honours: a larger one fires after 1 ms, so delays are capped to it.
 * @internal
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A timer that an AbortSignal cancels: the executor's backoff and the scripted agent's delays. @internal */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.min(ms, MAX_TIMER_MS),
    );
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
