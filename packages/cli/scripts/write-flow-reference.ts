// `pnpm --filter @reev/cli flow-reference`: rewrites the README's flow file reference from the schema.
import { readFileSync, writeFileSync } from "node:fs";
import { flowFileJsonSchema } from "../src/flow-schema.js";
import { flowReferenceTable, withFlowReference } from "./flow-reference.js";

const README = new URL("../../../README.md", import.meta.url);
writeFileSync(README, withFlowReference(readFileSync(README, "utf8"), flowReferenceTable(flowFileJsonSchema())));
