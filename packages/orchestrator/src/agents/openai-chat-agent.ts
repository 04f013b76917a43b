import { performance } from "node:perf_hooks";
import { z } from "zod";
import { errorMessage, OrchestratorError } from "../errors.js";
import { sumKnown } from "../evaluation/summary-statistics.js";
import type { TokenUsage } from "../evaluation/token-usage.js";
import type { FlowStep } from "../flow-plan.js";
import { describePreviousResults } from "../prompt-template.js";
import type { Agent, AgentResult, StepContext, ToolCallRecord } from "./agent.js";

/** A tool the model may call; `parameters` is its JSON schema as the model sees it. */
export type ToolHandler = {
  description?: string;
  parameters?: Record<string, unknown>;
  run: (input: unknown, signal: AbortSignal) => Promise<unknown>;
};

export type OpenAIChatAgentOptions = {
  /** Default: env OPENAI_BASE_URL. Required: there is no implicit endpoint. */
  baseUrl?: string;
  /** Default: env OPENAI_MODEL. Required: there is no implicit model. */
  model?: string;
  /** Default: env OPENAI_API_KEY; without one no Authorization header is sent (local servers). */
  apiKey?: string;
  tools?: Record<string, ToolHandler>;
  /** Model round trips per step before giving up. Default 8. */
  maxTurns?: number;
  fetch?: typeof fetch;
  systemPrompt?: string;
};

const DEFAULT_SYSTEM_PROMPT =
  "You execute one step of a multi-step flow. Use the provided tools to do the work, " +
  "then reply with a short summary of what you did and the resulting values.";

const BODY_EXCERPT_CHARS = 500;

