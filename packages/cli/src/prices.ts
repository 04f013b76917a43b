import { readFile } from "node:fs/promises";
import { errorMessage, type PriceTable, parsePriceTable } from "@reev/orchestrator";
import { Option } from "commander";
import { invalidArgument } from "./cli-error.js";
import { systemErrorWords } from "./error-report.js";

/** `--prices FILE`: the price table a command prices tokens with (reev eval, run, demo, serve). */
export const pricesOption = (description = "model prices per million tokens (YAML or JSON) for the cost") =>
  new Option("--prices <file>", description);

/** What the help says of a price file, for the commands that take one. */
export const PRICES_HELP = [
  "--prices file: models: { <model>: { inputPerMillion, outputPerMillion, cachedInputPerMillion? } } in US dollars;",
  "a model not in it has no cost (—), never a guessed one.",
].join("\n");

/** The price file, read and checked before anything runs: a bad one is exit 2, naming the field at fault. */
export async function loadPrices(path: string | undefined): Promise<PriceTable | null> {
  if (!path) return null;
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    const words = error instanceof Error ? systemErrorWords(error) : errorMessage(error);
    throw invalidArgument(`Cannot read the price file ${path}: ${words}.`, "--prices", "Check the path.");
  });
  return parsePriceTable(text, path);
}
