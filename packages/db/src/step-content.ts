import { parse as parseYaml } from "yaml";
import { STEP_STATUSES, type StepFields } from "./schemas.js";

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);

/** The first key present, so reev's snake_case YAML and camelCase JSON both map onto one step shape. */
function pick(source: Dict, ...keys: string[]): { key: string; value: unknown } | undefined {
  for (const key of keys) if (key in source && source[key] !== undefined) return { key, value: source[key] };
  return undefined;
}

function parseDocument(content: string): unknown {
  const trimmed = content.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(content);
    } catch {
      // YAML flow style also starts with "{": fall through.
    }
  }
  // Only a document that starts like a mapping ("step_id: …") can be a YAML step; other text (an
  // agent's prose, megabytes of it) would cost seconds of parsing on the event loop for nothing.
  const mapping = trimmed.startsWith("{") || YAML_MAPPING_START.test(trimmed);
  if (!mapping || content.length > MAX_YAML_CHARS) return undefined;
  try {
    return parseYaml(content, { maxAliasCount: 100 });
  } catch {
    return undefined;
  }
}

/** A first line `key:` (comments and a `---` marker before it allowed). */
const YAML_MAPPING_START = /^(?:(?:#[^\n]*|---[^\n]*)?\n\s*)*["']?[\w.-]+["']?\s*:(?:\s|$)/;
/** reev's YAML steps are kilobytes; a multi-megabyte "YAML" step is text, stored with fields empty. */
const MAX_YAML_CHARS = 1024 * 1024;

function toolCallFields(raw: unknown): Dict {
  // reev stored tool calls as bare names ("- get_account_balance"): the name is all we know.
  if (typeof raw === "string") return { toolName: raw, success: null };
  if (!isDict(raw)) return { toolName: raw };
  const out: Dict = { toolName: pick(raw, "toolName", "tool_name", "tool", "name")?.value };
  const input = pick(raw, "input", "params", "arguments", "args");
  const output = pick(raw, "output", "result", "result_data");
  const success = pick(raw, "success");
  const duration = pick(raw, "durationMs", "duration_ms", "execution_time_ms");
  const error = pick(raw, "error", "error_message", "errorMessage");
  if (input) out.input = input.value;
  if (output) out.output = output.value;
  if (success) out.success = success.value;
  if (duration) out.durationMs = duration.value;
  if (error) out.error = error.value;
  return out;
}

/**
 * Reads a step session's content (JSON, or YAML as reev stored its StepResult) into structured step
 * fields. Returns undefined when the content is not a step document at all (free text, a list, a
 * scalar): it is then stored as given with the structured fields empty.
 *
 * Recognised keys are taken at their word and validated by the writer (a `score` of 7 is an error, not
 * silently dropped). `status` is recognised only with one of reev's step outcomes, because reev's own
 * documents use `status: completed` for something else.
 */
export function parseStepContent(content: string): StepFields | undefined {
  const doc = parseDocument(content);
  if (!isDict(doc)) return undefined;
  const fields: Dict = {};
  const map: [string, string[]][] = [
    ["stepId", ["stepId", "step_id"]],
    ["success", ["success"]],
    ["score", ["score"]],
    ["startedAt", ["startedAt", "started_at"]],
    ["finishedAt", ["finishedAt", "finished_at"]],
    ["durationMs", ["durationMs", "duration_ms", "execution_time_ms"]],
    ["error", ["error", "error_message", "errorMessage"]],
  ];
  for (const [field, keys] of map) {
    const found = pick(doc, ...keys);
    if (found) fields[field] = found.value;
  }
  const status = doc.status;
  if (typeof status === "string" && (STEP_STATUSES as readonly string[]).includes(status)) fields.status = status;
  const toolCalls = pick(doc, "toolCalls", "tool_calls");
  if (toolCalls) fields.toolCalls = Array.isArray(toolCalls.value) ? toolCalls.value.map(toolCallFields) : toolCalls.value;
  // Errors are free-form in the wild ({code, message} objects): keep them, as text.
  if (fields.error !== undefined && fields.error !== null && typeof fields.error !== "string") fields.error = JSON.stringify(fields.error);
  return fields as StepFields;
}