const ZToolCall = z.object({
  id: z.string(),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
type ChatToolCall = z.infer<typeof ZToolCall>;

const ZAssistantMessage = z.object({
  role: z.literal("assistant").optional(),
  content: z.string().nullish(),
  tool_calls: z.array(ZToolCall).nullish(),
});

/** OpenAI's usage block; servers that do not count tokens leave it out. */
const ZCompletionUsage = z.object({
  prompt_tokens: z.int().min(0).nullish(),
  completion_tokens: z.int().min(0).nullish(),
  prompt_tokens_details: z.object({ cached_tokens: z.int().min(0).nullish() }).nullish(),
});

const ZChatCompletion = z.object({
  model: z.string().min(1).nullish(),
  choices: z.array(z.object({ message: ZAssistantMessage })).min(1),
  // A malformed usage block is a missing one: the answer itself is still good.
  usage: ZCompletionUsage.nullish().catch(null),
});
type ChatCompletion = z.infer<typeof ZChatCompletion>;

/** Usage over every round trip of one attempt; a count one reply did not give is unknown for the whole. */
function sumTurns(replies: readonly ChatCompletion[], fallbackModel: string): TokenUsage {
  const count = (pick: (u: z.infer<typeof ZCompletionUsage>) => number | null | undefined) =>
    sumKnown(replies.map((r) => (r.usage ? (pick(r.usage) ?? null) : null))).total;
  return {
    model: replies.find((r) => r.model)?.model ?? fallbackModel,
    inputTokens: count((u) => u.prompt_tokens),
    outputTokens: count((u) => u.completion_tokens),
    cachedInputTokens: count((u) => u.prompt_tokens_details?.cached_tokens),
  };
}

/** The environment variables `--agent openai` needs, and what each one is. */
export const OPENAI_ENVIRONMENT = {
  OPENAI_BASE_URL: "the OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://localhost:11434/v1",
  OPENAI_MODEL: "the model to ask, e.g. gpt-4o-mini",
} as const;

/** Which of OPENAI_BASE_URL and OPENAI_MODEL are not set (an empty value counts as not set). */
export function missingOpenAIEnvironment(env: Record<string, string | undefined> = process.env): (keyof typeof OPENAI_ENVIRONMENT)[] {
  return (Object.keys(OPENAI_ENVIRONMENT) as (keyof typeof OPENAI_ENVIRONMENT)[]).filter((name) => !env[name]?.trim());
}

type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

/** An agent backed by any OpenAI-compatible `/chat/completions` endpoint, running tools locally. */
export class OpenAIChatAgent implements Agent {
  readonly name = "openai";
  readonly #url: string;
  readonly #model: string;
  readonly #apiKey: string | undefined;
  readonly #tools: Record<string, ToolHandler>;
  readonly #maxTurns: number;
  readonly #fetch: typeof fetch;
  readonly #systemPrompt: string;

  constructor(options: OpenAIChatAgentOptions = {}) {
    // No silent default: a run meant for a local server must never reach a public endpoint (and bill it).
    const baseUrl = options.baseUrl ?? (process.env.OPENAI_BASE_URL?.trim() || undefined);
    const model = options.model ?? (process.env.OPENAI_MODEL?.trim() || undefined);
    const missing = missingOpenAIEnvironment({ OPENAI_BASE_URL: baseUrl, OPENAI_MODEL: model });
    if (baseUrl === undefined || model === undefined) {
      throw new OrchestratorError(
        "INVALID_ARGUMENT",
        `The openai agent needs ${missing.join(" and ")}: set them (or pass baseUrl and model)`,
        {
          path: missing[0] ?? "",
        },
      );
    }
    this.#url = `${baseUrl.replace(/\/+$/, "")}/chat/completions`;
    this.#model = model;
    this.#apiKey = options.apiKey ?? (process.env.OPENAI_API_KEY || undefined);
    this.#tools = options.tools ?? {};
    this.#maxTurns = options.maxTurns ?? 8;
    this.#fetch = options.fetch ?? fetch;
    this.#systemPrompt = options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT;
  }

  async run(step: FlowStep, context: StepContext, signal: AbortSignal): Promise<AgentResult> {
    const messages: ChatMessage[] = [
      { role: "system", content: this.#systemPrompt },
      { role: "user", content: userMessage(context) },
    ];
    const toolCalls: ToolCallRecord[] = [];
    const replies: ChatCompletion[] = [];
    try {
      for (let turn = 0; turn < this.#maxTurns; turn++) {
        const completion = await this.#complete(messages, step, signal);
        replies.push(completion);
        const reply = completion.choices[0]!.message;
        const calls = reply.tool_calls ?? [];
        if (calls.length === 0) return { response: reply.content ?? "", toolCalls, usage: sumTurns(replies, this.#model) };
        messages.push({ role: "assistant", content: reply.content ?? null, tool_calls: calls });
        for (const call of calls) {
          const record = await this.#runTool(call, step, signal);
          toolCalls.push(record);
          messages.push({ role: "tool", tool_call_id: call.id, content: toolMessage(record) });
        }
      }
      throw new OrchestratorError("AGENT_PROTOCOL", `Model still requested tools after ${this.#maxTurns} turns in step ${step.stepId}`);
    } catch (error) {
      // A later turn failing does not undo the earlier ones: their tool calls ran and their tokens were billed.
      if (replies.length === 0 || !OrchestratorError.is(error) || error.spent !== undefined) throw error;
      throw new OrchestratorError(error.code, error.message, {
        cause: error.cause,
        spent: { toolCalls, usage: sumTurns(replies, this.#model) },
      });
    }
  }

  async #complete(messages: ChatMessage[], step: FlowStep, signal: AbortSignal): Promise<ChatCompletion> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    const tools = step.requiredTools.map((name) => toolDefinition(name, this.#handler(name)));
    const body = JSON.stringify({ model: this.#model, messages, ...(tools.length > 0 ? { tools } : {}) });

    let status: number;
    let statusText: string;
    let text: string;
    try {
      const response = await this.#fetch(this.#url, { method: "POST", headers, body, signal });
      ({ status, statusText } = response);
      text = await response.text();
    } catch (cause) {
      // A timeout or cancellation is the caller's doing: surface its reason, not a transport error.
      if (signal.aborted) throw signal.reason;
      // The network, not the model: recorded as an infrastructure error.
      throw new OrchestratorError("INFRASTRUCTURE", `POST ${this.#url} failed: ${this.#redact(describeFetchError(cause))}`, {
        cause,
      });
    }
    if (status < 200 || status > 299) {
      // 5xx and 429 are the provider's trouble (the step's retry policy may try again); other answers
      // are about what was asked, and so the agent's.
      const infrastructure = status >= 500 || status === 429;
      throw new OrchestratorError(
        infrastructure ? "INFRASTRUCTURE" : "AGENT_FAILED",
        `POST ${this.#url} answered ${status} ${statusText}: ${this.#redact(text.slice(0, BODY_EXCERPT_CHARS))}`,
      );
    }
    return parseCompletion(this.#redact(text), this.#url);
  }

  async #runTool(call: ChatToolCall, step: FlowStep, signal: AbortSignal): Promise<ToolCallRecord> {
    const toolName = call.function.name;
    const started = performance.now();
    const failed = (input: unknown, error: string): ToolCallRecord => ({
      toolName,
      input,
      output: null,
      success: false,
      durationMs: elapsedMs(started),
      error,
    });

    const args = parseArguments(call.function.arguments);
    const offered = step.requiredTools.includes(toolName);
    const handler = offered ? this.#handler(toolName) : undefined;
    if (handler === undefined) {
      const reason = offered
        ? `no handler is registered for tool "${toolName}"`
        : `unknown tool "${toolName}" (offered: ${step.requiredTools.join(", ") || "none"})`;
      return failed(args.ok ? args.value : call.function.arguments, reason);
    }
    if (!args.ok) return failed(call.function.arguments, `arguments are not valid JSON: ${args.error}`);
    const input = args.value;
    try {
      const output = await handler.run(input, signal);
      return { toolName, input, output: output ?? null, success: true, durationMs: elapsedMs(started) };
    } catch (cause) {
      if (signal.aborted) throw signal.reason;
      return failed(input, errorMessage(cause));
    }
  }

  #handler(toolName: string): ToolHandler | undefined {
    // Own keys only: a tool named "constructor" must not find Object.prototype's.
    return Object.hasOwn(this.#tools, toolName) ? this.#tools[toolName] : undefined;
  }

  /** Error bodies sometimes echo the credentials back; they must never reach logs or the database. */
  #redact(text: string): string {
    return this.#apiKey ? text.replaceAll(this.#apiKey, "[redacted]") : text;
  }
}

function userMessage(context: StepContext): string {
  const previous = describePreviousResults(context.previousResults);
  return previous === "" ? context.prompt : `${context.prompt}\n\n${previous}`;
}

function toolDefinition(name: string, handler: ToolHandler | undefined) {
  return {
    type: "function" as const,
    function: {
      name,
      description: handler?.description ?? `The ${name} tool.`,
      // Tools without a handler are still offered with a permissive schema, so the model can try them.
      parameters: handler?.parameters ?? { type: "object" },
    },
  };
}

function toolMessage(record: ToolCallRecord): string {
  if (!record.success) return `Error: ${record.error ?? "tool failed"}`;
  return typeof record.output === "string" ? record.output : JSON.stringify(record.output);
}

function parseArguments(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    // Some servers send "" for a call without arguments.
    return { ok: true, value: JSON.parse(text || "{}") };
  } catch (cause) {
    return { ok: false, error: errorMessage(cause) };
  }
}

function parseCompletion(text: string, url: string): ChatCompletion {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OrchestratorError("AGENT_PROTOCOL", `POST ${url} answered a non-JSON body: ${text.slice(0, 200)}`);
  }
  const parsed = ZChatCompletion.safeParse(json);
  if (!parsed.success) {
    throw new OrchestratorError("AGENT_PROTOCOL", `POST ${url} answered a malformed chat completion: ${text.slice(0, 200)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function describeFetchError(error: unknown): string {
  // undici hides the useful part (ECONNREFUSED, …) in `cause`.
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? `${errorMessage(error)} (${cause.message})` : errorMessage(error);
}

function elapsedMs(started: number): number {
  return Math.round(performance.now() - started);
}
