import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { closestWord, didYouMean, formatIssuePath, MAX_ID_LENGTH, orList, ZDurationMs, ZId, ZText, ZTokenCount } from "@reev/db";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { errorMessage, OrchestratorError } from "./errors.js";
import { ZExpect } from "./evaluation/expect.js";
import { issueProblems, type Problem, plainWords } from "./issue-problems.js";
import { jsonErrorWords } from "./json-error-words.js";
import { placeholders, STEP_RESULT_FIELDS, TEMPLATE_ROOTS } from "./prompt-template.js";

// Strict objects everywhere: a typo in a flow file (`retyr:`) must fail loudly instead of silently
// dropping the setting it was meant to carry.

// What a run stores as given must fit the database, or a flow that passed validation would fail
// mid-run with "could not be recorded": the database's own rules (ZId, ZText, ZDurationMs) apply.
// Tool names only by length: the executor turns NUL and lone surrogates in an agent's text (scripts
// included) into U+FFFD.
const ZToolName = z.string().min(1).max(MAX_ID_LENGTH);

export const ZScriptedToolCall = z
  .strictObject({
    toolName: ZToolName.describe("The tool's name. A required tool counts as called once a call with its name succeeds."),
    input: z.unknown().optional().describe("The arguments the tool was called with: any JSON."),
    output: z
      .unknown()
      .optional()
      .describe("What the tool returned: any JSON. Later prompts can insert it, as in {{steps.ID.toolCalls[0].output.FIELD}}."),
    success: z
      .boolean()
      .optional()
      .describe(
        "false: the call failed. Left out, a call with an error failed and one without succeeded. A required tool whose calls all failed fails the step.",
      ),
    durationMs: ZDurationMs.default(0).describe(
      "How long the call takes, in milliseconds: the scripted agent waits this long and records what it measured, within the attempt's delayMs.",
    ),
    error: z.string().optional().describe("The call's error message: the call failed."),
  })
  // A call that reports an error and success both would be stored as succeeded with an error, and counted as a success.
  .refine((call) => !(call.success === true && call.error !== undefined), {
    message: "is given with success: true; a call that succeeded has no error: drop error, or say success: false",
    path: ["error"],
  })
  .transform(({ toolName, input, output, success, durationMs, error }) => ({
    toolName,
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
    success: success ?? error === undefined,
    durationMs,
    ...(error === undefined ? {} : { error }),
  }));
export type ScriptedToolCall = z.infer<typeof ZScriptedToolCall>;

/** Usage as a script states it; the scripted agent reports it as the provider's TokenUsage. */
export const ZScriptedUsage = z.strictObject({
  model: z.string().min(1).max(MAX_ID_LENGTH).optional().describe("The model that answered."),
  inputTokens: ZTokenCount.optional().describe("Input (prompt) tokens."),
  outputTokens: ZTokenCount.optional().describe("Output (completion) tokens."),
  cachedInputTokens: ZTokenCount.optional().describe("The part of inputTokens served from the provider's prompt cache."),
});

/** What the ScriptedAgent replays for one attempt of a step. */
export const ZScriptedAttempt = z.strictObject({
  delayMs: z
    .int()
    .min(0)
    .optional()
    .describe(
      "Milliseconds the attempt takes before it answers or fails, its tool calls' durations included (an attempt takes at least as long as its calls); they count toward timeoutMs.",
    ),
  response: z
    .string()
    .optional()
    .describe("The agent's answer (without it: \"ok: <stepId>\"). The next step's prompt can insert it as {{previous.response}}."),
  toolCalls: z
    .array(ZScriptedToolCall)
    .optional()
    .describe("The tool calls the attempt reports, in order (without it: one successful call per required tool)."),
  score: z.number().min(0).max(1).optional().describe("The step's score, from 0 to 1, stored with the step."),
  usage: ZScriptedUsage.optional().describe(
    "What the attempt consumed, as a provider would report it (what is left out is unknown, never 0).",
  ),
  /** The attempt fails with this error message after its tool calls and `delayMs`; its calls and usage are still recorded. */
  fail: z
    .string()
    .optional()
    .describe("The attempt fails with this error message (after its toolCalls and delayMs, which are recorded with its usage)."),
  /** The attempt never settles until its signal aborts (to exercise timeouts). */
  hang: z.boolean().optional().describe("true: the attempt never answers, so the step's timeout aborts it (to show timeouts)."),
});
export type ScriptedAttempt = z.infer<typeof ZScriptedAttempt>;

