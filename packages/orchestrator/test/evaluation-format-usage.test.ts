// The one signed formatter of comparisons (terminal, HTML, viewer): float noise is no change.
import { describe, expect, it } from "vitest";
import { formatSigned, formatUsd, scoredRuns } from "../src/evaluation/format-usage.js";
import { formatDuration } from "../src/format-duration.js";

const twoDigits = (n: number) => n.toFixed(2);

describe("formatSigned", () => {
  it("signs a difference that shows, with the minus sign asked for", () => {
    expect(formatSigned(0.25, twoDigits)).toBe("+0.25");
    expect(formatSigned(-0.25, twoDigits)).toBe("-0.25");
    expect(formatSigned(-0.25, twoDigits, "−")).toBe("−0.25");
    expect(formatSigned(-0.005, twoDigits)).toBe("-0.01");
  });

  it("reads ± for a difference that formats as zero, float noise included", () => {
    expect(formatSigned(0, twoDigits)).toBe("±0.00");
    // 0.7 + 0.1 vs 0.4 + 0.4, averaged: 5.55e-17 apart.
    expect(formatSigned((0.4 + 0.4) / 2 - (0.7 + 0.1) / 2, twoDigits)).toBe("±0.00");
    expect(formatSigned(1.1e-16, twoDigits)).toBe("±0.00");
    expect(formatSigned(-0.004, twoDigits, "−")).toBe("±0.00");
    expect(formatSigned(0.4, (n) => formatDuration(n))).toBe(`±${formatDuration(0)}`);
  });

  it("keeps a small difference that still shows, and says — when unknown", () => {
    expect(formatSigned(0.00004, formatUsd)).toBe("+$0.000040");
    expect(formatSigned(null, twoDigits)).toBe("—");
  });
});

describe("scoredRuns", () => {
  it("counts the runs a score summary is over", () => {
    expect(scoredRuns({ count: 3, missing: 2 })).toBe("3/5 scored");
    expect(scoredRuns({ count: 0, missing: 0 })).toBe("0/0 scored");
  });
});
