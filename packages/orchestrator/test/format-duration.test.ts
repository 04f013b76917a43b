import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration } from "../src/format-duration.js";

/** Reads a printed duration back in milliseconds, and says how far rounding may have moved it. */
function readBack(text: string): { ms: number; tolerance: number } {
  const ms = /^(\d+)ms$/.exec(text);
  if (ms) return { ms: Number(ms[1]), tolerance: 0.5 };
  const seconds = /^(\d+\.\d{2})s$/.exec(text);
  if (seconds) return { ms: Number(seconds[1]) * 1000, tolerance: 5 };
  const minutes = /^(\d+)m([0-5]\d)s$/.exec(text);
  if (minutes) return { ms: (Number(minutes[1]) * 60 + Number(minutes[2])) * 1000, tolerance: 500 };
  throw new Error(`not a duration reev prints: ${text}`);
}

describe("formatDuration", () => {
  it("picks the unit after rounding: never 1000ms, 60.00s or 1m60s", () => {
    const cases: [number, string][] = [
      [0, "0ms"],
      [0.4, "0ms"],
      [999.4, "999ms"],
      [999.5, "1.00s"],
      [4477, "4.48s"],
      [59_994, "59.99s"],
      [59_995, "1m00s"],
      [65_000, "1m05s"],
      [119_499, "1m59s"],
      [119_500, "2m00s"],
      [3_600_000, "60m00s"],
    ];
    expect(cases.map(([ms]) => formatDuration(ms))).toEqual(cases.map(([, text]) => text));
  });

  it('says "—" for a duration that was not measured, never 0', () => {
    expect([null, undefined, Number.NaN, Number.POSITIVE_INFINITY].map(formatDuration)).toEqual(["—", "—", "—", "—"]);
  });

  it("reads back within its rounding, and a longer duration never prints as a shorter one", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), (a, b) => {
        const [shorter, longer] = a <= b ? [a, b] : [b, a];
        const first = readBack(formatDuration(shorter));
        const second = readBack(formatDuration(longer));
        expect(Math.abs(first.ms - shorter)).toBeLessThanOrEqual(first.tolerance);
        expect(second.ms).toBeGreaterThanOrEqual(first.ms);
      }),
    );
  });
});
