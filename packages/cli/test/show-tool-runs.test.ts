import { describe, expect, it } from "vitest";
import { runsOf } from "../src/commands/show.js";

describe("reev show's tool calls cell", () => {
  it("says a run of the same call once, with its count, and keeps the order of the others", () => {
    expect(runsOf([])).toBe("");
    expect(runsOf(["quote"])).toBe("quote");
    expect(runsOf(["quote", "swap", "swap", "✗swap", "quote"])).toBe("quote, swap ×2, ✗swap, quote");
    expect(runsOf(Array.from({ length: 50_000 }, () => "get_balance"))).toBe("get_balance ×50000");
  });
});
