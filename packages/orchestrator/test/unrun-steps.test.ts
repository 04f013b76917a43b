import { describe, expect, it } from "vitest";
import { unrunStepsWords } from "../src/unrun-steps.js";

const plan = (n: number) => ({ steps: Array.from({ length: n }, (_, i) => `step_${i}`) });

describe("unrunStepsWords", () => {
  it("says one missing step in the singular and more in the plural, for a running run and a finished one", () => {
    expect(unrunStepsWords(plan(8), 7, "running")).toBe("1 of the 8 planned steps is not recorded yet");
    expect(unrunStepsWords(plan(8), 6, "running")).toBe("2 of the 8 planned steps are not recorded yet");
    expect(unrunStepsWords(plan(8), 7, "failed")).toBe("1 of the 8 planned steps has no record (it never ran, or was rolled back)");
    expect(unrunStepsWords(plan(8), 0, "cancelled")).toBe("8 of the 8 planned steps have no record (they never ran, or were rolled back)");
  });

  it("says nothing when every planned step has a record or the plan was not recorded", () => {
    expect(unrunStepsWords(plan(3), 3, "running")).toBeUndefined();
    expect(unrunStepsWords({}, 1, "running")).toBeUndefined();
  });
});
