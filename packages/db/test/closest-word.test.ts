import { describe, expect, it } from "vitest";
import { closestWord } from "../src/closest-word.js";

const STATUSES = ["running", "completed", "failed", "timed_out", "rolled_back", "cancelled"];

describe("closestWord", () => {
  it.each([
    ["runing", STATUSES, "running"], // a letter left out
    ["runnign", STATUSES, "running"], // two letters swapped: one slip
    ["Failed", STATUSES, "failed"], // case aside
    ["cancelld", STATUSES, "cancelled"],
    ["josn", ["table", "json", "html"], "json"], // a swap in a short word
    ["jsn", ["table", "json", "html"], "json"],
    ["flow", ["status", "flowId", "q"], "flowId"], // a name cut short: the one word it begins
    ["backof", ["attempts", "backoffMs"], "backoffMs"],
    ["COMP", STATUSES, "completed"],
  ])("%s → %s", (word, known, guess) => {
    expect(closestWord(word, known)).toBe(guess);
  });

  it.each([
    ["done", STATUSES], // two edits from "none" of them: a short word takes one
    ["svg", ["mmd", "html"]],
    ["xml", ["json", "jsonl", "otlp"]],
    ["finished", STATUSES],
    ["co", STATUSES], // two letters begin nearly anything
    ["back", ["backoffMs", "backlog"]], // the start of two words: which one is a guess
  ])("%s: nothing close enough", (word, known) => {
    expect(closestWord(word, known)).toBeUndefined();
  });

  it("the nearest of several within reach", () => {
    expect(closestWord("jsonl", ["json", "jsonl"])).toBe("jsonl");
    expect(closestWord("jsonll", ["json", "jsonl"])).toBe("jsonl");
  });
});
