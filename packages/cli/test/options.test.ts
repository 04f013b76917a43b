// The duration options (purge --older-than, serve --retention) and how an age is printed back.
import { describe, expect, it } from "vitest";
import { duration, formatAge } from "../src/options.js";

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
