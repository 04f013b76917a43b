import type { Database } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { consolidateExecution } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { stringify } from "yaml";
import { createServer } from "../src/index.js";
import { expectMatchesOpenApi } from "./support/openapi.js";
import { flowPlan, runFlow } from "./support/runs.js";
import { readEvents, stepIndexes } from "./support/sse.js";

const TOKEN = "s3cret-token-for-tests";
const auth = { Authorization: `Bearer ${TOKEN}` };

const flowJson = (flowId: string, steps: number, delayMs = 0) => {
  const { flowId: id, prompt, steps: planSteps } = flowPlan(flowId, steps, { delayMs });
  return {
    flowId: id,
    prompt,
    steps: planSteps.map(({ stepId, prompt: p, requiredTools, script }) => ({ stepId, prompt: p, requiredTools, script })),
  };
};

async function counts(db: Database) {
  const prisma = prismaClientOf(db);
  return { executions: await prisma.executionSession.count(), steps: await prisma.stepSession.count() };
}

describe.each(testBackends())("write routes and events on $name", (backend) => {
  test.override({ backend });

  test("without REEV_API_TOKEN every write is refused with 401, and nothing is written", async ({ db }) => {
    const { app } = createServer({ db, log: () => {} });
    const before = await counts(db);
    const response = await app.request("/api/v1/executions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow: flowJson("no-token", 1), agent: "scripted" }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: "WRITES_DISABLED" } });
    expect(await counts(db)).toEqual(before);
  });

  test("bad writes get the right 4xx and a JSON error, and nothing is written", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, maxBodyBytes: 64 * 1024, log: () => {} });
    const before = await counts(db);
    const json = (body: unknown) => ({ "Content-Type": "application/json", body: typeof body === "string" ? body : JSON.stringify(body) });
    const cases: [
      name: string,
      init: { headers?: Record<string, string>; body?: string; "Content-Type"?: string },
      path: string,
      status: number,
      field?: string,
    ][] = [
      ["no token", { ...json({ flow: flowJson("x", 1) }), headers: {} }, "/api/v1/executions", 401],
      ["a wrong token", { ...json({ flow: flowJson("x", 1) }), headers: { Authorization: "Bearer nope" } }, "/api/v1/executions", 401],
      ["not a bearer header", { ...json({ flow: flowJson("x", 1) }), headers: { Authorization: "Basic abc" } }, "/api/v1/executions", 400],
      ["text/plain", { "Content-Type": "text/plain", body: "hello" }, "/api/v1/executions", 415, "Content-Type"],
      ["broken JSON", json("{ not json"), "/api/v1/executions", 400, "body"],
      ["no flow", json({ agent: "scripted" }), "/api/v1/executions", 400, "flow"],
      ["an unknown agent", json({ flow: flowJson("x", 1), agent: "skynet" }), "/api/v1/executions", 400, "agent"],
      // The body and the query could disagree: neither is quietly ignored.
      ["a JSON body with ?agent=", json({ flow: flowJson("x", 1), agent: "scripted" }), "/api/v1/executions?agent=openai", 400, "agent"],
      ["a flow without steps", json({ flow: { flowId: "x", prompt: "p" } }), "/api/v1/executions", 400, "flow.steps"],
      [
        "a step without an id",
        json({ flow: { flowId: "x", prompt: "p", steps: [{ prompt: "p" }] } }),
        "/api/v1/executions",
        400,
        "flow.steps[0].stepId",
      ],
      ["broken YAML", { "Content-Type": "application/yaml", body: "flowId: [unclosed" }, "/api/v1/executions", 400, "body"],
      [
        "YAML with an unknown agent",
        { "Content-Type": "application/yaml", body: stringify(flowJson("x", 1)) },
        "/api/v1/executions?agent=skynet",
        400,
        "agent",
      ],
      ["a body over the limit", json({ flow: flowJson("x", 1), padding: "x".repeat(100 * 1024) }), "/api/v1/executions", 413],
      ["consolidating an unknown run", json({}), "/api/v1/executions/nope/consolidate", 404],
    ];
    for (const [name, init, path, status, field] of cases) {
      const headers: Record<string, string> = {
        ...(init.headers ?? auth),
        ...(init["Content-Type"] ? { "Content-Type": init["Content-Type"] } : {}),
      };
      const response = await app.request(path, { method: "POST", headers, ...(init.body === undefined ? {} : { body: init.body }) });
      expect({ name, status: response.status }).toEqual({ name, status });
      expect(response.headers.get("content-type"), name).toMatch(/^application\/json/);
      const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
      expect(body.error.message, name).toEqual(expect.any(String));
      if (field) expect(body.error.field, name).toBe(field);
    }
    expect(await counts(db)).toEqual(before);
  });

  test("a JSON body field the route does not take is a 400 naming it with the field a typo meant, and nothing runs", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const before = await counts(db);
    const post = (body: unknown) =>
      app.request("/api/v1/executions", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...auth },
        body: JSON.stringify(body),
      });
    for (const [body, field, message] of [
      [{ flow: flowJson("typo", 1), agnt: "openai" }, "agnt", "Unknown body field agnt: the body takes flow, agent. Did you mean agent?"],
      [{ flow: flowJson("extra", 1), timeout: 5 }, "timeout", "Unknown body field timeout: the body takes flow, agent."],
      [
        { flow: flowJson("bad-agent", 1), agent: "opneai" },
        "agent",
        'Invalid body field agent: must be scripted or openai, not "opneai". Did you mean openai?',
      ],
      // The stray name's guess first: it is why flow is missing.
      [
        { flw: flowJson("stray", 1) },
        "flw",
        "Unknown body field flw: the body takes flow, agent. Did you mean flow? The body field flow is required.",
      ],
      [{ agent: "scripted" }, "flow", "The body field flow is required."],
    ] as const) {
      const response = await post(body);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 400,
        body: { error: { code: "INVALID_ARGUMENT", message, field } },
      });
    }
    expect(await counts(db)).toEqual(before);
  });

  test("a scripted flow with a step that has no script is refused as reev run refuses it: 400 naming the field, nothing written", async ({
    db,
  }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const before = await counts(db);
    const unscripted = { flowId: "x", prompt: "p", steps: [{ stepId: "a", prompt: "b" }] };
    const because = "has no script, and the scripted agent can only replay what a script says; nothing was run.";
    for (const [name, init, path, field] of [
      [
        "JSON",
        { "Content-Type": "application/json", body: JSON.stringify({ flow: unscripted, agent: "scripted" }) },
        "/api/v1/executions",
        "flow.steps[0].script",
      ],
      [
        "YAML",
        { "Content-Type": "application/yaml", body: stringify(unscripted) },
        "/api/v1/executions?agent=scripted",
        "body.steps[0].script",
      ],
    ] as const) {
      const response = await app.request(path, {
        method: "POST",
        headers: { ...auth, "Content-Type": init["Content-Type"] },
        body: init.body,
      });
      expect({ name, status: response.status, body: await response.json() }).toEqual({
        name,
        status: 400,
        body: { error: { code: "INVALID_ARGUMENT", message: `Step "a" (steps[0]) of the request body ${because}`, field } },
      });
    }
    expect(await counts(db)).toEqual(before);
  });

  test("a YAML body that does not parse says so in a sentence, naming the request body", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const response = await app.request("/api/v1/executions", {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/yaml" },
      body: "flowId: [unclosed",
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { message: string; field: string } };
    expect(error.message).toMatch(/^Cannot parse the request body as a flow file: /);
    expect(error.field).toBe("body");
  });

  test("a write without the right token is told what to send, and the scheme is in WWW-Authenticate", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const post = (headers: Record<string, string>) =>
      app.request("/api/v1/executions", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify({ flow: flowJson("x", 1) }),
      });
    // RFC 6750's challenge: the realm when no token came, the error when a wrong one did.
    for (const [headers, status, message, challenge] of [
      [{}, 401, "This route needs Authorization: Bearer <REEV_API_TOKEN>.", 'Bearer realm="reev"'],
      [{ Authorization: "Bearer nope" }, 401, "The bearer token is not this server's REEV_API_TOKEN.", 'Bearer error="invalid_token"'],
      [{ Authorization: "Basic abc" }, 400, "The Authorization header must be Bearer <REEV_API_TOKEN>.", 'Bearer error="invalid_request"'],
    ] as const) {
      const response = await post(headers);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status,
        body: { error: { code: "UNAUTHORIZED", message } },
      });
      expect(response.headers.get("www-authenticate")).toBe(challenge);
    }
  });

  test("a method a path does not take is 405 with Allow, the same with a token, without one, and with writes disabled", async ({ db }) => {
    const withToken = createServer({ db, token: TOKEN, log: () => {} }).app;
    const withoutWrites = createServer({ db, log: () => {} }).app;
    const cases: [method: string, path: string, allow: string][] = [
      ["DELETE", "/api/v1/executions/some-run", "GET, HEAD"],
      ["PUT", "/api/v1/executions/some-run/steps", "GET, HEAD"],
      ["POST", "/api/v1/flows/some-flow", "GET, HEAD"],
      ["PATCH", "/api/v1/executions", "GET, HEAD, POST"],
      ["GET", "/api/v1/executions/some-run/consolidate", "POST"],
      ["DELETE", "/api/v1/openapi.json", "GET, HEAD"],
      ["POST", "/healthz", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      for (const [who, app, headers] of [
        ["a token", withToken, auth],
        ["no token", withToken, {}],
        ["writes disabled", withoutWrites, {}],
      ] as const) {
        const response = await app.request(path, { method, headers });
        const name = `${method} ${path} with ${who}`;
        expect({ name, status: response.status, allow: response.headers.get("allow") }).toEqual({ name, status: 405, allow });
        expect(await response.json(), name).toEqual({
          error: { code: "METHOD_NOT_ALLOWED", message: `${path} does not take ${method}; it takes ${allow}.` },
        });
      }
    }
    // A path no route has is 404 whatever the method and token; the methods a path takes still work.
    for (const headers of [auth, {}]) {
      const response = await withToken.request("/api/v1/nothing-here", { method: "DELETE", headers });
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 404,
        body: { error: { code: "NOT_FOUND", message: "No route DELETE /api/v1/nothing-here." } },
      });
    }
    expect((await withToken.request("/api/v1/executions", { method: "HEAD" })).status).toBe(200);
    expect((await withToken.request("/api/v1/executions/nope/consolidate", { method: "POST", headers: auth })).status).toBe(404);
  });

  test("a viewer page's path with a method it does not take is the viewer's 405 page with Allow, not 'No page at'", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    for (const [method, path] of [
      ["DELETE", "/runs/some-run"],
      ["POST", "/evaluations"],
      ["PUT", "/"],
    ] as const) {
      const response = await app.request(path, { method, headers: auth });
      const name = `${method} ${path}`;
      expect({ name, status: response.status, allow: response.headers.get("allow") }).toEqual({ name, status: 405, allow: "GET, HEAD" });
      expect(response.headers.get("content-type"), name).toMatch(/^text\/html/);
      const text = await response.text();
      expect(text, name).toContain("<h1>This page cannot be shown</h1>");
      expect(text, name).toContain(`${path} does not take ${method}; it takes GET, HEAD.`);
    }
    // A page path no route has stays the viewer's 404, whatever the method.
    const missing = await app.request("/nothing/here", { method: "DELETE" });
    expect({ status: missing.status, allow: missing.headers.get("allow") }).toEqual({ status: 404, allow: null });
    expect(await missing.text()).toContain("No page at /nothing/here.");
  });

  test("the events of a run whose process is gone say abandoned (found at connect or on a heartbeat), then follow reev recover to the end", async ({
    db,
  }) => {
    const { app } = createServer({ db, heartbeatMs: 50, log: () => {} });
    const id = `gone-${backend.name}-${Date.now()}`;
    await db.writer.createExecutionSession({ executionId: id, flowId: "gone", agent: "scripted", prompt: "p" });
    const client = prismaClientOf(db);
    // Its owner recorded with another start time than this process's: the pid now belongs to another process, as after kill -9.
    const orphan = async () => {
      const row = await client.executionSession.findUniqueOrThrow({ where: { executionId: id } });
      await client.executionSession.update({
        where: { executionId: id },
        data: { ownerStartedAt: new Date((row.ownerStartedAt as Date).getTime() - 3_600_000) },
      });
    };
    const eventsPath = `/api/v1/executions/${id}/events`;
    const notHeartbeats = (events: Awaited<ReturnType<typeof readEvents>>) => events.filter((e) => e.event !== "heartbeat");
    const running = { execution_id: id, status: "running", error: null, finished_at: null };

    const isAbandoned = (e: { event?: string | undefined; data: string }) => e.event === "status" && JSON.parse(e.data).abandoned === true;

    // Followed while its process lives; the process goes (nothing announces it), and the heartbeat's read finds it.
    let orphaned: Promise<void> | undefined;
    const followed = await readEvents(await app.request(eventsPath), (event) => {
      if (event.event === "status") orphaned ??= orphan();
      return isAbandoned(event);
    });
    await orphaned;
    expect(notHeartbeats(followed).map((e) => [e.event, e.event === "status" ? JSON.parse(e.data) : undefined])).toEqual([
      ["status", { ...running, abandoned: false }],
      ["consolidation", undefined],
      ["status", { ...running, abandoned: true }],
    ]);

    // Abandoned at connect: its events at once, the status saying so; then the stream waits, as only
    // reev recover will move it. When it does (here as reev recover does it: finished failed, then
    // consolidated), the stream sends what changed and ends.
    let recovered: Promise<unknown> | undefined;
    const replay = notHeartbeats(
      await readEvents(await app.request(eventsPath), (event) => {
        if (isAbandoned(event)) recovered ??= db.writer.recoverAbandonedExecutions().then(() => consolidateExecution(db, id));
        return false;
      }),
    );
    await recovered;
    expect(replay.map((e) => e.event).slice(0, 3)).toEqual(["status", "consolidation", "status"]);
    expect(JSON.parse(replay[0]?.data ?? "{}")).toEqual({ ...running, abandoned: true });
    expect(JSON.parse(replay[2]?.data ?? "{}")).toMatchObject({ execution_id: id, status: "failed", abandoned: false });
    // Then the consolidation: its visible in_progress (committed on its own, before its transaction)
    // when the stream read between the two, and completed; then the end.
    expect(replay.at(-1)?.event).toBe("end");
    const consolidation = replay.slice(3, -1).map((e) => [e.event, JSON.parse(e.data).status]);
    expect(consolidation.at(-1)).toEqual(["consolidation", "completed"]);
    expect(consolidation.slice(0, -1).every(([event, status]) => event === "consolidation" && status === "in_progress")).toBe(true);
    // Resumed after the abandoned status: what recovery did, and the end; nothing before it again.
    const resumed = await readEvents(await app.request(eventsPath, { headers: { "Last-Event-ID": replay[1]?.id ?? "" } }));
    expect(notHeartbeats(resumed).map((e) => e.event)).toEqual(["status", "consolidation", "end"]);
  });

  test("POST a flow → 202 with Location; its events stream in order and end; resuming with Last-Event-ID loses and repeats nothing", async ({
    db,
  }) => {
    const { app } = createServer({ db, token: TOKEN, heartbeatMs: 200, log: () => {} });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const started = await app.request("/api/v1/executions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow: flowJson(`posted-${backend.name}`, 5, 150), agent: "scripted" }),
    });
    expect(started.status).toBe(202);
    const accepted = (await started.json()) as { execution_id: string; location: string };
    expectMatchesOpenApi(doc, { method: "post", path: "/api/v1/executions", status: 202 }, accepted);
    expect(started.headers.get("location")).toBe(accepted.location);
    expect((await app.request(accepted.location)).status).toBe(200);

    const eventsPath = `${accepted.location}/events`;
    // Drop the first stream after its second step, and resume from the last id it got.
    const first = await readEvents(await app.request(eventsPath), (_, all) => stepIndexes(all).length === 2);
    const lastId = first.filter((e) => e.id).at(-1)?.id ?? "";
    const rest = await readEvents(await app.request(eventsPath, { headers: { "Last-Event-ID": lastId } }));
    const all = [...first, ...rest].filter((e) => e.event !== "heartbeat");
    expect(stepIndexes(all)).toEqual([0, 1, 2, 3, 4]);
    expect(all.at(-1)?.event).toBe("end");
    const statuses = all.filter((e) => e.event === "status").map((e) => JSON.parse(e.data).status);
    expect(statuses.at(-1)).toBe("completed");
    const consolidation = all.filter((e) => e.event === "consolidation").map((e) => JSON.parse(e.data));
    expect(consolidation.at(-1)).toMatchObject({ status: "completed", consolidated_session_id: expect.any(String) });
    const ids = all.filter((e) => e.event !== "end").map((e) => e.id);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);

    // A finished run replays the same events and closes; resuming mid-way gives exactly the rest.
    const replay = (await readEvents(await app.request(eventsPath))).filter((e) => e.event !== "heartbeat");
    expect(stepIndexes(replay)).toEqual([0, 1, 2, 3, 4]);
    expect(replay.at(-1)?.event).toBe("end");
    const middle = replay[2];
    const after = await readEvents(await app.request(eventsPath, { headers: { "Last-Event-ID": middle?.id ?? "" } }));
    expect(after.map((e) => e.event)).toEqual(replay.slice(3).map((e) => e.event));
    expect(after.map((e) => e.data)).toEqual(replay.slice(3).map((e) => e.data));

    const bad = await app.request(eventsPath, { headers: { "Last-Event-ID": "garbage!" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { field: "Last-Event-ID" } });
    // An id from this run's stream, sent to another run's: refused, not taken as that run's state.
    const other = `other-${accepted.execution_id}`;
    await db.writer.createExecutionSession({ executionId: other, flowId: "other", agent: "scripted", prompt: "p" });
    const crossed = await app.request(`/api/v1/executions/${other}/events`, { headers: { "Last-Event-ID": middle?.id ?? "" } });
    expect(crossed.status).toBe(400);
    expect(await crossed.json()).toMatchObject({
      error: { field: "Last-Event-ID", message: "Last-Event-ID is not an id this stream sent: reconnect without it." },
    });
    await db.writer.finishExecutionSession(other, { status: "failed", error: "test over" });
    expect((await app.request("/api/v1/executions/nope/events")).status).toBe(404);

    // Consolidating again stores a new session; the API's newest follows it.
    const again = await app.request(`${accepted.location}/consolidate`, { method: "POST", headers: auth });
    expect(again.status).toBe(201);
    const session = (await again.json()) as { consolidated_session_id: string };
    expectMatchesOpenApi(doc, { method: "post", path: "/api/v1/executions/{id}/consolidate", status: 201 }, session);
    const execution = (await (await app.request(accepted.location)).json()) as { consolidated_session_id: string };
    expect(execution.consolidated_session_id).toBe(session.consolidated_session_id);
  });

  test("reev serve --prices: a POSTed run and its re-consolidation are priced, and every view of its metrics carries the cost", async ({
    db,
  }) => {
    const prices = { models: { "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10 } } };
    const { app } = createServer({ db, token: TOKEN, log: () => {}, prices });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const usage = (inputTokens: number, outputTokens: number) => ({ model: "gpt-a", inputTokens, outputTokens });
    const flow = {
      flowId: `priced-${backend.name}`,
      prompt: "p",
      steps: [
        { stepId: "ask", prompt: "ask", script: [{ usage: usage(1000, 200) }] },
        { stepId: "answer", prompt: "answer", script: [{ usage: usage(400, 30) }] },
      ],
    };
    const started = await app.request("/api/v1/executions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow, agent: "scripted" }),
    });
    expect(started.status).toBe(202);
    const { execution_id: id, location } = (await started.json()) as { execution_id: string; location: string };
    await readEvents(await app.request(`${location}/events`));
    // 1000 × 2.5 + 200 × 10 = 4500 per million, 400 × 2.5 + 30 × 10 = 1300: $0.0045 + $0.0013 = $0.0058
    // (the doubles' sum is exactly the double 0.0058 reads as).
    const stored = { total_input_tokens: 1400, total_output_tokens: 230, cost_usd: 0.0058 };
    // A known cost has no reason to give.
    const metrics = { ...stored, cost_unknown: null, cost_unknown_reason: null };

    const status = await app.request(`/api/v1/consolidation/${id}/status?include_metadata=true`);
    const statusBody = await status.json();
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/consolidation/{executionId}/status", status: 200 }, statusBody);
    expect(statusBody).toMatchObject({ status: "completed", metadata: metrics });
    const flowView = await (await app.request(`/api/v1/flows/${id}`, { headers: { Accept: "application/json" } })).json();
    expect(flowView).toMatchObject({ metadata: metrics });

    const again = await app.request(`${location}/consolidate`, { method: "POST", headers: auth });
    expect(again.status).toBe(201);
    const session = (await again.json()) as { content: { metadata: unknown } };
    expectMatchesOpenApi(doc, { method: "post", path: "/api/v1/executions/{id}/consolidate", status: 201 }, session);
    expect(session).toMatchObject(metrics);
    expect(session.content.metadata).toMatchObject(stored);
    expect(session.content.metadata).not.toHaveProperty("cost_unknown");
  });

  test("re-consolidating a priced run on a server without --prices: 201 with a warning naming the dropped cost; none when nothing is dropped", async ({
    db,
  }) => {
    const prices = { models: { "gpt-a": { inputPerMillion: 2.5, outputPerMillion: 10 } } };
    const pricedServer = createServer({ db, token: TOKEN, log: () => {}, prices });
    const flow = {
      flowId: `dropped-${backend.name}`,
      prompt: "p",
      steps: [{ stepId: "ask", prompt: "ask", script: [{ usage: { model: "gpt-a", inputTokens: 1000, outputTokens: 200 } }] }],
    };
    const started = await pricedServer.app.request("/api/v1/executions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow, agent: "scripted" }),
    });
    const { execution_id: id, location } = (await started.json()) as { execution_id: string; location: string };
    await readEvents(await pricedServer.app.request(`${location}/events`));
    const [priced] = await db.writer.getConsolidatedSessionsByExecution(id);
    expect(priced?.costUsd).toBe(0.0045);

    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const again = await app.request(`${location}/consolidate`, { method: "POST", headers: auth });
    expect(again.status).toBe(201);
    const body = (await again.json()) as { cost_usd: number | null; warning?: string };
    expectMatchesOpenApi(doc, { method: "post", path: "/api/v1/executions/{id}/consolidate", status: 201 }, body);
    expect(body.cost_usd).toBeNull();
    expect(body).toMatchObject({
      cost_unknown: [{ reason: "no_prices" }],
      cost_unknown_reason: "no price table was given: pass --prices FILE to price the tokens",
    });
    expect(body.warning).toBe(
      `The run's cost of $0.0045 was dropped: it was consolidated again without a price table, so its newest consolidation has no cost (the previous one, ${priced?.consolidatedSessionId}, still holds it). To keep it, restart reev serve with --prices FILE and consolidate again.`,
    );
    // Nothing more to drop, and a priced server keeps it: no warning either way.
    const twice = (await (await app.request(`${location}/consolidate`, { method: "POST", headers: auth })).json()) as object;
    expect(twice).not.toHaveProperty("warning");
    const repriced = (await (await pricedServer.app.request(`${location}/consolidate`, { method: "POST", headers: auth })).json()) as {
      cost_usd: number | null;
    };
    expect(repriced.cost_usd).toBe(0.0045);
    expect(repriced).not.toHaveProperty("warning");
  });

  test("a YAML flow file with ?agent= starts a run too", async ({ db }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const started = await app.request("/api/v1/executions?agent=scripted", {
      method: "POST",
      headers: { "Content-Type": "application/yaml", ...auth },
      body: stringify(flowJson(`yaml-${backend.name}`, 2)),
    });
    expect(started.status).toBe(202);
    const { location } = (await started.json()) as { location: string };
    const events = await readEvents(await app.request(`${location}/events`));
    expect(stepIndexes(events)).toEqual([0, 1]);
  });

  test("agent openai on a server without an OpenAI endpoint: 409 naming agent and how to configure the server, nothing written", async ({
    db,
  }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const saved = { url: process.env.OPENAI_BASE_URL, model: process.env.OPENAI_MODEL };
    delete process.env.OPENAI_BASE_URL;
    process.env.OPENAI_MODEL = "gpt-a";
    try {
      const before = await counts(db);
      const yaml = await app.request("/api/v1/executions?agent=openai", {
        method: "POST",
        headers: { "Content-Type": "application/yaml", ...auth },
        body: stringify(flowJson("openai-yaml", 1)),
      });
      const body = await yaml.json();
      expect(yaml.status).toBe(409);
      expectMatchesOpenApi(doc, { method: "post", path: "/api/v1/executions", status: 409 }, body);
      expect(body).toEqual({
        error: {
          code: "AGENT_NOT_CONFIGURED",
          message:
            "This server has no OpenAI endpoint configured (OPENAI_BASE_URL is not set): start reev serve with OPENAI_BASE_URL and OPENAI_MODEL set, or use agent scripted.",
          field: "agent",
        },
      });
      delete process.env.OPENAI_MODEL;
      const json = await app.request("/api/v1/executions", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...auth },
        body: JSON.stringify({ flow: flowJson("openai-json", 1), agent: "openai" }),
      });
      expect(json.status).toBe(409);
      expect(((await json.json()) as { error: { message: string } }).error.message).toMatch(
        /^This server has no OpenAI endpoint configured \(OPENAI_BASE_URL and OPENAI_MODEL are not set\): /,
      );
      expect(await counts(db)).toEqual(before);
    } finally {
      for (const [name, value] of [
        ["OPENAI_BASE_URL", saved.url],
        ["OPENAI_MODEL", saved.model],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test("a POSTed atomic run that rolls back reads consolidation skipped, and consolidating it is a 409 that stores nothing", async ({
    db,
  }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const doc = (await (await app.request("/api/v1/openapi.json")).json()) as Parameters<typeof expectMatchesOpenApi>[0];
    const flow = {
      flowId: `rolls-back-${backend.name}`,
      prompt: "p",
      atomic: true,
      steps: [
        // Its event stream is opened while this step thinks, so it sees the run go, then roll back.
        { stepId: "a", prompt: "a", script: [{ response: "ok", delayMs: 500 }] },
        { stepId: "b", prompt: "b", critical: true, script: [{ fail: "nope" }] },
      ],
    };
    const started = await app.request("/api/v1/executions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow, agent: "scripted" }),
    });
    const startedBody = await started.json();
    expect(started.status, JSON.stringify(startedBody)).toBe(202);
    const { execution_id: id, location } = startedBody as { execution_id: string; location: string };
    const events = await readEvents(await app.request(`${location}/events`));
    // The stream's last word is the skipped consolidation, though the stored status stayed `pending`.
    const consolidations = events.filter((e) => e.event === "consolidation").map((e) => JSON.parse(e.data));
    expect(consolidations.at(-1)).toMatchObject({ status: "skipped", error: expect.stringContaining("rolled back") });
    expect(events.at(-1)?.event).toBe("end");
    const execution = await (await app.request(location)).json();
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/executions/{id}", status: 200 }, execution);
    expect(execution).toMatchObject({
      status: "rolled_back",
      consolidation_status: "skipped",
      consolidation_error: "the execution was rolled back, so it has no steps to consolidate",
    });
    const refused = await app.request(`${location}/consolidate`, { method: "POST", headers: auth });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
    expect(await db.writer.getConsolidatedSessionsByExecution(id)).toEqual([]);
  });

  test("consolidating an unknown execution is the 404 every route gives: No execution, and the id a cut one was cut from", async ({
    db,
  }) => {
    const { app } = createServer({ db, token: TOKEN, log: () => {} });
    const id = await runFlow(db, flowPlan(`consolidate-cut-${backend.name}`, 1));
    const consolidate = async (which: string) => {
      const response = await app.request(`/api/v1/executions/${which}/consolidate`, { method: "POST", headers: auth });
      return { status: response.status, body: await response.json() };
    };
    expect(await consolidate("exec_nope")).toEqual({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: 'No execution "exec_nope".' } },
    });
    const cut = id.slice(0, -3);
    expect(await consolidate(cut)).toEqual({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: `No execution "${cut}". Did you mean ${id}?` } },
    });
  });

  test("GET /api/v1/events announces each changed execution by id as it changes, and ends when the server stops", async ({ db }) => {
    const server = createServer({ db, token: TOKEN, heartbeatMs: 60_000, log: () => {} });
    const { url } = await server.listen({ port: 0 });
    try {
      const changes = await fetch(`${url}/api/v1/events`);
      expect(changes.status).toBe(200);
      expect(changes.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const started = await fetch(`${url}/api/v1/executions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...auth },
        body: JSON.stringify({ flow: flowJson(`changes-${backend.name}`, 2), agent: "scripted" }),
      });
      const { execution_id: id } = (await started.json()) as { execution_id: string };
      // Changes come until the run is consolidated; then the server stops and the stream ends.
      const events = readEvents(changes);
      await expect.poll(async () => (await db.writer.getExecutionSession(id))?.consolidation.status, { timeout: 30_000 }).toBe("completed");
      await server.close();
      const heard = (await events).filter((e) => e.event === "change").map((e) => JSON.parse(e.data) as { execution_id: string });
      expect(heard.length).toBeGreaterThan(0);
      expect(heard.every((e) => e.execution_id === id)).toBe(true);
    } finally {
      await server.close();
    }
  });

  test("many viewers at once: twenty open event streams draw no Node warning, and all end when the server stops", async ({ db }) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const server = createServer({ db, token: TOKEN, heartbeatMs: 60_000, log: () => {} });
    const { url } = await server.listen({ port: 0 });
    try {
      const streams = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/api/v1/events`)));
      // Each stream's first heartbeat comes once its handler is listening for the shutdown.
      const copies = streams.map((stream) => stream.clone());
      const ended = streams.map((stream) => readEvents(stream));
      const heartbeats = await Promise.all(copies.map((copy) => readEvents(copy, (e) => e.event === "heartbeat")));
      expect(heartbeats.map((events) => events.at(-1)?.event)).toEqual(Array(20).fill("heartbeat"));
      await server.close();
      expect((await Promise.all(ended)).every((events) => events.some((e) => e.event === "heartbeat"))).toBe(true);
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await server.close();
    }
  });

  test("shutdown: a run started by the server finishes its current step and is recorded failed, 'server shutting down'", async ({ db }) => {
    const server = createServer({ db, token: TOKEN, log: () => {} });
    const { url } = await server.listen({ port: 0 });
    const started = await fetch(`${url}/api/v1/executions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ flow: flowJson(`shutdown-${backend.name}`, 6, 400), agent: "scripted" }),
    });
    const { execution_id: id } = (await started.json()) as { execution_id: string };
    const stream = await fetch(`${url}/api/v1/executions/${id}/events`);
    const seen = readEvents(stream);
    // Wait for the first step to be recorded, then stop the server mid-run.
    await expect.poll(async () => (await db.writer.getSessionsForConsolidation(id)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    await server.close();
    await seen; // the stream was ended by the shutdown
    const execution = await db.writer.getExecutionSession(id);
    expect(execution?.status).toBe("failed");
    expect(execution?.error).toContain("server shutting down");
    expect(execution?.openTransaction).toBeNull();
    const steps = await db.writer.getSessionsForConsolidation(id);
    expect(steps).toHaveLength(6);
    const ran = steps.filter((s) => s.status === "success").length;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(6);
    expect(steps.slice(ran).every((s) => s.status === "skipped")).toBe(true);
  });
});
