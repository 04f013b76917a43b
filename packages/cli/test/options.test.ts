// The duration options (purge --older-than, serve --retention, recover --stale-after and --older-than) and how an age is printed back.
import { describe, expect, it } from "vitest";
import { duration, formatAge } from "../src/options.js";

describe("duration", () => {
  const refusal = (flag: string, value: string, why: string) =>
    `${flag} must be a whole number and a unit (s, m, h, d or w), such as 30d or 12h; got "${value}": ${why}.`;

  it("reads a whole number and a unit as milliseconds; zero is allowed unless it must be positive", () => {
    const parse = duration("--older-than");
    expect([parse("90s"), parse("15m"), parse("12h"), parse("30d"), parse("2w"), parse("0d")]).toEqual([
      90_000, 900_000, 43_200_000, 2_592_000_000, 1_209_600_000, 0,
    ]);
    // Written right, out of range: the message says the range, not the form.
    expect(() => duration("--stale-after", { positive: true })("0s")).toThrow('--stale-after must be more than zero; got "0s".');
  });

  it("refuses a bare number, a sign, a fraction and what is over the limit, saying why", () => {
    const parse = duration("--older-than");
    expect(() => parse("7")).toThrow(refusal("--older-than", "7", "it has no unit"));
    expect(() => parse("-1d")).toThrow(refusal("--older-than", "-1d", "it is negative"));
    expect(() => parse("1.5d")).toThrow(refusal("--older-than", "1.5d", "it is not a duration"));
    expect(() => parse("99999999999w")).toThrow(refusal("--older-than", "99999999999w", "it is too long"));
    const capped = duration("--stale-after", { maxMs: 24 * 86_400_000 });
    expect(capped("24d")).toBe(24 * 86_400_000);
    expect(() => capped("25d")).toThrow('--stale-after can be at most 24d; got "25d".');
  });

  it("names the duration a unit in capitals or in words most likely meant, but never reads M as minutes", () => {
    const parse = duration("--older-than");
    for (const [given, meant] of [
      ["7D", "7d"],
      ["2W", "2w"],
      ["30 days", "30d"],
      ["1day", "1d"],
      ["12 hours", "12h"],
      ["90 Secs", "90s"],
      ["15min", "15m"],
    ] as const)
      expect(() => parse(given)).toThrow(`${refusal("--older-than", given, "it is not a duration")} Did you mean ${meant}?`);
    // M may be months: no guess at all, and none for a unit that is not one.
    for (const given of ["7M", "6 months", "3y"]) {
      expect(() => parse(given)).toThrow(refusal("--older-than", given, "it is not a duration"));
      expect(() => parse(given)).not.toThrow(/Did you mean/);
    }
  });
});

describe("formatAge", () => {
  it("prints an age in its largest whole unit, as --older-than reads it back", () => {
    const parse = duration("--older-than");
    for (const written of ["30d", "2w", "12h", "90m", "45s", "0d"]) expect(formatAge(parse(written))).toBe(written);
    expect(formatAge(parse("14d"))).toBe("2w");
    expect(formatAge(parse("120m"))).toBe("2h");
  });

  it("prints zero as 0d, not in whichever unit happens to come first", () => {
    expect(formatAge(0)).toBe("0d");
  });
});