export const ZRetryPolicy = z
  .strictObject({
    /** Maximum number of attempts, the first one included. */
    attempts: z.int().min(1).describe("Attempts in all, the first one included."),
    backoffMs: z
      .int()
      .min(0)
      .describe("Milliseconds to wait before the first retry. The wait doubles for each further retry, and is jittered to ½–1× of it."),
    maxBackoffMs: z.int().min(0).describe("The longest wait between two attempts, in milliseconds; at least backoffMs."),
  })
  .superRefine(
    (retry, ctx) => {
      if (retry.maxBackoffMs < retry.backoffMs) {
        ctx.addIssue({
          code: "custom",
          path: ["maxBackoffMs"],
          message: `must be >= backoffMs (${retry.backoffMs})`,
        });
      }
    },
    // Report this alongside other issues of the same object, not only once they are fixed.
    { when: (payload) => hasNumbers(payload.value, ["backoffMs", "maxBackoffMs"]) },
  );
export type RetryPolicy = z.infer<typeof ZRetryPolicy>;

export const ZFlowStep = z.strictObject({
  stepId: ZId.describe("Names the step, once per flow. Later prompts refer to its result as {{steps.<stepId>.response}}."),
  /** A template: see renderPrompt. */
  prompt: z
    .string()
    .describe(
      "What the agent is asked: a template where {{prompt}}, {{context.KEY}}, {{previous.response}} and {{steps.ID.toolCalls[0].output.FIELD}} insert the flow's prompt, its context and earlier steps' results. A placeholder that cannot resolve (an unknown name, step, result field or context key) is an error when the flow loads; a deeper path that leads nowhere is written as <missing: path>.",
    ),
  requiredTools: z
    .array(ZToolName)
    .default([])
    .describe("Tools the step must call successfully to succeed. A real agent (--agent openai) is offered these as its tools."),
  critical: z
    .boolean()
    .default(false)
    .describe("true: when this step fails or times out the run stops there; the steps after it are recorded as skipped."),
  timeoutMs: z
    .int()
    .positive()
    .optional()
    .describe("Each attempt's time limit in milliseconds (without it: 30000). An attempt past it is aborted, and the step ends timed_out."),
  retry: ZRetryPolicy.optional().describe("Retries after a failed or timed-out attempt (without it: one attempt)."),
  /** Attempt n replays `script[n-1]`, the last entry repeating for further attempts. */
  script: z
    .array(ZScriptedAttempt)
    .optional()
    .describe(
      "What the scripted agent (--agent scripted, the default) replays, one entry per attempt: attempt n replays script[n-1], and the last entry repeats for further attempts. Real agents ignore it.",
    ),
  /** Repetition n of `reev eval --repeat` replays `scriptByRun["n"]` instead of `script`, when present. */
  scriptByRun: z
    .record(
      z
        .string()
        .regex(/^[1-9][0-9]*$/, "is not a run number: the keys of scriptByRun are run numbers (1, 2, …), one per run of reev eval --repeat")
        .describe("run numbers"),
      z.array(ZScriptedAttempt).describe("scripts"),
    )
    .optional()
    .describe(
      'Per repetition of reev eval --repeat, a script that replaces script. Its keys are run numbers (1, 2, …), its values scripts written as script is: run n replays scriptByRun["n"] when it is there, else script. Lets a scripted evaluation fail known steps in known runs. Real agents ignore it.',
    ),
  expect: ZExpect.optional().describe(
    "Trajectory checks judged from the step's stored tool calls after it is stored: tools (must each succeed), order (exact, in_order, any_order), forbiddenTools, maxToolCalls, args (a JSON subset per tool), minScore. The verdict, with a reason per failed check, is stored with the step; reev eval counts a run as passed only when every check holds.",
  ),
});
export type FlowStep = z.infer<typeof ZFlowStep>;

export const ZFlowPlan = z
  .strictObject({
    flowId: ZId.describe("Names the flow. Each run's execution id starts with exec_<flowId>_."),
    prompt: ZText.describe("The task as a whole. The agent is told it with every step, and {{prompt}} inserts it into a step's prompt."),
    context: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Free-form data for the step prompts: {{context.wallet}} inserts the value of wallet."),
    atomic: z
      .boolean()
      .default(false)
      .describe(
        "true: the run is one execution transaction. Its steps become visible together when it ends, and all are rolled back when a critical step stops it. false: each step is committed as it ends.",
      ),
    steps: z
      .array(ZFlowStep)
      .min(1)
      .superRefine(reportDuplicateStepIds, { when: (payload) => Array.isArray(payload.value) })
      .superRefine(reportPlaceholders)
      .describe("The steps, run one after the other in this order."),
    expect: ZExpect.optional().describe(
      "Trajectory checks over the whole run: the stored tool calls of every step in step order, and the mean of the steps' scores for minScore. Same fields as a step's expect.",
    ),
  })
  .superRefine(reportContextKeys)
  .meta({
    title: "reev flow file",
    description: "A multi-step task for an agent: reev runs the steps in order and records each one (JSON or YAML).",
  });
