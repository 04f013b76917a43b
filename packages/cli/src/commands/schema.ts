import type { Command } from "commander";
import { type CliContext, writeJson } from "../context.js";
import { flowFileJsonSchema } from "../flow-schema.js";
import { examples, JSON_ERRORS_ONLY, jsonOption } from "../options.js";

export function registerSchema(program: Command, ctx: CliContext): void {
  program
    .command("schema")
    .summary("print the JSON Schema of flow files")
    .description("Print the JSON Schema of a flow file, so editors can check and complete flow files as you type.")
    .addOption(jsonOption(JSON_ERRORS_ONLY))
    .addHelpText(
      "after",
      [
        examples([
          ["reev schema > flow.schema.json", "save it next to your flows"],
          ["reev schema | jq '.properties.steps.items.properties | keys'", "the fields of a step"],
        ]),
        "",
        "In a YAML flow file, a first line `# yaml-language-server: $schema=./flow.schema.json` makes",
        "editors with the YAML language server use it; for JSON files, map them to it in the editor's",
        "JSON schema settings (in VS Code: json.schemas).",
      ].join("\n"),
    )
    .action(() => {
      writeJson(ctx.io, flowFileJsonSchema());
      ctx.exitCode = 0;
    });
}
