import { describe, expect, it } from "vitest";
import { nearWords } from "../src/near-words.js";

describe("nearWords: the stored ids a not-found message offers", () => {
  it("names one as a guess, a few by count, and quotes an id a shell would split", () => {
    expect(nearWords({ ids: [], more: false }, "ids")).toBe("");
    expect(nearWords({ ids: ["exec_a1"], more: false }, "ids")).toBe(" Did you mean exec_a1?");
    expect(nearWords({ ids: ["exec_has space/and slash"], more: false }, "ids")).toBe(" Did you mean 'exec_has space/and slash'?");
    expect(nearWords({ ids: ["a1", "it's"], more: true }, "execution ids")).toBe(" At least 2 execution ids contain it: a1, 'it'\\''s'.");
    expect(nearWords({ ids: ["a", "b", "c", "d"], more: false }, "ids")).toBe(" 4 ids contain it; the newest 3: a, b, c.");
  });
});
