import { readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { type FlowPlan, loadFlowPlans } from "@reev/orchestrator";
import { invalidArgument } from "./cli-error.js";

const FLOW_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Flow files named, and those in directories named (sorted, not recursive): what `reev run` and `reev eval` run. */
export async function collectFlowFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => null);
    if (!info) throw invalidArgument(`No such flow file or directory: ${input}.`, "flows", "Check the path.");
    if (!info.isDirectory()) {
      files.push(input);
      continue;
    }
    const entries = (await readdir(input)).filter((name) => FLOW_EXTENSIONS.has(extname(name).toLowerCase())).sort();
    if (!entries.length)
      throw invalidArgument(`${input} holds no flow files (.yaml, .yml or .json).`, "flows", "Name flow files or a directory of them.");
    files.push(...entries.map((name) => join(input, name)));
  }
  return files;
}

/**
 * The flows `reev run` and `reev eval` run, each beside its file: every file is loaded before any is
 * judged, so the errors of all the bad ones are reported together (see loadFlowPlans).
 */
export async function loadFlowFiles(inputs: readonly string[]): Promise<{ files: string[]; plans: FlowPlan[] }> {
  const files = await collectFlowFiles(inputs);
  return { files, plans: await loadFlowPlans(files) };
}
