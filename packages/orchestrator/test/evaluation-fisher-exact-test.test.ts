import { describe, expect, it } from "vitest";
import { fisherExactTest, type Table2x2 } from "../src/evaluation/fisher-exact-test.js";

/** Relative closeness: p-values span many orders of magnitude. */
function expectRelativelyClose(actual: number, expected: number, relative = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * expected);
}

describe("fisherExactTest (two-sided)", () => {
  it("gives 0.4857 for Fisher's tea-tasting table (3 of 4 cups right): 17/35", () => {
    expect(
      fisherExactTest([
        [3, 1],
        [1, 3],
      ]),
    ).toBeCloseTo(0.4857, 4);
    expectRelativelyClose(
      fisherExactTest([
        [3, 1],
        [1, 3],
      ]),
      17 / 35,
    );
  });

  // Exact references, summed as fractions by python3's standard library (no floating point):
  //   from math import comb; from fractions import Fraction as F
  //   r1, r2, c1, n = a+b, c+d, a+c, a+b+c+d
  //   P = {x: F(comb(r1, x) * comb(r2, c1 - x), comb(n, c1)) for x in range(max(0, c1 - r2), min(r1, c1) + 1)}
  //   p = sum(q for q in P.values() if q <= P[a])
  it.each<[Table2x2, number]>([
    [
      [
        [1, 9],
        [11, 3],
      ],
      41 / 14858,
    ],
    [
      [
        [10, 0],
        [0, 10],
      ],
      1 / 92378,
    ],
    [
      [
        [9, 1],
        [3, 7],
      ],
      83 / 4199,
    ],
    [
      [
        [7, 3],
        [2, 8],
      ],
      293 / 4199,
    ],
    [
      [
        [5, 0],
        [1, 4],
      ],
      1 / 21,
    ],
    [
      [
        [0, 5],
        [0, 5],
      ],
      1,
    ],
    [
      [
        [0, 0],
        [0, 0],
      ],
      1,
    ],
    [
      [
        [0, 10],
        [0, 0],
      ],
      1,
    ],
  ])("%j has p = %f", (table, p) => {
    expectRelativelyClose(fisherExactTest(table), p);
  });

  it.each<[Table2x2, number]>([
    [
      [
        [1000, 2000],
        [1100, 1900],
      ],
      0.007364099121621439,
    ],
    [
      [
        [5000, 5000],
        [5100, 4900],
      ],
      0.16146929150845807,
    ],
    [
      [
        [2980, 20],
        [2955, 45],
      ],
      0.002490307279962274,
    ],
  ])("stays exact for thousands of runs: %j has p = %f", (table, p) => {
    expectRelativelyClose(fisherExactTest(table), p);
  });

  it("is symmetric: swapping rows, columns, or transposing leaves p unchanged", () => {
    const p = fisherExactTest([
      [9, 1],
      [3, 7],
    ]);
    expect(
      fisherExactTest([
        [3, 7],
        [9, 1],
      ]),
    ).toBeCloseTo(p, 14);
    expect(
      fisherExactTest([
        [1, 9],
        [7, 3],
      ]),
    ).toBeCloseTo(p, 14);
    expect(
      fisherExactTest([
        [9, 3],
        [1, 7],
      ]),
    ).toBeCloseTo(p, 14);
  });

  it("walks a support of 400,001 tables without spreading it onto the stack", () => {
    const p = fisherExactTest([
      [200_000, 200_000],
      [200_000, 200_000],
    ]);
    expect(p).toBe(1);
  });

  it.each([
    [
      [
        [1, -1],
        [0, 0],
      ],
      "[0][1]",
    ],
    [
      [
        [1.5, 1],
        [0, 0],
      ],
      "[0][0]",
    ],
    [[[1, 1], [0]], "[1]"],
    [
      [
        [6_000_000, 0],
        [0, 6_000_000],
      ],
      "(root)",
    ],
  ])("refuses %j, naming %s", (table, path) => {
    expect(() => fisherExactTest(table as Table2x2)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining(`  - ${path}: `) }),
    );
  });
});
