import { describe, expect, it } from "vitest";
import { formatPercent, percent } from "../src/index.js";

describe("formatPercent: rates as every view shows them", () => {
  it("one decimal; never 100.0% or 0.0% for a rate that is not exactly that", () => {
    expect([100, 99.95, (2999 / 3000) * 100, 99.94, 50, 0.05, (1 / 3000) * 100, 0].map(formatPercent)).toEqual([
      "100.0%",
      ">99.9%",
      ">99.9%",
      "99.9%",
      "50.0%",
      "0.1%",
      "<0.1%",
      "0.0%",
    ]);
  });

  it("no data is —, and a fraction (percent) reads the same way", () => {
    expect([null, undefined].map(formatPercent)).toEqual(["—", "—"]);
    expect([2999 / 3000, 1, 0, null].map(percent)).toEqual([">99.9%", "100.0%", "0.0%", "—"]);
  });
});
