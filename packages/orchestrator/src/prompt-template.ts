import type { PreviousStepResult } from "./agents/agent.js";

/** What a step prompt template can refer to. */
export type TemplateVars = {
  /** The flow's overall prompt. */
  prompt: string;
  /** The flow file's free-form context. */
  context: Record<string, unknown>;
  /** The step just before this one, if any. */
  previous: PreviousStepResult | undefined;
  /** Every earlier step's result, by stepId. */
  steps: Record<string, PreviousStepResult>;
};

const PLACEHOLDER = /\{\{\s*(.*?)\s*\}\}/g;

/**
 * Replaces each `{{ path }}` (dot and bracket paths: `steps.balance_check.toolCalls[0].output.amount`).
 * Strings render as-is, other values as JSON. A path that resolves to nothing renders as
 * `<missing: path>` rather than vanishing, so both the model and whoever reads the log see the gap.
 */
export function renderPrompt(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (_match, expression: string) => {
    const value = resolvePlaceholder(expression, vars);
    return value === undefined ? `<missing: ${expression}>` : renderValue(value);
  });
}

/** The placeholder paths of `template` that resolve to nothing, in order of first appearance. */
export function missingPlaceholders(template: string, vars: TemplateVars): string[] {
  const missing = new Set<string>();
  for (const [, expression = ""] of template.matchAll(PLACEHOLDER)) {
    if (resolvePlaceholder(expression, vars) === undefined) missing.add(expression);
  }
  return [...missing];
}

/** The names a placeholder can begin with: the fields of TemplateVars. */
export const TEMPLATE_ROOTS = ["prompt", "context", "previous", "steps"] as const;

/** What a step's result holds, for `{{previous.…}}` and `{{steps.ID.…}}`: the fields of PreviousStepResult. */
export const STEP_RESULT_FIELDS = ["stepIndex", "stepId", "status", "response", "toolCalls", "error"] as const;

/** Each placeholder of `template` as written and as a path (`undefined` when it is not one), in order of appearance. */
export function placeholders(template: string): { expression: string; path: string[] | undefined }[] {
  return [...template.matchAll(PLACEHOLDER)].map(([, expression = ""]) => ({ expression, path: parsePath(expression) }));
}

/**
 * reev's context block for the ping-pong executor:
 * `Previous step results:\nStep 0: balance_check - SUCCESS, Data: {...}\n…`; empty when there is none.
 */
export function describePreviousResults(results: readonly PreviousStepResult[]): string {
  if (results.length === 0) return "";
  return ["Previous step results:", ...results.map(describeResult)].join("\n");
}

function describeResult(result: PreviousStepResult): string {
  const data = {
    response: result.response,
    toolCalls: result.toolCalls.map(({ toolName, input, output, success, error }) => ({
      toolName,
      input,
      output,
      success,
      ...(error === undefined ? {} : { error }),
    })),
  };
  const error = result.error === null ? "" : `, Error: ${result.error}`;
  return `Step ${result.stepIndex}: ${result.stepId} - ${result.status.toUpperCase()}${error}, Data: ${JSON.stringify(data)}`;
}

function resolvePlaceholder(expression: string, vars: TemplateVars): unknown {
  const path = parsePath(expression);
  if (path === undefined) return undefined;
  let value: unknown = vars;
  for (const key of path) {
    // Own properties only: `{{ prompt.length }}` or `{{ context.constructor }}` are not data.
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

// A leading name, then `.name`, `[0]`, `["key"]` or `['key']` segments.
const FIRST_SEGMENT = /^([^.[\]"']+)/;
const NEXT_SEGMENT = /^(?:\.([^.[\]"']+)|\[(\d+)\]|\["([^"]*)"\]|\['([^']*)'\])/;

/** `a.b[0]["c d"]` → `["a", "b", "0", "c d"]`; undefined when the expression is not a path. */
function parsePath(expression: string): string[] | undefined {
  const first = FIRST_SEGMENT.exec(expression);
  if (first === null) return undefined;
  const keys = [first[1] ?? ""];
  let rest = expression.slice(first[0].length);
  while (rest.length > 0) {
    const match = NEXT_SEGMENT.exec(rest);
    if (match === null) return undefined;
    keys.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? "");
    rest = rest.slice(match[0].length);
  }
  return keys;
}

function renderValue(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}
