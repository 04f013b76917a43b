// The system clock's sleep: what the scripted agent's tool calls and the executor's backoff wait on.
import { describe, expect, test } from "vitest";
import { abortableSleep } from "../src/clock.js";

describe("abortableSleep", () => {
  test("never ends before its time has passed on performance.now(), though a timer may fire early", async () => {
    const short: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (const ms of [1, 2, 3, 5]) {
        const started = performance.now();
        await abortableSleep(ms);
        if (performance.now() - started < ms) short.push(ms);
      }
    }
    expect(short).toEqual([]);
  });

  test("an abort ends it at once, with the signal's reason; an aborted signal refuses to start", async () => {
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    await expect(abortableSleep(1, controller.signal)).rejects.toThrow("stop");
  });
});
