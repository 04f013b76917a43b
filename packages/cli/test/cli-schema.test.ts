/**
 * `reev schema`, run as a child process, prints the JSON Schema of flow files. A real JSON Schema
 * validator (ajv, as editors' language servers would) accepts every example flow against it and
 * rejects what `reev run` rejects: a typo'd key anywhere, a missing field, a value out of range.
 * The README's field reference is generated from the same schema and must be current.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ZFlowPlan } from "@reev/orchestrator";
import { Ajv, type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { BEGIN, END, flowReferenceTable } from "../scripts/flow-reference.js";
import { assertBuilt, FIXTURES, makeTempDir, runCli, show } from "./support/run-cli.js";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

type Schema = { properties?: Record<string, Schema>; items?: Schema; description?: string; $schema?: string; title?: string };

let schema: Schema;
let validate: ValidateFunction;

const flowFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(dir, f));

beforeAll(async () => {
  assertBuilt();
  const temp = makeTempDir("reev-cli-schema-");
  try {
    const r = await runCli(["schema"], { cwd: temp.dir });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toBe("");
    schema = JSON.parse(r.stdout);
    // --json, which scripts may pass to every command, changes nothing here: the output is JSON already.
    expect((await runCli(["schema", "--json"], { cwd: temp.dir })).stdout).toBe(r.stdout);
  } finally {
    temp.remove();
  }
  // strict: a keyword ajv does not know (a typo in the generator's output) is an error, not ignored.
  validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
});

/** A Markdown table's cells, however its columns are padded. */
const cells = (markdown: string) =>
  markdown
    .trim()
    .split("\n")
    .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/^-+$/, "---")));

const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);

describe("reev schema", () => {
  it("is a draft-07 JSON Schema with a title", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.title).toBe("reev flow file");
  });

  it("accepts every example flow, and every valid test fixture", () => {
    // prices*.yaml are `--prices` files, not flows.
    const files = [...flowFiles(EXAMPLES), ...flowFiles(FIXTURES).filter((f) => !f.includes("invalid") && !/\/prices[^/]*$/.test(f))];
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const doc = parseYaml(readFileSync(file, "utf8"));
      expect(validate(doc), `${file}\n${errors().join("\n")}`).toBe(true);
    }
  });

  it("rejects a typo'd key at every level, naming it", () => {
    const step = {
      stepId: "s",
      prompt: "p",
      retry: { attempts: 2, backoffMs: 1, maxBackoffMs: 2 },
      script: [{ toolCalls: [{ toolName: "t" }] }],
    };
    const flow = (edit: (doc: { steps: [typeof step & Record<string, unknown>] } & Record<string, unknown>) => void) => {
      const doc = structuredClone({ flowId: "f", prompt: "p", steps: [step] }) as Parameters<typeof edit>[0];
      edit(doc);
      return doc;
    };
    expect(validate(flow(() => {})), errors().join("\n")).toBe(true);
    for (const [where, doc] of [
      ["", flow((d) => (d.flow_id = "x"))],
      ["/steps/0", flow((d) => (d.steps[0].retyr = { attempts: 2 }))],
      ["/steps/0/retry", flow((d) => ((d.steps[0].retry as Record<string, unknown>).attempt = 2))],
      ["/steps/0/script/0", flow((d) => ((d.steps[0].script[0] as Record<string, unknown>).respone = "x"))],
      ["/steps/0/script/0/toolCalls/0", flow((d) => ((d.steps[0].script[0]?.toolCalls[0] as Record<string, unknown>).ouput = 1))],
    ] as const) {
      expect(validate(doc), `${where} accepted a typo`).toBe(false);
      expect(validate.errors).toContainEqual(expect.objectContaining({ instancePath: where, keyword: "additionalProperties" }));
      // reev run refuses the same document.
      expect(ZFlowPlan.safeParse(doc).success).toBe(false);
    }
  });

  it("describes the file as written: fields with defaults are optional, the rest required", () => {
    const minimal = { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x" }] };
    expect(validate(minimal), errors().join("\n")).toBe(true);
    for (const doc of [
      { prompt: "p", steps: minimal.steps },
      { flowId: "f", steps: minimal.steps },
      { flowId: "f", prompt: "p", steps: [] },
      { flowId: "", prompt: "p", steps: minimal.steps },
      { flowId: "f", prompt: "p", steps: [{ stepId: "s" }] },
      { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x", timeoutMs: 0 }] },
      { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x", retry: { attempts: 0, backoffMs: 0, maxBackoffMs: 0 } }] },
      { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x", script: [{ score: 1.5 }] }] },
      { flowId: "f", prompt: "p", steps: [{ stepId: "s", prompt: "x", script: [{ delayMs: 1.5 }] }] },
      { flowId: "f", prompt: "p", atomic: "yes", steps: minimal.steps },
    ]) {
      // The JSON Schema and the validator reev run uses agree.
      expect(validate(doc), JSON.stringify(doc)).toBe(false);
      expect(ZFlowPlan.safeParse(doc).success, JSON.stringify(doc)).toBe(false);
    }
  });

  it("describes every field, and the README's reference table is the one generated from it", () => {
    const undescribed: string[] = [];
    const walk = (node: Schema, path: string) => {
      for (const [name, field] of Object.entries(node.properties ?? {})) {
        if (!field.description) undescribed.push(`${path}${name}`);
        walk(field, `${path}${name}.`);
        if (field.items) walk(field.items, `${path}${name}[].`);
      }
    };
    walk(schema, "");
    expect(undescribed).toEqual([]);
    const table = flowReferenceTable(schema);
    for (const field of ["script[].delayMs", "script[].response", "script[].toolCalls", "script[].score", "script[].fail", "script[].hang"])
      expect(table).toContain(`| \`steps[].${field}\` |`);
    // A free-form object says what its keys and values are when its schema says it: scriptByRun's are
    // run numbers and scripts, context's anything.
    const typeOf = (field: string) => cells(table).find((row) => row[1] === `\`${field}\``)?.[2];
    expect(typeOf("steps[].scriptByRun")).toBe("object (keys: run numbers, values: scripts)");
    expect(typeOf("context")).toBe("object (any keys, any JSON values)");
    // Compared cell by cell: `pnpm format` aligns the README's tables.
    const readme = readFileSync(README, "utf8");
    const section = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END));
    expect(cells(section), "README.md's flow file reference is stale: run pnpm --filter @reev/cli flow-reference").toEqual(cells(table));
  });
});