export type FlowPlan = z.infer<typeof ZFlowPlan>;

/** Parses a flow file's text (JSON or YAML) and validates it; `sourceName` names the file in errors. */
export function parseFlowPlan(text: string, sourceName?: string): FlowPlan {
  const label = sourceName ?? "<inline flow>";
  const document = parseDocument(text, sourceName, label);
  const result = ZFlowPlan.safeParse(document, { error: plainWords });
  if (result.success) return result.data;
  const reported = result.error.issues.flatMap((issue) => issueProblems(ZFlowPlan, issue));
  const problems = [...reported, ...missedDuplicateProblems(document, reported)];
  throw new OrchestratorError(
    "INVALID_FLOW",
    `Invalid flow plan in ${label}:\n${problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n")}`,
    { path: problems[0]?.path ?? "", cause: result.error },
  );
}

export async function loadFlowPlan(path: string): Promise<FlowPlan> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new OrchestratorError("INVALID_FLOW", `Cannot read flow file ${path}: ${errorMessage(cause)}`, { cause });
  }
  return parseFlowPlan(text, path);
}

/**
 * Loads every file before it judges any, so a directory of bad flow files is reported in one go
 * instead of one file per attempt. One bad file throws its own error as it is; several throw one
 * INVALID_FLOW error whose message is each file's own, in `paths` order, and whose cause is an
 * AggregateError of those errors (each naming its file).
 */
export async function loadFlowPlans(paths: readonly string[]): Promise<FlowPlan[]> {
  const settled = await Promise.allSettled(paths.map((path) => loadFlowPlan(path)));
  const failed = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
  // Anything but a bad file (a bug) is not one of the file's problems: it goes up as it is.
  const unexpected = failed.find((error) => !OrchestratorError.is(error, "INVALID_FLOW"));
  if (unexpected !== undefined || failed.length === 1) throw unexpected ?? failed[0];
  if (failed.length)
    throw new OrchestratorError(
      "INVALID_FLOW",
      `${failed.length} of ${paths.length} flow files are invalid:\n${failed.map((error) => errorMessage(error).trimEnd()).join("\n")}`,
      { cause: new AggregateError(failed, `${failed.length} invalid flow files`) },
    );
  return settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
}

function parseDocument(text: string, sourceName: string | undefined, label: string): unknown {
  const extension = sourceName === undefined ? "" : extname(sourceName).toLowerCase();
  try {
    if (extension === ".json") return JSON.parse(text);
    if (extension === ".yaml" || extension === ".yml") return parseYaml(text);
    return parseJsonOrYaml(text);
  } catch (cause) {
    throw new OrchestratorError("INVALID_FLOW", `Cannot parse ${label} as a flow file: ${jsonErrorWords(cause, text)}`, { cause });
  }
}

function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: YAML reports its own, more useful, syntax error if it is neither.
    return parseYaml(text);
  }
}

type Duplicate = { index: number; firstIndex: number; stepId: string };

/** Tolerates malformed steps: it also runs on input that failed validation elsewhere. */
function findDuplicateStepIds(steps: readonly unknown[]): Duplicate[] {
  const firstIndexes = new Map<string, number>();
  const duplicates: Duplicate[] = [];
  steps.forEach((step, index) => {
    const stepId: unknown = isRecord(step) ? step.stepId : undefined;
    if (typeof stepId !== "string") return;
    const firstIndex = firstIndexes.get(stepId);
    if (firstIndex === undefined) firstIndexes.set(stepId, index);
    else duplicates.push({ index, firstIndex, stepId });
  });
  return duplicates;
}

function duplicateIssue({ index, firstIndex, stepId }: Duplicate): { path: [number, string]; message: string } {
  return { path: [index, "stepId"], message: `Duplicate stepId "${stepId}" (already used by steps[${firstIndex}])` };
}

function reportDuplicateStepIds(steps: readonly unknown[], ctx: z.RefinementCtx): void {
  for (const duplicate of findDuplicateStepIds(steps)) ctx.addIssue({ code: "custom", ...duplicateIssue(duplicate) });
}

/**
 * A placeholder that can never resolve renders `<missing: …>` in every run, and the agent is asked a
 * broken prompt: it is a flow error at load time, naming the step and the placeholder. A prompt can
 * use the results of the steps before it, and only those: a reference to a step that does not exist
 * (`{{steps.balanse.response}}`) or that runs later is one; so is a name no placeholder begins with
 * (`{{previus.response}}`), a field no step result has (`{{previous.respone}}`), and `{{previous…}}`
 * in the first step, which has none.
 */
