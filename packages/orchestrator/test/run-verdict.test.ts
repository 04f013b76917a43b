// One run's checks taken together, as `reev run`, `reev show`, the HTML report and the viewer judge
// it: a step's failed check fails the run even when the flow's own checks held, and it is said in
// `reev eval`'s words.
import { readFileSync } from "node:fs";
import type { StoredCheckResult } from "@reev/db";
import { describe, expect, it } from "vitest";
import { runOutcomeWithChecks, runVerdict, runVerdictText } from "../src/evaluation/run-verdict.js";
import { type ReportExecution, renderHtmlPage } from "../src/mermaid/index.js";

const held = (...checks: string[]): StoredCheckResult => ({
  passed: true,
  checks: checks.map((check) => ({ check, passed: true, reason: null })),
});
const argsFailed: StoredCheckResult = {
  passed: false,
  checks: [
    { check: "tools", passed: true, reason: null },
    { check: "args", passed: false, reason: "no successful swap call had the arguments" },
  ],
};
const stepIds = ["balance", "swap"];
const idOf = (i: number) => stepIds[i];

describe("runVerdict", () => {
  it("counts the flow's and every step's checks: a step's failed check fails the run whose flow verdict held", () => {
    const verdict = runVerdict(
      {
        flow: held("forbiddenTools"),
        steps: new Map([
          [1, argsFailed],
          [0, held("tools")],
        ]),
      },
      idOf,
    );
    expect(verdict).toEqual({
      passed: false,
      total: 4,
      failed: [{ stepId: "swap", check: "args", reason: "no successful swap call had the arguments" }],
    });
    expect(runVerdictText(verdict!)).toBe("✗ 1 of 4 failed: swap › args");
    expect(runOutcomeWithChecks("completed", verdict)).toBe("completed, failed a check (✗ swap › args)");
    expect(runOutcomeWithChecks("failed", verdict)).toBe("failed (✗ swap › args)");
  });

  it("lists the flow's failed checks first, then each step's in step order; a step without an id is named by its index", () => {
    const flow: StoredCheckResult = { passed: false, checks: [{ check: "forbiddenTools", passed: false, reason: "transfer was called" }] };
    const verdict = runVerdict(
      {
        flow,
        steps: new Map([
          [7, argsFailed],
          [1, argsFailed],
        ]),
      },
      idOf,
    )!;
    expect(verdict.failed.map((f) => [f.stepId, f.check])).toEqual([
      [null, "forbiddenTools"],
      ["swap", "args"],
      ["step 7", "args"],
    ]);
    expect(runOutcomeWithChecks("completed", verdict)).toBe(
      "completed, failed 3 checks (✗ forbiddenTools, ✗ swap › args, ✗ step 7 › args)",
    );
  });

  it("passes when every check held, and is null for a run with no verdict at all", () => {
    const verdict = runVerdict({ flow: null, steps: new Map([[0, held("tools", "order")]]) }, idOf)!;
    expect(verdict).toEqual({ passed: true, total: 2, failed: [] });
    expect(runVerdictText(verdict)).toBe("✓ 2 checks");
    expect(runOutcomeWithChecks("completed", verdict)).toBe("completed");
    expect(runVerdict({ flow: null, steps: new Map() }, idOf)).toBeNull();
    expect(runOutcomeWithChecks("completed", null)).toBe("completed");
  });
});

describe("the report's banner", () => {
  const content = readFileSync(new URL("./golden/twelve-step.input.json", import.meta.url), "utf8");
  const execution = (status: ReportExecution["status"]): ReportExecution => ({
    executionId: "exec-12steps",
    status,
    error: null,
    consolidation: { status: "completed", error: null, updatedAt: new Date("2025-10-14T09:40:00Z") },
  });
  const headline = (page: string) => /<section class="banner (\w+)"[^>]*><p class="headline">([^<]*)<\/p>/.exec(page)?.slice(1);

  it("says a completed run failed a check, in red, naming the step's check", () => {
    const page = renderHtmlPage(content, {
      execution: execution("completed"),
      checks: { flow: held("tools"), steps: new Map([[3, argsFailed]]) },
    });
    expect(headline(page)).toEqual(["bad", "❌ Run completed, failed a check (✗ swap_sol_usdc › args)"]);
    expect(page).toContain('data-checks="failed"');
  });

  it("names the failed checks after another ending, and reads as before when every check held", () => {
    const failed = renderHtmlPage(content, { execution: execution("failed"), checks: { flow: argsFailed, steps: new Map() } });
    expect(headline(failed)).toEqual(["bad", "❌ Run failed (✗ args)"]);
    // Its failed steps still make a completed run's banner a warning, not green; its checks held.
    const heldPage = renderHtmlPage(content, { execution: execution("completed"), checks: { flow: held("tools"), steps: new Map() } });
    expect(headline(heldPage)).toEqual(["warn", "✅ Run completed"]);
    expect(heldPage).not.toContain("data-checks");
  });
});
