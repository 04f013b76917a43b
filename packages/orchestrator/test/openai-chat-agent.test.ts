import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { PreviousStepResult, StepContext } from "../src/agents/agent.js";
import { missingOpenAIEnvironment, OpenAIChatAgent, type ToolHandler } from "../src/agents/openai-chat-agent.js";
import { OrchestratorError } from "../src/errors.js";
import { type FlowStep, ZFlowStep } from "../src/flow-plan.js";

const API_KEY = "sk-test-SECRET-0123456789";

/** One request as the fake chat-completions server received it. */
type Exchange = {
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: ChatRequest;
  req: IncomingMessage;
  res: ServerResponse;
};

type ChatRequest = {
  model: string;
  messages: { role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }[];
  tools?: { type: string; function: { name: string; description: string; parameters: unknown } }[];
};

let server: Server;
let baseUrl: string;
let exchanges: Exchange[];
let reply: (exchange: Exchange) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      data += chunk;
    });
    req.on("end", () => {
      const exchange: Exchange = { url: req.url, headers: req.headers, body: JSON.parse(data) as ChatRequest, req, res };
      exchanges.push(exchange);
      reply(exchange);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  exchanges = [];
  reply = (exchange) => sendJson(exchange.res, 500, { error: "no reply configured" });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function completion(message: Record<string, unknown>) {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    model: "test-model",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
  };
}

function toolCallsReply(calls: [id: string, name: string, args: string][]) {
  return completion({
    content: null,
    tool_calls: calls.map(([id, name, args]) => ({ id, type: "function", function: { name, arguments: args } })),
  });
}

/** Replies with the given responses in turn, one per request. */
function replySequence(...bodies: unknown[]): void {
  reply = (exchange) => sendJson(exchange.res, 200, bodies[exchanges.length - 1] ?? completion({ content: "extra" }));
}

const step = (input: Record<string, unknown>): FlowStep => ZFlowStep.parse({ stepId: "swap", prompt: "swap", ...input });

const previous: PreviousStepResult = {
  stepIndex: 0,
  stepId: "balance_check",
  status: "success",
  response: "4 SOL",
  toolCalls: [{ toolName: "get_account_balance", input: {}, output: { sol: 4 }, success: true, durationMs: 3 }],
  error: null,
};

const context = (previousResults: PreviousStepResult[] = []): StepContext => ({
  executionId: "exec-1",
  flowId: "jup-multiply-usdc",
  flowPrompt: "use my 50% sol to multiply usdc 1.5x on jup",
  stepIndex: previousResults.length,
  attempt: 1,
  prompt: "Swap 2 SOL to USDC on Jupiter.",
  context: {},
  previousResults,
});

const never = new AbortController().signal;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("OpenAIChatAgent", () => {
  it("runs the tool loop: tools from requiredTools, tool messages on the next turn, recorded calls", async () => {
    const handlerSignals: AbortSignal[] = [];
    const tools: Record<string, ToolHandler> = {
      get_account_balance: {
        description: "Balances of a wallet.",
        parameters: { type: "object", properties: { wallet: { type: "string" } }, required: ["wallet"] },
        run: async (input, signal) => {
          handlerSignals.push(signal);
          await delay(25);
          return { wallet: (input as { wallet: string }).wallet, sol: 4 };
        },
      },
      jupiter_swap: { run: async (input) => ({ swapped: input, signature: "sig1" }) },
    };
    replySequence(
      toolCallsReply([
        ["call_1", "get_account_balance", '{"wallet":"W1"}'],
        ["call_2", "jupiter_swap", '{"inputMint":"SOL","amount":2}'],
      ]),
      completion({ content: "Swapped 2 SOL for 300 USDC." }),
    );
    const agent = new OpenAIChatAgent({ baseUrl, model: "test-model", apiKey: API_KEY, tools, systemPrompt: "be brief" });
    const signal = new AbortController().signal;

    const result = await agent.run(step({ requiredTools: ["get_account_balance", "jupiter_swap"] }), context([previous]), signal);

    expect(agent.name).toBe("openai");
    expect(result.response).toBe("Swapped 2 SOL for 300 USDC.");
    expect(result.toolCalls).toHaveLength(2);
    const [balance, swap] = result.toolCalls;
    expect(balance).toMatchObject({
      toolName: "get_account_balance",
      input: { wallet: "W1" },
      output: { wallet: "W1", sol: 4 },
      success: true,
    });
    // The handler's 20 ms wait, measured: libuv's millisecond loop clock can end it up to 1 ms early.
    expect(balance?.durationMs).toBeGreaterThanOrEqual(19);
    expect(balance?.error).toBeUndefined();
    expect(swap).toMatchObject({
      toolName: "jupiter_swap",
      input: { inputMint: "SOL", amount: 2 },
      output: { swapped: { inputMint: "SOL", amount: 2 }, signature: "sig1" },
      success: true,
    });
    expect(swap?.durationMs).toBeGreaterThanOrEqual(0);
    expect(handlerSignals).toEqual([signal]);

    expect(exchanges).toHaveLength(2);
    const [first, second] = exchanges;
    expect(first?.url).toBe("/v1/chat/completions");
    expect(first?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(first?.headers["content-type"]).toBe("application/json");
    expect(first?.body.model).toBe("test-model");
    expect(first?.body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_account_balance",
          description: "Balances of a wallet.",
          parameters: { type: "object", properties: { wallet: { type: "string" } }, required: ["wallet"] },
        },
      },
      { type: "function", function: { name: "jupiter_swap", description: "The jupiter_swap tool.", parameters: { type: "object" } } },
    ]);
    expect(first?.body.messages).toHaveLength(2);
    expect(first?.body.messages[0]).toEqual({ role: "system", content: "be brief" });
    expect(first?.body.messages[1]?.role).toBe("user");
    expect(first?.body.messages[1]?.content).toMatch(
      /^Swap 2 SOL to USDC on Jupiter\.\n\nPrevious step results:\nStep 0: balance_check - SUCCESS, Data: /,
    );

    const turn2 = second?.body.messages ?? [];
    expect(turn2.slice(0, 2)).toEqual(first?.body.messages);
    expect(turn2[2]).toMatchObject({ role: "assistant", content: null });
    expect(turn2[2]?.tool_calls).toHaveLength(2);
    expect(turn2.slice(3)).toEqual([
      { role: "tool", tool_call_id: "call_1", content: '{"wallet":"W1","sol":4}' },
      { role: "tool", tool_call_id: "call_2", content: '{"swapped":{"inputMint":"SOL","amount":2},"signature":"sig1"}' },
    ]);
  });

  it("sends no Authorization header without a key and no tools when none are required", async () => {
    vi.stubEnv("OPENAI_API_KEY", "");
    replySequence(completion({ content: "done" }));
    const result = await new OpenAIChatAgent({ baseUrl: `${baseUrl}/`, model: "m" }).run(step({}), context(), never);
    // The server counted no tokens: usage is unknown, never 0.
    expect(result).toEqual({
      response: "done",
      toolCalls: [],
      usage: { model: "test-model", inputTokens: null, outputTokens: null, cachedInputTokens: null },
    });
    const [exchange] = exchanges;
    expect(exchange?.url).toBe("/v1/chat/completions");
    expect(exchange?.headers.authorization).toBeUndefined();
    expect(exchange?.body).not.toHaveProperty("tools");
    expect(exchange?.body.messages[1]).toEqual({ role: "user", content: "Swap 2 SOL to USDC on Jupiter." });
  });

  it("takes base URL, model and key from the environment", async () => {
    vi.stubEnv("OPENAI_BASE_URL", baseUrl);
    vi.stubEnv("OPENAI_MODEL", "env-model");
    vi.stubEnv("OPENAI_API_KEY", "sk-from-env");
    replySequence(completion({ content: "hi" }));
    await new OpenAIChatAgent().run(step({}), context(), never);
    expect(exchanges[0]?.body.model).toBe("env-model");
    expect(exchanges[0]?.headers.authorization).toBe("Bearer sk-from-env");
  });

  it("records unknown tools, bad JSON arguments, missing handlers and throwing handlers as failed calls", async () => {
    const tools: Record<string, ToolHandler> = {
      jupiter_swap: { run: async () => ({ ok: true }) },
      flaky: {
        run: async () => {
          throw new Error("rpc unavailable");
        },
      },
      not_offered: { run: async () => "should never run" },
    };
    replySequence(
      toolCallsReply([
        ["c1", "transfer_everything", '{"to":"attacker"}'],
        ["c2", "jupiter_swap", "{not json"],
        ["c3", "get_account_balance", ""],
        ["c4", "flaky", '{"n":1}'],
        ["c5", "not_offered", "{}"],
        ["c6", "jupiter_swap", ""],
      ]),
      completion({ content: "gave up on some tools" }),
    );
    const agent = new OpenAIChatAgent({ baseUrl, model: "m", tools });
    const result = await agent.run(step({ requiredTools: ["jupiter_swap", "get_account_balance", "flaky"] }), context(), never);

    expect(result.response).toBe("gave up on some tools");
    const calls = result.toolCalls;
    expect(calls.map((c) => [c.toolName, c.success])).toEqual([
      ["transfer_everything", false],
      ["jupiter_swap", false],
      ["get_account_balance", false],
      ["flaky", false],
      ["not_offered", false],
      ["jupiter_swap", true],
    ]);
    expect(calls[0]).toMatchObject({ input: { to: "attacker" }, output: null });
    expect(calls[0]?.error).toMatch(/unknown tool "transfer_everything" \(offered: jupiter_swap, get_account_balance, flaky\)/);
    expect(calls[1]).toMatchObject({ input: "{not json", output: null });
    expect(calls[1]?.error).toMatch(/^arguments are not valid JSON: /);
    expect(calls[2]?.error).toBe('no handler is registered for tool "get_account_balance"');
    expect(calls[3]).toMatchObject({ input: { n: 1 }, error: "rpc unavailable" });
    expect(calls[4]?.error).toMatch(/unknown tool "not_offered"/);
    expect(calls[5]).toMatchObject({ input: {}, output: { ok: true } });
    for (const call of calls) expect(call.durationMs).toBeGreaterThanOrEqual(0);

    const toolMessages = exchanges[1]?.body.messages.filter((m) => m.role === "tool") ?? [];
    expect(toolMessages.map((m) => m.tool_call_id)).toEqual(["c1", "c2", "c3", "c4", "c5", "c6"]);
    expect(toolMessages[0]?.content).toMatch(/^Error: unknown tool "transfer_everything"/);
    expect(toolMessages[1]?.content).toMatch(/^Error: arguments are not valid JSON/);
    expect(toolMessages[3]?.content).toBe("Error: rpc unavailable");
    expect(toolMessages[5]?.content).toBe('{"ok":true}');
  });

  it("needs OPENAI_BASE_URL and OPENAI_MODEL: no silent public endpoint, no default model", () => {
    vi.stubEnv("OPENAI_BASE_URL", "");
    vi.stubEnv("OPENAI_MODEL", "");
    expect(() => new OpenAIChatAgent()).toThrow("The openai agent needs OPENAI_BASE_URL and OPENAI_MODEL");
    expect(() => new OpenAIChatAgent({ baseUrl })).toThrow(/needs OPENAI_MODEL:/);
    expect(missingOpenAIEnvironment({ OPENAI_BASE_URL: " ", OPENAI_MODEL: "m" })).toEqual(["OPENAI_BASE_URL"]);
  });

  it("reads usage from every reply of the attempt and sums it", async () => {
    const usage = (prompt: number, completionTokens: number, cached: number) => ({
      prompt_tokens: prompt,
      completion_tokens: completionTokens,
      prompt_tokens_details: { cached_tokens: cached },
    });
    replySequence(
      { ...toolCallsReply([["c1", "jupiter_swap", "{}"]]), usage: usage(100, 20, 0) },
      { ...completion({ content: "swapped" }), usage: usage(150, 10, 100) },
    );
    const agent = new OpenAIChatAgent({ baseUrl, model: "asked-model", tools: { jupiter_swap: { run: async () => ({ ok: true }) } } });
    const result = await agent.run(step({ requiredTools: ["jupiter_swap"] }), context(), never);
    expect(result.usage).toEqual({ model: "test-model", inputTokens: 250, outputTokens: 30, cachedInputTokens: 100 });
  });

  it("a 429 or 5xx is an INFRASTRUCTURE error, another HTTP error the agent's (AGENT_FAILED)", async () => {
    for (const [status, code] of [
      [429, "INFRASTRUCTURE"],
      [502, "INFRASTRUCTURE"],
      [400, "AGENT_FAILED"],
    ] as const) {
      reply = (exchange) => sendJson(exchange.res, status, { error: { message: "no" } });
      const error = await new OpenAIChatAgent({ baseUrl, model: "m" }).run(step({}), context(), never).catch((e: unknown) => e);
      expect(error, String(status)).toMatchObject({ code });
    }
  });

  it("turns an HTTP error into INFRASTRUCTURE with status and body excerpt, never the key", async () => {
    reply = (exchange) =>
      sendJson(exchange.res, 500, { error: { message: `Internal failure for key ${API_KEY}`, pad: "x".repeat(2_000) } });
    const error = await new OpenAIChatAgent({ baseUrl, model: "m", apiKey: API_KEY })
      .run(step({}), context(), never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchestratorError);
    const { code, message } = error as OrchestratorError;
    expect(code).toBe("INFRASTRUCTURE");
    expect(message).toContain("500");
    expect(message).toContain("Internal failure for key [redacted]");
    expect(message).not.toContain(API_KEY);
    expect(message.length).toBeLessThan(1_000);
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it("turns an unreachable server into INFRASTRUCTURE", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await new OpenAIChatAgent({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "m" })
      .run(step({}), context(), never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INFRASTRUCTURE" });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it.each([
    ["a non-JSON body", "<html>proxy error</html>"],
    ["no choices", JSON.stringify({ choices: [] })],
    ["a message that is not one", JSON.stringify({ choices: [{ message: "hi" }] })],
    ["malformed tool calls", JSON.stringify(completion({ tool_calls: [{ id: 1, function: { name: "x" } }] }))],
  ])("turns %s into AGENT_PROTOCOL", async (_name, body) => {
    reply = ({ res }) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    };
    const error = await new OpenAIChatAgent({ baseUrl, model: "m", apiKey: API_KEY })
      .run(step({}), context(), never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AGENT_PROTOCOL" });
  });

  it("aborts a request the server never answers, closing it on the server side", async () => {
    let serverSawClose!: () => void;
    const closedOnServer = new Promise<void>((resolve) => {
      serverSawClose = resolve;
    });
    reply = ({ res }) => {
      res.on("close", serverSawClose);
    };
    const controller = new AbortController();
    const reason = new Error("step timed out after 100ms");
    const run = new OpenAIChatAgent({ baseUrl, model: "m" }).run(step({}), context(), controller.signal);
    await vi.waitFor(() => expect(exchanges).toHaveLength(1));
    const abortedAt = performance.now();
    controller.abort(reason);

    await expect(run).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(5_000); // the abort ended it, not the server; slack for a loaded machine
    await expect(Promise.race([closedOnServer.then(() => "closed"), delay(2_000).then(() => "still open")])).resolves.toBe("closed");
  });

  it("aborts a running tool handler through the same signal", async () => {
    let handlerSawAbort = false;
    const tools: Record<string, ToolHandler> = {
      slow: {
        run: (_input, signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener("abort", () => {
              handlerSawAbort = true;
              reject(new Error("handler aborted"));
            });
          }),
      },
    };
    replySequence(toolCallsReply([["c1", "slow", "{}"]]));
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const run = new OpenAIChatAgent({ baseUrl, model: "m", tools }).run(step({ requiredTools: ["slow"] }), context(), controller.signal);
    await vi.waitFor(() => expect(exchanges).toHaveLength(1));
    await delay(20);
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(handlerSawAbort).toBe(true);
    expect(exchanges).toHaveLength(1);
  });

  it("fails with AGENT_PROTOCOL when the model keeps calling tools past maxTurns", async () => {
    let n = 0;
    reply = ({ res }) => sendJson(res, 200, toolCallsReply([[`c${++n}`, "jupiter_swap", "{}"]]));
    const agent = new OpenAIChatAgent({
      baseUrl,
      model: "m",
      maxTurns: 3,
      tools: { jupiter_swap: { run: async () => ({ ok: true }) } },
    });
    const error = await agent.run(step({ requiredTools: ["jupiter_swap"] }), context(), never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchestratorError);
    expect(error).toMatchObject({ code: "AGENT_PROTOCOL" });
    expect((error as Error).message).toContain("3 turns");
    expect(exchanges).toHaveLength(3);
    expect(exchanges[2]?.body.messages.filter((m) => m.role === "tool")).toHaveLength(2);
    // The turns that ran are not lost with the failure: their calls and tokens travel on the error.
    expect((error as OrchestratorError).spent?.toolCalls.map((c) => c.toolName)).toEqual(["jupiter_swap", "jupiter_swap", "jupiter_swap"]);
  });

  it("a failure after earlier turns carries their tool calls and summed usage", async () => {
    let n = 0;
    reply = ({ res }) =>
      ++n === 1
        ? sendJson(res, 200, { ...toolCallsReply([["c1", "jupiter_swap", "{}"]]), usage: { prompt_tokens: 100, completion_tokens: 20 } })
        : sendJson(res, 502, { error: { message: "upstream gone" } });
    const agent = new OpenAIChatAgent({ baseUrl, model: "m", tools: { jupiter_swap: { run: async () => ({ ok: true }) } } });
    const error = await agent.run(step({ requiredTools: ["jupiter_swap"] }), context(), never).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "INFRASTRUCTURE",
      spent: {
        toolCalls: [{ toolName: "jupiter_swap", success: true, output: { ok: true } }],
        usage: { model: "test-model", inputTokens: 100, outputTokens: 20, cachedInputTokens: null },
      },
    });
  });

  it("a failure on the first turn has spent nothing", async () => {
    reply = ({ res }) => sendJson(res, 400, { error: { message: "bad request" } });
    const error = await new OpenAIChatAgent({ baseUrl, model: "m" }).run(step({}), context(), never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AGENT_FAILED" });
    expect((error as OrchestratorError).spent).toBeUndefined();
  });

  it("uses an injected fetch", async () => {
    const fetchSpy = vi.fn<typeof fetch>(async () => Response.json(completion({ content: "from the spy" })));
    const agent = new OpenAIChatAgent({ baseUrl: "http://example.invalid/v1", model: "m", fetch: fetchSpy });
    expect(await agent.run(step({}), context(), never)).toMatchObject({ response: "from the spy", toolCalls: [] });
    expect(fetchSpy).toHaveBeenCalledOnce();
    expect(fetchSpy.mock.calls[0]?.[0]).toBe("http://example.invalid/v1/chat/completions");
  });
});