function reportPlaceholders(steps: readonly FlowStep[], ctx: z.RefinementCtx): void {
  const indexOf = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!indexOf.has(step.stepId)) indexOf.set(step.stepId, index);
  });
  steps.forEach((step, index) => {
    const report = (message: string) => ctx.addIssue({ code: "custom", path: [index, "prompt"], message });
    for (const { expression, path } of placeholders(step.prompt)) {
      const [root, name, field] = path ?? [];
      if (root === undefined) continue;
      if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
        report(
          `{{${expression}}} in step "${step.stepId}": a placeholder begins with ${orList(TEMPLATE_ROOTS)}, not "${root}".${didYouMean(closestWord(root, TEMPLATE_ROOTS))}`,
        );
        continue;
      }
      if (root === "previous" && index === 0)
        report(`{{${expression}}} in step "${step.stepId}": the first step has no previous step, so it would always be missing.`);
      const resultField = root === "previous" ? name : root === "steps" ? field : undefined;
      if (resultField !== undefined && !(STEP_RESULT_FIELDS as readonly string[]).includes(resultField))
        report(
          `{{${expression}}} in step "${step.stepId}": a step's result has no "${resultField}" (its fields: ${STEP_RESULT_FIELDS.join(", ")}).${didYouMean(closestWord(resultField, STEP_RESULT_FIELDS))}`,
        );
      if (root !== "steps" || name === undefined) continue;
      const target = indexOf.get(name);
      if (target !== undefined && target < index) continue;
      const why =
        target === undefined
          ? `no step has the id "${name}"`
          : target === index
            ? `it is this step's own result, which does not exist yet`
            : `step "${name}" (steps[${target}]) runs later`;
      const guess =
        target === undefined
          ? closestWord(
              name,
              [...indexOf].filter(([, i]) => i < index).map(([id]) => id),
            )
          : undefined;
      report(
        `{{${expression}}} in step "${step.stepId}" refers to step "${name}", but ${why}; a prompt can only use earlier steps' results${guess ? `.${didYouMean(guess)}` : ""}`,
      );
    }
  });
}

/**
 * `{{context.KEY}}` for a key the flow's context does not have (`{{context.walet}}`) renders
 * `<missing: …>` in every run: a flow error at load time, with the key it most likely meant. A key
 * used in many steps is one problem naming them all (at the first one's path), not one line per step:
 * a renamed key would otherwise bury the report under a dozen copies.
 */
function reportContextKeys(plan: { context: Record<string, unknown>; steps: readonly FlowStep[] }, ctx: z.RefinementCtx): void {
  const keys = Object.keys(plan.context);
  const missing = new Map<string, { expression: string; index: number; stepIds: string[] }>();
  plan.steps.forEach((step, index) => {
    for (const { expression, path } of placeholders(step.prompt)) {
      const [root, key] = path ?? [];
      if (root !== "context" || key === undefined || Object.hasOwn(plan.context, key)) continue;
      const seen = missing.get(key);
      if (!seen) missing.set(key, { expression, index, stepIds: [step.stepId] });
      else if (!seen.stepIds.includes(step.stepId)) seen.stepIds.push(step.stepId);
    }
  });
  for (const [key, { expression, index, stepIds }] of missing) {
    const has = keys.length ? `has no key "${key}" (its keys: ${keys.join(", ")})` : `is empty: it has no key "${key}"`;
    const where = stepIds.length === 1 ? `step "${stepIds[0]}"` : `${stepIds.length} steps (${stepIds.join(", ")})`;
    ctx.addIssue({
      code: "custom",
      path: ["steps", index, "prompt"],
      message: `{{${expression}}} in ${where}: the flow's context ${has}.${didYouMean(closestWord(key, keys))}`,
    });
  }
}

/**
 * zod skips every refinement once a non-integer number aborts validation, so the duplicate check of
 * ZFlowPlan may not have run: repeat it on the raw document so the report stays complete.
 */
function missedDuplicateProblems(document: unknown, reported: readonly Problem[]): Problem[] {
  const steps = isRecord(document) ? document.steps : undefined;
  if (!Array.isArray(steps)) return [];
  return findDuplicateStepIds(steps)
    .map(duplicateIssue)
    .map(({ path, message }) => ({ path: formatIssuePath(["steps", ...path]), message }))
    .filter((problem) => !reported.some((r) => r.path === problem.path && r.message === problem.message));
}

function hasNumbers(value: unknown, keys: readonly string[]): boolean {
  return isRecord(value) && keys.every((key) => typeof value[key] === "number");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
