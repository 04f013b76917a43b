import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderFlowDiagram } from "../src/mermaid/index.js";

const GOLDEN_DIR = fileURLToPath(new URL("./golden/", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** Every `<name>.input.json` in test/golden is a case; its expected diagram is `<name>.mmd`. */
const cases = readdirSync(GOLDEN_DIR)
  .filter((file) => file.endsWith(".input.json"))
  .sort()
  .map((file) => file.slice(0, -".input.json".length));

describe("golden diagrams (regenerate with UPDATE_GOLDEN=1)", () => {
  it("has the expected fixtures", () => {
    expect(cases).toEqual(expect.arrayContaining(["empty", "nasty", "reev-4-step", "twelve-step"]));
  });

  it.each(cases)("%s matches its golden .mmd", (name) => {
    const diagram = renderFlowDiagram(readFileSync(join(GOLDEN_DIR, `${name}.input.json`), "utf8"));
    const goldenPath = join(GOLDEN_DIR, `${name}.mmd`);
    if (UPDATE) writeFileSync(goldenPath, diagram, "utf8");
    expect(existsSync(goldenPath), `${goldenPath} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(diagram).toBe(readFileSync(goldenPath, "utf8"));
  });
});
