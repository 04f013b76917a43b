/**
 * `reev run --agent openai` end to end: the CLI child process talks to a chat-completions server
 * run by this test on 127.0.0.1 (no internet here), and runs the model's tool calls with the
 * handlers of the `--tools` module.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, cliEnv, fixture, makeTempDir, runCli, show } from "./support/run-cli.js";

type ChatRequest = { model: string; messages: { role: string; content?: string | null }[]; tools?: { function: { name: string } }[] };

let server: Server;
let baseUrl: string;
const requests: ChatRequest[] = [];
let temp: ReturnType<typeof makeTempDir>;

/** First turn: call get_balance; once the tool's answer is in the conversation: a final message. */
function reply(request: ChatRequest): unknown {
  const toolAnswer = request.messages.find((m) => m.role === "tool");
  const message = toolAnswer
    ? { role: "assistant", content: `Balance: ${toolAnswer.content}` }
    : {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_balance", arguments: JSON.stringify({ wallet: "W1" }) } }],
      };
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    choices: [{ index: 0, message, finish_reason: toolAnswer ? "stop" : "tool_calls" }],
  };
}

beforeAll(async () => {
  assertBuilt();
  temp = makeTempDir("reev-cli-openai-");
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const request = JSON.parse(body) as ChatRequest;
      requests.push(request);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply(request)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  temp?.remove();
});

const env = () => cliEnv({ OPENAI_BASE_URL: baseUrl, OPENAI_MODEL: "test-model", OPENAI_API_KEY: "sk-test" });

describe("reev run --agent openai", () => {
  it("runs the model's tool calls with the --tools handlers and records them", async () => {
    requests.length = 0;
    const db = join(temp.dir, "db");
    const r = await runCli(["run", fixture("openai-flow.yaml"), "--agent", "openai", "--tools", fixture("tools.mjs"), "--db", db], {
      cwd: temp.dir,
      env: env(),
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^\s*0\s+balance\s+✅ success\s+\S+\s+1\s+1\s+—/m);
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ model: "test-model", tools: [{ function: { name: "get_balance" } }] });

    const id = /(exec_cli-openai_\S+)$/m.exec(r.stdout)?.[1];
    const exported = await runCli(["export", id ?? "missing", "--db", db], { cwd: temp.dir, env: env() });
    expect(exported.code, show(exported)).toBe(0);
    const [step] = JSON.parse(exported.stdout).steps;
    expect(step).toMatchObject({ stepId: "balance", status: "success" });
    expect(step.toolCalls).toMatchObject([
      { toolName: "get_balance", input: { wallet: "W1" }, output: { wallet: "W1", sol: 4 }, success: true },
    ]);
  });

  it("without --tools the call cannot run: recorded as failed, and the run exits 1", async () => {
    const r = await runCli(["run", fixture("openai-flow.yaml"), "--agent", "openai", "--db", join(temp.dir, "db")], {
      cwd: temp.dir,
      env: env(),
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toMatch(/balance\s+❌ failed.*no handler/);
  });

  it("a --tools module that is not usable, or --tools with the scripted agent, is bad input (exit 2)", async () => {
    const notTools = await runCli(
      ["run", fixture("openai-flow.yaml"), "--agent", "openai", "--tools", fixture("succeeds.yaml"), "--db", join(temp.dir, "db3")],
      {
        cwd: temp.dir,
        env: env(),
      },
    );
    expect(notTools.code, show(notTools)).toBe(2);
    expect(notTools.stderr).toMatch(/tools module/);
    const scripted = await runCli(["run", fixture("openai-flow.yaml"), "--tools", fixture("tools.mjs"), "--db", join(temp.dir, "db3")], {
      cwd: temp.dir,
      env: env(),
    });
    expect(scripted.code, show(scripted)).toBe(2);
    expect(scripted.stderr).toContain("--tools goes with --agent openai");
  });
});
