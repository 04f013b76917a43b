// The one formatter for the path of a bad field, used by every error that names one.
import { describe, expect, it } from "vitest";
import { formatIssuePath } from "../src/index.js";

describe("formatIssuePath", () => {
  it("writes dot and bracket paths", () => {
    expect(formatIssuePath(["steps", 2, "retry", "attempts"])).toBe("steps[2].retry.attempts");
    expect(formatIssuePath(["context", "a-b", "c"])).toBe('context["a-b"].c');
    expect(formatIssuePath([])).toBe("");
  });
});
