import { describe, expect, it } from "vitest";
import { passAtK, passHatK } from "../src/evaluation/pass-at-k.js";
import { passRate } from "../src/evaluation/pass-rate.js";

/** An INVALID_ARGUMENT error naming `path`, whose message lists `path: message`. */
const invalidAt = (path: string, message: string) =>
  expect.objectContaining({ code: "INVALID_ARGUMENT", path, message: expect.stringContaining(`${path}: ${message}`) });

describe("passRate (95% Wilson score interval)", () => {
  // Newcombe 1998, "Two-sided confidence intervals for the single proportion", Table I, method 3
  // (score interval without continuity correction), printed to 4 decimals.
  it.each([
    [81, 263, 0.308, 0.2553, 0.3662],
    [15, 148, 0.1014, 0.0624, 0.1605],
    [0, 20, 0, 0, 0.1611],
    [1, 29, 0.0345, 0.0061, 0.1718],
    [29, 29, 1, 0.883, 1],
  ])("%i of %i: rate %f, interval [%f, %f] (Newcombe 1998)", (passes, runs, rate, low, high) => {
    const result = passRate({ runs, passes });
    expect(result?.rate).toBeCloseTo(rate, 4);
    expect(result?.low).toBeCloseTo(low, 4);
    expect(result?.high).toBeCloseTo(high, 4);
  });

  it("matches the formula worked by hand for 5 of 10", () => {
    // p = 0.5, z² = 3.8414588, 1 + z²/n = 1.3841459; centre = (0.5 + 0.1920729) / 1.3841459 = 0.5;
    // half = (1.9599640 / 1.3841459) · √(0.025 + 0.0096036) = 1.4160097 · 0.1860206 = 0.2634069.
    expect(passRate({ runs: 10, passes: 5 })).toEqual({
      rate: 0.5,
      low: expect.closeTo(0.2365931, 7),
      high: expect.closeTo(0.7634069, 7),
    });
  });

  it("gives exact bounds at 0 and n passes, never certainty from five runs", () => {
    expect(passRate({ runs: 5, passes: 0 })).toEqual({ rate: 0, low: 0, high: expect.closeTo(0.434482, 6) });
    expect(passRate({ runs: 5, passes: 5 })).toEqual({ rate: 1, low: expect.closeTo(0.565518, 6), high: 1 });
  });

  it("is null for no runs: the rate of nothing is undefined, not 0", () => {
    expect(passRate({ runs: 0, passes: 0 })).toBeNull();
  });

  it.each([
    [{ runs: 3, passes: 4 }, "passes", "must not exceed runs"],
    [{ runs: -1, passes: 0 }, "runs", "must be 0 or more"],
    [{ runs: 2.5, passes: 0 }, "runs", "must be a whole number"],
    [{ runs: 2, passes: 1, pases: 1 }, "pases", "Unrecognized key"],
  ])("refuses %j, naming %s", (counts, path, message) => {
    expect(() => passRate(counts as never)).toThrow(invalidAt(path, message));
  });
});

describe("passAtK and passHatK", () => {
  // Hand-computed from the definitions with n = 5 runs:
  //   pass@k = 1 − C(n−c, k)/C(n, k),  pass^k = C(c, k)/C(n, k).
  // c = 2: C(3,1)/C(5,1) = 3/5, C(3,2)/C(5,2) = 3/10, C(3,3)/C(5,3) = 1/10, C(3,4) = 0;
  //        C(2,1)/C(5,1) = 2/5, C(2,2)/C(5,2) = 1/10, C(2,3) = 0.
  // c = 4: C(1,1)/C(5,1) = 1/5; C(4,2)/C(5,2) = 6/10, C(4,4)/C(5,4) = 1/5.
  it.each([
    // n, c, k, pass@k, pass^k
    [5, 2, 1, 0.4, 0.4],
    [5, 2, 2, 0.7, 0.1],
    [5, 2, 3, 0.9, 0],
    [5, 2, 4, 1, 0],
    [5, 2, 5, 1, 0],
    [5, 4, 1, 0.8, 0.8],
    [5, 4, 2, 1, 0.6],
    [5, 4, 4, 1, 0.2],
    [5, 4, 5, 1, 0],
    // c = 0 and c = n
    [5, 0, 1, 0, 0],
    [5, 0, 5, 0, 0],
    [5, 5, 1, 1, 1],
    [5, 5, 5, 1, 1],
    // n = 1
    [1, 1, 1, 1, 1],
    [1, 0, 1, 0, 0],
    // C(7,3)/C(10,3) = 35/120: pass@3 = 85/120; C(7,3)/C(10,3) also for pass^3 with c = 7
    [10, 3, 3, 85 / 120, 1 / 120],
    [10, 7, 3, 119 / 120, 35 / 120],
  ])("n=%i c=%i k=%i: pass@k %f, pass^k %f", (runs, passes, k, atK, hatK) => {
    expect(passAtK({ runs, passes, k })).toBeCloseTo(atK, 12);
    expect(passHatK({ runs, passes, k })).toBeCloseTo(hatK, 12);
  });

  it("pass@1 and pass^1 are the pass rate", () => {
    expect(passAtK({ runs: 7, passes: 3, k: 1 })).toBeCloseTo(3 / 7, 14);
    expect(passHatK({ runs: 7, passes: 3, k: 1 })).toBeCloseTo(3 / 7, 14);
  });

  it.each([
    [5, 2, 6],
    [5, 5, 6],
    [5, 0, 6],
    [0, 0, 1],
  ])("n=%i c=%i k=%i (k > n) is null, never an extrapolation", (runs, passes, k) => {
    expect(passAtK({ runs, passes, k })).toBeNull();
    expect(passHatK({ runs, passes, k })).toBeNull();
  });

  // Exact references from python3's standard library:
  //   from math import comb; from fractions import Fraction as F
  //   float(1 - F(comb(n - c, k), comb(n, k))), float(F(comb(c, k), comb(n, k)))
  it.each([
    [10, 3, 2, 0.5333333333333333, 1 / 15],
    [10, 7, 3, 0.9916666666666667, 0.2916666666666667],
    [200, 7, 50, 0.8712245647066278, 0],
    [2000, 10, 100, 0.40197398173680804, 0],
    [2000, 1990, 100, 1, 0.598026018263192],
  ])("n=%i c=%i k=%i agrees with exact rational arithmetic", (runs, passes, k, atK, hatK) => {
    expect(passAtK({ runs, passes, k })).toBeCloseTo(atK, 12);
    expect(passHatK({ runs, passes, k })).toBeCloseTo(hatK, 12);
  });

  it("stays finite where the binomials overflow a double (C(3000, 1500) > 1.8e308)", () => {
    // python3: 0.9688541492476137 and 0.031145850752386264
    expect(passAtK({ runs: 3000, passes: 5, k: 1500 })).toBeCloseTo(0.9688541492476137, 12);
    expect(passHatK({ runs: 3000, passes: 2995, k: 1500 })).toBeCloseTo(0.031145850752386264, 12);
  });

  it.each([
    [{ runs: 5, passes: 2, k: 0 }, "k", "must be 1 or more"],
    [{ runs: 5, passes: 6, k: 1 }, "passes", "must not exceed runs"],
    [{ runs: 5, passes: 2, k: 1.5 }, "k", "must be a whole number"],
    [{ runs: 5, passes: 2 }, "k", ""],
  ])("refuses %j, naming %s", (input, path, message) => {
    expect(() => passAtK(input as never)).toThrow(invalidAt(path, message));
    expect(() => passHatK(input as never)).toThrow(invalidAt(path, message));
  });
});
