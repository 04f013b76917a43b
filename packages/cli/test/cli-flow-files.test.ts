/**
 * Flow files as `reev run` and `reev eval` find them, on the embedded database and, when
 * REEV_TEST_DATABASE_URL is set, on PostgreSQL: every flow example of the README and docs/*.md loads
 * through the loader `reev run` uses and runs as written (so the docs cannot drift from the schema
 * again), and a directory of several bad files is reported in one go, each file in its own words, with
 * nothing run or recorded.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadFlowFiles } from "../src/flow-files.js";
import { type CliResult, cliBackends, executionIds, show } from "./support/run-cli.js";
import { cliDatabase, cliTempDir } from "./support/suite-setup.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DOCS = [
  join(ROOT, "README.md"),
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(ROOT, "docs", f)),
];

type Example = { name: string; text: string; extension: string };

/**
 * The flows among the docs' yaml and json code blocks: a block whose document has a flowId or steps.
 * A block that does not parse at all is a broken example whatever it shows, so it fails here too.
 */
function flowExamples(): Example[] {
  return DOCS.flatMap((doc) => {
    const markdown = readFileSync(doc, "utf8");
    return [...markdown.matchAll(/^```(yaml|yml|json)\n([\s\S]*?)^```$/gm)].flatMap((match) => {
      const [, language, text = ""] = match;
      const line = markdown.slice(0, match.index).split("\n").length;
      const name = `${basename(doc, ".md")}-line-${line}`;
      let document: unknown;
      try {
        document = language === "json" ? JSON.parse(text) : parseYaml(text);
      } catch (cause) {
        throw new Error(`The ${language} block at ${doc}:${line} does not parse`, { cause });
      }
      const isFlow = typeof document === "object" && document !== null && ("flowId" in document || "steps" in document);
      return isFlow ? [{ name, text, extension: language === "json" ? ".json" : ".yaml" }] : [];
    });
  });
}

const examples = flowExamples();
const temp = cliTempDir("reev-cli-flow-files-");

/** The examples as files in a directory of their own, as a reader saves them. */
function writeExamples(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const { name, text, extension } of examples) writeFileSync(join(dir, `${name}${extension}`), text);
}

describe("the flow examples of README.md and docs/*.md", () => {
  it("include the README's Flow files example", () => {
    expect(examples.map((e) => e.name)).toContainEqual(expect.stringMatching(/^README-line-\d+$/));
  });

  it.each(examples.map((e) => [e.name, e] as const))("%s loads through reev run's loader", async (_, example) => {
    const dir = join(temp.dir, `load-${example.name}`);
    mkdirSync(dir);
    writeFileSync(join(dir, `flow${example.extension}`), example.text);
    const { plans } = await loadFlowFiles([dir]);
    expect(plans).toHaveLength(1);
  });
});

/** Three files wrong in three ways, and one that is fine: a directory a user fixes one file at a time today. */
function writeBadDirectory(dir: string): string[] {
  mkdirSync(dir);
  const files = {
    "a-typo.yaml": "flowId: a\nprompt: p\nsteps:\n  - stepId: s\n    prompt: x\n    retyr: { attempts: 2 }\n",
    "b-empty.json": JSON.stringify({ flowId: "b", prompt: "p", steps: [] }),
    "c-good.yaml": "flowId: c\nprompt: p\nsteps:\n  - stepId: s\n    prompt: x\n    script: [{ response: ok }]\n",
    "d-broken.yaml": "flowId: d\nprompt: p\nsteps: [\n",
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  // A directory with a flow file's name cannot be read as one: it is reported with the others.
  mkdirSync(join(dir, "e-folder.yaml"));
  return ["a-typo.yaml", "b-empty.json", "d-broken.yaml", "e-folder.yaml"].map((name) => join(dir, name));
}

/** What `reev run` says of one bad file on its own: its "reev: " message without the last line, the hint. */
const wordsAlone = (r: CliResult) => {
  const lines = r.stderr.trimEnd().split("\n").slice(0, -1);
  return lines
    .join("\n")
    .replace(/^reev: /, "")
    .trimEnd();
};

describe.each(cliBackends(() => temp.dir))("flow files on $name", (backend) => {
  const { reev } = cliDatabase(backend, temp);
  const recorded = async () => {
    // One after the other: an embedded database takes one process at a time.
    const list = await reev("list", "--json");
    const evaluations = await reev("evaluations", "--json");
    expect(list.code, show(list)).toBe(0);
    expect(evaluations.code, show(evaluations)).toBe(0);
    return [JSON.parse(list.stdout).executions.length, JSON.parse(evaluations.stdout).evaluations.length];
  };

  // The database exists before the tests, so each can count what it recorded.
  beforeAll(async () => {
    const r = await reev("migrate");
    expect(r.code, show(r)).toBe(0);
  });

  it("every flow example runs as written", async () => {
    const dir = join(temp.dir, `examples-${backend.name}`);
    writeExamples(dir);
    const r = await reev("run", dir, "--no-diagrams");
    expect(r.code, show(r)).toBe(0);
    expect(executionIds(r.stdout), show(r)).toHaveLength(examples.length);
    expect(r.stdout.match(/^✅ completed {2}/gm), show(r)).toHaveLength(examples.length);
  });

  it("a directory of several bad flow files: each file's errors at once, in its own words; exit 2, nothing run or recorded", async () => {
    const dir = join(temp.dir, `bad-${backend.name}`);
    const bad = writeBadDirectory(dir);
    const before = await recorded();
    const [typo, empty, broken, folder] = bad;
    // Each file on its own, as reev run reports it (one after the other: the embedded database takes
    // one process at a time); the folder named like a flow file is read as a directory then.
    const alone: CliResult[] = [];
    for (const file of [typo, empty, broken]) alone.push(await reev("run", file as string));
    for (const r of alone) expect(r.code, show(r)).toBe(2);
    const words = [...alone.map(wordsAlone), `Cannot read flow file ${folder}: illegal operation on a directory.`];
    // Each file is named with its own problem, the one that is fine with none.
    expect(words.slice(0, 3)).toEqual([
      `Invalid flow plan in ${typo}:\n  - steps[0].retyr: Unrecognized key: did you mean retry?`,
      `Invalid flow plan in ${empty}:\n  - steps: must have at least 1 item`,
      expect.stringMatching(new RegExp(`^Cannot parse ${broken} as a flow file: .+ at line 4, column 1:`)),
    ]);

    for (const command of ["run", "eval"]) {
      const r = await reev(command, dir);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout, show(r)).toBe("");
      expect(r.stderr, show(r)).toBe(
        `reev: 4 of 5 flow files are invalid:\n${words.join("\n")}\n` +
          "Fix the flow files and run again; reev schema prints the JSON Schema every flow file must follow.\n",
      );
    }
    expect(await recorded()).toEqual(before);
  });
});
