import type { JsonValue } from "@reev/db";
import { describe, expect, it } from "vitest";
import { findSubsetMismatch } from "../src/evaluation/json-subset.js";

describe("findSubsetMismatch", () => {
  const input = {
    inputMint: "SOL",
    amount: 2,
    options: { slippageBps: 50, dryRun: false, memo: null },
    route: [
      { dex: "orca", pct: 60 },
      { dex: "raydium", pct: 40 },
    ],
    tags: ["a", "b"],
    "odd key": 1,
  };

  it.each<[string, JsonValue]>([
    ["a subset of the keys", { amount: 2 }],
    ["nested objects by key", { options: { slippageBps: 50 } }],
    ["false and null as values, present", { options: { dryRun: false, memo: null } }],
    ["an array of the same length, elements as subsets", { route: [{ dex: "orca" }, { dex: "raydium" }] }],
    ["an exact array of scalars", { tags: ["a", "b"] }],
    ["an empty object", {}],
    ["the whole input", input],
  ])("contains %s", (_, subset) => {
    expect(findSubsetMismatch(subset, input)).toBeNull();
  });

  it.each<[string, JsonValue, string]>([
    ["a different number", { amount: 3 }, "input.amount is 2, expected 3"],
    ["no conversion between string and number", { amount: "2" }, 'input.amount is 2, expected "2"'],
    ["a missing key", { outputMint: "USDC" }, "input.outputMint is missing"],
    ["null for a missing key", { options: { fee: null } }, "input.options.fee is missing"],
    ["a nested difference", { options: { slippageBps: 100 } }, "input.options.slippageBps is 50, expected 100"],
    ["an array with fewer items", { tags: ["a"] }, "input.tags has 2 items, expected 1"],
    ["an array in another order", { tags: ["b", "a"] }, 'input.tags[0] is "a", expected "b"'],
    ["an element of an array", { route: [{ dex: "orca" }, { pct: 50 }] }, "input.route[1].pct is 40, expected 50"],
    ["an object where an array is", { tags: { 0: "a" } }, "input.tags is an array of 2, expected an object"],
    ["an array where an object is", { options: [] }, "input.options is an object, expected an array of 0"],
    ["a key that needs quoting", { "odd key": 2 }, 'input["odd key"] is 1, expected 2'],
    ["an object where a scalar is", { amount: { value: 2 } }, "input.amount is 2, expected an object"],
  ])("reports %s", (_, subset, reason) => {
    expect(findSubsetMismatch(subset, input)).toBe(reason);
  });

  it("does not take inherited keys as present", () => {
    expect(findSubsetMismatch({ toString: "x" }, {})).toBe("input.toString is missing");
  });

  it("describes an absent or scalar input", () => {
    expect(findSubsetMismatch({ amount: 2 }, undefined)).toBe("input is absent, expected an object");
    expect(findSubsetMismatch({ amount: 2 }, "swap 2 SOL")).toBe('input is "swap 2 SOL", expected an object');
    expect(findSubsetMismatch("x".repeat(100), "y".repeat(100))).toBe(`input is "${"y".repeat(59)}…, expected "${"x".repeat(100)}"`);
  });
});
