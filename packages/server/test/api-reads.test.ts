import { type Database, maskUrl } from "@reev/db";
import { prismaClientOf } from "@reev/db/internal";
import { openTestDatabase, test, testBackends } from "@reev/db/testing";
import { exportExecution, parseFlowPlan } from "@reev/orchestrator";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { expectMatchesOpenApi } from "./support/openapi.js";
import { flowPlan, runFlow } from "./support/runs.js";

type Json = Record<string, unknown> & { data?: unknown[]; meta?: Record<string, unknown>; error?: Record<string, unknown> };

/** One request to the app, in process (the same fetch handler the listening server runs). */
async function get(db: Database, path: string, init?: RequestInit) {
  const { app } = createServer({ db, log: () => {} });
  const response = await app.request(path, init);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { response, text, type, json: (type.startsWith("application/json") ? JSON.parse(text) : undefined) as Json };
}

async function openapi(db: Database) {
  return (await get(db, "/api/v1/openapi.json")).json as unknown as Parameters<typeof expectMatchesOpenApi>[0];
}

/** Each path answers 400 INVALID_ARGUMENT with exactly this message, naming this field. */
async function expectBadRequests(db: Database, cases: [path: string, field: string, message: string][]): Promise<void> {
  for (const [path, field, message] of cases) {
    const { response, json } = await get(db, path);
    expect({ path, status: response.status, error: json.error }).toEqual({
      path,
      status: 400,
      error: { code: "INVALID_ARGUMENT", message, field },
    });
  }
}

describe.each(testBackends())("read API on $name", (backend) => {
  test.override({ backend });

  test("every read route answers with its documented status, content type and shape", async ({ db }) => {
    const doc = await openapi(db);
    const flowId = `reads-${backend.name}`;
    const id = await runFlow(db, flowPlan(flowId, 3));
    const failed = await runFlow(db, flowPlan(`${flowId}-failing`, 3, { failAt: 1 }));

    const list = await get(db, `/api/v1/executions?flowId=${flowId}`);
    expect(list.response.status).toBe(200);
    expect(list.type).toMatch(/^application\/json/);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/executions", status: 200 }, list.json);
    expect(list.json.data?.map((e) => (e as { execution_id: string }).execution_id)).toEqual([id]);
    expect(list.json.meta).toEqual({ limit: 50, nextCursor: null });

    const one = await get(db, `/api/v1/executions/${id}`);
    expect(one.response.status).toBe(200);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/executions/{id}", status: 200 }, one.json);
    const consolidated = await db.writer.getConsolidatedSessionsByExecution(id);
    expect(one.json).toMatchObject({
      execution_id: id,
      status: "completed",
      consolidation_status: "completed",
      consolidated_session_id: consolidated[0]?.consolidatedSessionId,
      step_counts: { total: 3, pending: 0, success: 3, failed: 0, timed_out: 0, skipped: 0, unknown: 0 },
    });
    const bad = await get(db, `/api/v1/executions/${failed}`);
    expect(bad.json).toMatchObject({ status: "failed", step_counts: { total: 3, success: 1, failed: 1, skipped: 1 } });

    const steps = await get(db, `/api/v1/executions/${id}/steps`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/executions/{id}/steps", status: 200 }, steps.json);
    expect(steps.json.data?.map((s) => (s as { step_index: number }).step_index)).toEqual([0, 1, 2]);
    expect(steps.json.data?.[0]).not.toHaveProperty("content");
    const stored = await db.writer.getSessionsForConsolidation(id);
    expect(steps.json.data?.[0]).toHaveProperty("tool_calls", [
      {
        call_index: 0,
        tool_name: "tool",
        input: { step: 0, text: "ünïcode <b>&</b>" },
        output: { ok: true },
        success: true,
        // The scripted agent plays the call's 3 ms and stores what it measured.
        duration_ms: stored[0]?.toolCalls[0]?.durationMs,
        error: null,
      },
    ]);
    // Measured, not declared: libuv's timers run on a millisecond loop clock, so a 3 ms wait can read
    // 2.9 ms on performance.now's, which the agent rounds down to 2.
    expect(stored[0]?.toolCalls[0]?.durationMs).toBeGreaterThanOrEqual(2);
    const withContent = await get(db, `/api/v1/executions/${id}/steps?include=content`);
    expect(withContent.json.data?.map((s) => (s as { content: string }).content)).toEqual(stored.map((s) => s.content));

    const byExecution = await get(db, `/api/v1/executions/${id}/consolidated`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/executions/{id}/consolidated", status: 200 }, byExecution.json);
    // The content is a JSON value, not a string inside JSON; created_at is the stored one.
    expect(byExecution.json.content).toEqual(JSON.parse(consolidated[0]?.consolidatedContent ?? "null"));
    expect(byExecution.json.created_at).toBe(consolidated[0]?.timestamp.toISOString());
    const byId = await get(db, `/api/v1/sessions/consolidated/${consolidated[0]?.consolidatedSessionId}`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/sessions/consolidated/{consolidatedId}", status: 200 }, byId.json);
    expect(byId.json).toEqual(byExecution.json);

    const status = await get(db, `/api/v1/consolidation/${id}/status`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/consolidation/{executionId}/status", status: 200 }, status.json);
    expect(status.json).toMatchObject({ execution_id: id, complete: true, status: "completed", metadata: null });
    const withMetadata = await get(db, `/api/v1/consolidation/${id}/status?include_metadata=true`);
    expect(withMetadata.json.metadata).toEqual({
      avg_score: consolidated[0]?.avgScore,
      total_tools: 3,
      success_rate: 100,
      execution_duration_ms: consolidated[0]?.executionDurationMs,
      // The scripted run reports no usage, and the server was given no prices: unknown, never 0.
      total_input_tokens: null,
      total_output_tokens: null,
      cost_usd: null,
      // Why, as the consolidation stored it, and in the words reev status says it.
      cost_unknown: [{ reason: "no_usage", reported: "none" }],
      cost_unknown_reason: "the agent reported no token usage",
    });
    const why = { cost_unknown: [{ reason: "no_usage", reported: "none" }], cost_unknown_reason: "the agent reported no token usage" };
    expect(byExecution.json).toMatchObject(why);

    const flow = await get(db, `/api/v1/flows/${id}`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/flows/{id}", status: 200 }, flow.json);
    expect(flow.json).toMatchObject({ execution_id: id, consolidated_session_id: consolidated[0]?.consolidatedSessionId });
    expect(flow.json.metadata).toMatchObject(why);
    expect(flow.json.diagram).toMatch(/^stateDiagram-v2/);
    expect(flow.response.headers.get("cache-control")).toBe("public, max-age=300");
    const etag = flow.response.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const again = await get(db, `/api/v1/flows/${id}`, { headers: { "If-None-Match": etag ?? "" } });
    expect(again.response.status).toBe(304);
    expect(again.text).toBe("");
    const mmd = await get(db, `/api/v1/flows/${consolidated[0]?.consolidatedSessionId}?format=mmd`);
    expect(mmd.type).toBe("text/vnd.mermaid; charset=utf-8");
    expect(mmd.text).toBe(`${flow.json.diagram}\n`);
    const html = await get(db, `/api/v1/flows/${id}?format=html`);
    expect(html.type).toMatch(/^text\/html/);
    expect(html.text).toContain("ünïcode &lt;b&gt;&amp;&lt;/b&gt;");

    for (const format of ["json", "jsonl"] as const) {
      const exported = await get(db, `/api/v1/executions/${id}/export?format=${format}`);
      expect(exported.response.status).toBe(200);
      expect(exported.type).toBe(format === "json" ? "application/json; charset=utf-8" : "application/x-ndjson; charset=utf-8");
      expect(exported.text).toBe(await exportExecution(db, id, format));
    }
    expectMatchesOpenApi(
      doc,
      { method: "get", path: "/api/v1/executions/{id}/export", status: 200 },
      (await get(db, `/api/v1/executions/${id}/export`)).json,
    );
    // The request headers the routes read are documented as theirs.
    const headers = (path: string) =>
      (
        (doc as unknown as { paths: Record<string, { get: { parameters?: { in: string; name: string }[] } }> }).paths[path]?.get
          .parameters ?? []
      )
        .filter((p) => p.in === "header")
        .map((p) => p.name);
    expect(headers("/api/v1/executions/{id}/events")).toEqual(["last-event-id"]);
    expect(headers("/api/v1/flows/{id}")).toEqual(["if-none-match"]);

    for (const path of ["/healthz", "/readyz"]) {
      const health = await get(db, path);
      expect(health.response.status).toBe(200);
      expectMatchesOpenApi(doc, { method: "get", path, status: 200 }, health.json);
    }
  });

  test("a step's attempts and its expect verdict are in the steps route, as reev show --json has them", async ({ db }) => {
    const plan = parseFlowPlan(
      JSON.stringify({
        flowId: `attempts-${backend.name}`,
        prompt: "p",
        steps: [
          {
            stepId: "swap",
            prompt: "swap",
            retry: { attempts: 2, backoffMs: 0, maxBackoffMs: 0 },
            expect: { args: { swap: { amount: 2 } } },
            script: [{ fail: "quote expired" }, { toolCalls: [{ toolName: "swap", input: { amount: 3 } }] }],
          },
        ],
      }),
    );
    const id = await runFlow(db, plan);
    const steps = await get(db, `/api/v1/executions/${id}/steps`);
    expectMatchesOpenApi(await openapi(db), { method: "get", path: "/api/v1/executions/{id}/steps", status: 200 }, steps.json);
    const [step] = steps.json.data as { attempts: Record<string, unknown>[]; checks: unknown }[];
    expect(step?.attempts.map((a) => [a.attempt, a.status, a.error])).toEqual([
      [1, "failed", "quote expired"],
      [2, "success", null],
    ]);
    expect(step?.checks).toEqual({
      passed: false,
      checks: [{ check: "args", passed: false, reason: expect.stringContaining("no successful swap call had the arguments") }],
    });
    const checks = await db.writer.getChecks(id);
    expect(step?.checks).toEqual(checks.steps.get(0));
  });

  test("a run consolidated before cost reasons were stored still answers: its reasons are null, on every view of its metrics", async ({
    db,
  }) => {
    const doc = await openapi(db);
    const id = await runFlow(db, flowPlan(`older-${backend.name}`, 2));
    const [stored] = await db.writer.getConsolidatedSessionsByExecution(id);
    // The same document as an older reev stored it: no metadata.cost_unknown.
    const older = JSON.parse(stored!.consolidatedContent) as { metadata: Record<string, unknown> };
    delete older.metadata.cost_unknown;
    const olderId = `${id}_consolidated_older`;
    await db.writer.storeConsolidatedSession(olderId, id, JSON.stringify(older), {
      avgScore: stored!.avgScore,
      totalTools: stored!.totalTools,
      successRate: stored!.successRate,
      executionDurationMs: stored!.executionDurationMs,
      totalInputTokens: null,
      totalOutputTokens: null,
      costUsd: null,
    });
    const none = { cost_usd: null, cost_unknown: null, cost_unknown_reason: null };
    const session = await get(db, `/api/v1/sessions/consolidated/${olderId}`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/sessions/consolidated/{consolidatedId}", status: 200 }, session.json);
    expect(session.json).toMatchObject(none);
    const flow = await get(db, `/api/v1/flows/${olderId}`);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/flows/{id}", status: 200 }, flow.json);
    expect(flow.json.metadata).toMatchObject(none);
    // The status reads the newest session: the older-shaped one, stored last.
    const status = await get(db, `/api/v1/consolidation/${id}/status?include_metadata=true`);
    expect(status.json.consolidated_session_id).toBe(olderId);
    expectMatchesOpenApi(doc, { method: "get", path: "/api/v1/consolidation/{executionId}/status", status: 200 }, status.json);
    expect(status.json.metadata).toMatchObject(none);
  });

  test("a running, unconsolidated run is not cacheable and its flow is drawn from its committed steps", async ({ db }) => {
    const executionId = `live-${backend.name}`;
    await db.writer.createExecutionSession({ executionId, flowId: "live", agent: "test", prompt: "p" });
    await db.writer.storeStep(executionId, { stepIndex: 0, content: JSON.stringify({ stepId: "a", status: "success" }) });
    const flow = await get(db, `/api/v1/flows/${executionId}`);
    expect(flow.response.status).toBe(200);
    expect(flow.response.headers.get("cache-control")).toBe("no-cache");
    expect(flow.json).toMatchObject({
      consolidated_session_id: null,
      metadata: { status: "running", consolidation_status: "pending", total_steps: 1 },
    });
    const consolidated = await get(db, `/api/v1/executions/${executionId}/consolidated`);
    expect(consolidated.response.status).toBe(404);
  });

  test("a consolidation that timed out is `timeout` at the API, as reev said", async ({ db }) => {
    const executionId = `timeout-${backend.name}`;
    await db.writer.createExecutionSession({ executionId, flowId: "t", agent: "test", prompt: "p" });
    await db.writer.setConsolidationStatus(executionId, "timed_out", { error: "took too long" });
    const status = await get(db, `/api/v1/consolidation/${executionId}/status`);
    expect(status.json).toMatchObject({ status: "timeout", complete: false, message: "Consolidation timed out: took too long." });
    const execution = await get(db, `/api/v1/executions/${executionId}`);
    expect(execution.json.consolidation_status).toBe("timeout");
  });

  test("bad input gets the right 4xx and a JSON error naming the field, and nothing is written", async ({ db }) => {
    const before = await prismaClientOf(db).executionSession.count();
    const cases: [path: string, status: number, field?: string][] = [
      ["/api/v1/executions/nope", 404],
      ["/api/v1/executions/%E2%9C%93-%F0%9F%98%80", 404],
      ["/api/v1/executions/..%2F..%2Fetc%2Fpasswd", 404],
      ["/api/v1/executions/../../etc/passwd", 404],
      [`/api/v1/executions/${"x".repeat(256)}`, 400, "id"],
      ["/api/v1/executions/nope/steps", 404],
      ["/api/v1/executions/nope/consolidated", 404],
      ["/api/v1/executions/nope/export", 404],
      ["/api/v1/executions/nope/export?format=xml", 400, "format"],
      ["/api/v1/sessions/consolidated/nope", 404],
      ["/api/v1/consolidation/nope/status", 404],
      ["/api/v1/consolidation/nope/status?include_metadata=yes", 400, "include_metadata"],
      ["/api/v1/flows/nope", 404],
      ["/api/v1/flows/nope?format=svg", 400, "format"],
      ["/api/v1/executions?limit=0", 400, "limit"],
      ["/api/v1/executions?limit=100000", 400, "limit"],
      ["/api/v1/executions?limit=ten", 400, "limit"],
      ["/api/v1/executions?cursor=not-a-cursor", 400, "cursor"],
      [`/api/v1/executions?cursor=${Buffer.from('["yesterday","x"]').toString("base64url")}`, 400, "cursor"],
      ["/api/v1/executions?cursor=%00%00", 400, "cursor"],
      ["/api/v1/executions?status=done", 400, "status"],
      ["/api/v1/executions?from=last%20week", 400, "from"],
      // A range that ends before it starts: refused, not an empty page that reads as "no runs then".
      ["/api/v1/executions?from=2026-12-05T00:00:00Z&to=2026-12-01T00:00:00Z", 400, "to"],
      [`/api/v1/executions?q=${"q".repeat(501)}`, 400, "q"],
      ["/api/v1/executions?q=%00", 400, "q"],
      [`/api/v1/executions?q=${"q".repeat(9000)}`, 414],
      ["/api/v1/steps", 404],
      ["/api/nothing/here", 404],
    ];
    for (const [path, status, field] of cases) {
      const { response, json, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(response.headers.get("content-type"), path).toMatch(/^application\/json/);
      expect(json.error, path).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      if (field) expect(json.error?.field, path).toBe(field);
      expect(text, path).not.toMatch(/SELECT|at .*\.js:\d+/);
    }
    expect(await prismaClientOf(db).executionSession.count()).toBe(before);
  });

  test("a query parameter a route does not take, or one given twice, is a 400 naming it and saying what to send, never ignored", async ({
    db,
  }) => {
    await runFlow(db, flowPlan(`unknown-param-${backend.name}`, 1));
    const cases: [path: string, field: string, message: string][] = [
      [
        "/api/v1/executions?limt=2",
        "limt",
        "Unknown query parameter limt: this route takes status, flowId, agent, from, to, q, limit, cursor. Did you mean limit?",
      ],
      ["/api/v1/executions/nope?include=content", "include", "Unknown query parameter include: this route takes no query parameters."],
      [
        "/api/v1/executions/nope/steps?includes=content",
        "includes",
        "Unknown query parameter includes: this route takes include. Did you mean include?",
      ],
      ["/api/v1/evaluations?status=running", "status", "Unknown query parameter status: this route takes limit, cursor."],
      [
        "/api/v1/consolidation/nope/status?metadata=true",
        "metadata",
        "Unknown query parameter metadata: this route takes include_metadata.",
      ],
      ["/healthz?verbose=1", "verbose", "Unknown query parameter verbose: this route takes no query parameters."],
      ["/api/v1/events?since=3", "since", "Unknown query parameter since: this route takes no query parameters."],
    ];
    await expectBadRequests(db, cases);
    // One the route takes, given more than once: which value was meant is the client's to say.
    const repeated: [path: string, field: string, message: string][] = [
      ["/api/v1/executions?limit=2&limit=3", "limit", "Invalid query parameter limit: was given twice; give it once."],
      [
        "/api/v1/executions?status=completed&status=failed&status=running",
        "status",
        "Invalid query parameter status: was given 3 times; give it once.",
      ],
      [
        "/api/v1/executions/nope/export?format=json&format=json",
        "format",
        "Invalid query parameter format: was given twice; give it once.",
      ],
    ];
    await expectBadRequests(db, repeated);
    // The parameters a route does take still work alongside each other.
    expect((await get(db, "/api/v1/executions?limit=1&status=completed")).response.status).toBe(200);
  });

  test("a value outside a parameter's fixed set is a 400 that names the set and what was given, and guesses a typo, on every route", async ({
    db,
  }) => {
    const cases: [path: string, field: string, message: string][] = [
      [
        "/api/v1/executions?status=runing",
        "status",
        'Invalid query parameter status: must be one of running, completed, failed, timed_out, rolled_back or cancelled, not "runing". Did you mean running?',
      ],
      [
        "/api/v1/executions?status=done",
        "status",
        'Invalid query parameter status: must be one of running, completed, failed, timed_out, rolled_back or cancelled, not "done".',
      ],
      [
        "/api/v1/executions/nope/export?format=josn",
        "format",
        'Invalid query parameter format: must be json or jsonl, not "josn". Did you mean json?',
      ],
      [
        "/api/v1/consolidation/nope/status?include_metadata=yes",
        "include_metadata",
        'Invalid query parameter include_metadata: must be true or false, not "yes".',
      ],
      [
        `/api/v1/executions?status=${"x".repeat(60)}`,
        "status",
        `Invalid query parameter status: must be one of running, completed, failed, timed_out, rolled_back or cancelled, not "${"x".repeat(40)}…".`,
      ],
    ];
    await expectBadRequests(db, cases);
  });

  test("a search the database cannot hold (a NUL) is the viewer's own 400 page naming the Search filter, not a 500", async ({ db }) => {
    const { response, text } = await get(db, "/?q=%00");
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(text).toContain("The Search filter must not contain the NUL character");
  });

  test("a list page with a filter it cannot use or a broken page link says so in plain words with the link that mends it, and lists nothing", async ({
    db,
  }) => {
    await runFlow(db, flowPlan(`bad-filter-${backend.name}`, 1));
    const status = await get(db, "/?status=runing&flowId=f");
    expect(status.response.status).toBe(400);
    expect(status.type).toMatch(/^text\/html/);
    expect(status.text).toContain(
      'The Status filter must be one of running, completed, failed, timed_out, rolled_back or cancelled, not &quot;runing&quot;. Did you mean <a href="/?status=running&amp;flowId=f">running</a>?',
    );
    expect(status.text).toContain('No runs are listed with it: change it above, or <a href="/">show all runs</a>.');
    // The runs exist; the list was not read, so it must not say none match.
    expect(status.text).not.toContain("No run matches");
    expect(status.text).not.toContain("Invalid option");

    for (const [path, firstPage] of [
      ["/?cursor=bad", "/"],
      ["/?status=completed&cursor=bad", "/?status=completed"],
      ["/evaluations?cursor=bad", "/evaluations"],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(text, path).toContain(`This page link is broken or out of date: <a href="${firstPage}">go back to the first page</a>.`);
      expect(text, path).not.toContain("meta.nextCursor");
      expect(text, path).not.toMatch(/No run matches|No evaluations yet/);
    }
    // The API keeps its own wording for programs.
    expect((await get(db, "/api/v1/executions?cursor=bad")).json.error?.message).toContain("meta.nextCursor");
  });

  test("an id the database cannot hold (a NUL) is the viewer's own 400 page naming it on a page, and JSON under /api/", async ({ db }) => {
    for (const [path, field, back] of [
      ["/runs/a%00b", "executionId", /<a href="\/" data-back="">← Back to the runs list<\/a>/],
      ["/evaluations/a%00b", "id", /<a href="\/evaluations" data-back="">← Back to the evaluations list<\/a>/],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(response.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(text, path).toContain("<h1>This page cannot be shown</h1>");
      expect(text, path).toContain(`${field} must not contain the NUL character`);
      expect(text, path).toMatch(back);
    }
    const api = await get(db, "/api/v1/executions/a%00b");
    expect(api.response.status).toBe(400);
    expect(api.type).toMatch(/^application\/json/);
  });

  test("a run page with no consolidated session says so, and gives no consolidation time (it would be the page's own)", async ({ db }) => {
    const id = await runFlow(db, flowPlan(`unconsolidated-${backend.name}`, 2), { consolidate: false });
    const { response, text } = await get(db, `/runs/${id}`);
    expect(response.status).toBe(200);
    expect(text).toContain("No consolidated session is stored yet: this page shows the steps committed so far.");
    expect(text).not.toContain("not consolidated yet");
    expect(text).not.toContain("This page shows consolidated session");
  });

  test("a run's diagram says how many planned steps have no record, in every form the server draws it", async ({ db }) => {
    const id = await runFlow(db, flowPlan(`cut-short-${backend.name}`, 2));
    // As a run whose process died after two of its four planned steps, then recovered, is stored.
    await prismaClientOf(db).executionSession.update({
      where: { executionId: id },
      data: { metadata: { atomic: false, steps: ["step_0", "step_1", "step_2", "step_3"] } },
    });
    const note = "2 of the 4 planned steps have no record (they never ran, or were rolled back)";
    expect((await get(db, `/api/v1/flows/${id}?format=mmd`)).text).toContain(note);
    expect((await get(db, `/api/v1/flows/${id}`)).json.diagram).toContain(note);
    // The viewer's diagram itself (its Mermaid source), not only the banner above it.
    expect((await get(db, `/runs/${id}`)).text.match(/data-source="([^"]*)"/)?.[1]).toContain(note);
    // While it still runs, those steps are not there yet: "never ran" would be untrue, in the banner and every diagram alike.
    await prismaClientOf(db).executionSession.update({ where: { executionId: id }, data: { status: "running", finishedAt: null } });
    const yet = "2 of the 4 planned steps are not recorded yet";
    const page = (await get(db, `/runs/${id}`)).text;
    expect(page).toContain(yet);
    // The run page's drawing of it leaves the count to the banner, which follows the run live (the drawing does not).
    expect(page.match(/data-source="([^"]*)"/)?.[1]).not.toContain("planned steps");
    expect(page).not.toContain("never ran");
    expect((await get(db, `/api/v1/flows/${id}?format=mmd`)).text).toContain(yet);
    expect((await get(db, `/api/v1/flows/${id}`)).json.diagram).toContain(yet);
    await prismaClientOf(db).executionSession.update({ where: { executionId: id }, data: { status: "completed", finishedAt: new Date() } });
  });

  test("a run whose process is gone is shown abandoned, with what finishes it, and not as live", async ({ db }) => {
    const id = `abandoned-${backend.name}-${Date.now()}`;
    await db.writer.createExecutionSession({
      executionId: id,
      flowId: "abandoned",
      agent: "scripted",
      prompt: "p",
      metadata: { atomic: false, steps: ["a", "b"] },
    });
    const client = prismaClientOf(db);
    const live = await get(db, `/runs/${id}`);
    expect(live.text).toContain("… Run still running");
    expect(live.text).toContain("Live: connecting");
    expect(live.text).toContain("2 of the 2 planned steps are not recorded yet");
    // No step to draw yet: no empty diagram beside the live banner, but when it comes.
    expect(live.text).toContain('<p class="diagram-note">No step was committed when the page loaded, so there is no diagram yet');
    expect(live.text).not.toContain('id="diagram"');
    const listedRow = async (query: string) => {
      const html = (await get(db, `/?${query}`)).text;
      return html.match(new RegExp(`<tr data-execution-id="${id}"[\\s\\S]*?</tr>`))?.[0] ?? `no row in ${html}`;
    };
    const apiRow = async () =>
      ((await get(db, `/api/v1/executions?flowId=abandoned`)).json as { data: { execution_id: string }[] }).data.find(
        (e) => e.execution_id === id,
      );
    // The report download of a run with no consolidated session: no made-up session time, as on the run page.
    const report = async () => {
      const { response, text } = await get(db, `/api/v1/flows/${id}?format=html`);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      return text;
    };
    const unconsolidated = await report();
    expect(unconsolidated).toContain("No consolidated session is stored yet: this page shows the steps committed so far.");
    expect(unconsolidated).toContain("not consolidated yet");
    expect(unconsolidated).not.toContain("This page shows consolidated session");
    expect(unconsolidated).not.toContain("when it was consolidated");
    expect(unconsolidated).toContain("… Run still running");
    expect(await listedRow("flowId=abandoned")).toContain("… running</td>");
    expect(await apiRow()).toMatchObject({ status: "running", stale: false, abandoned: false });
    expect((await get(db, `/api/v1/executions/${id}`)).json).toMatchObject({ stale: false, abandoned: false });
    // Its owner recorded with another start time than this process's: the pid now belongs to another process, as after a crash.
    const row = await client.executionSession.findUniqueOrThrow({ where: { executionId: id } });
    await client.executionSession.update({
      where: { executionId: id },
      data: { ownerStartedAt: new Date((row.ownerStartedAt as Date).getTime() - 3_600_000) },
    });
    const { text } = await get(db, `/runs/${id}`);
    // Its own glyph: the running "…" would say it is still going.
    expect(text).toContain("⚠️ Run abandoned: its process is gone");
    // Its process gone, the steps it did not reach never will be: not "not recorded yet", in the banner or the diagram.
    expect(text).toContain("2 of the 2 planned steps have no record (they never ran, or were rolled back)");
    expect(text).not.toContain("not recorded yet");
    expect((await get(db, `/api/v1/flows/${id}?format=mmd`)).text).toContain("2 of the 2 planned steps have no record");
    // The runs list and the API say so too, as reev list does (the list reads the owner with the summary).
    expect(await listedRow("flowId=abandoned")).toContain("⚠️ running (abandoned)</td>");
    expect(await apiRow()).toMatchObject({ status: "running", abandoned: true });
    expect((await get(db, `/api/v1/executions/${id}`)).json).toMatchObject({ status: "running", abandoned: true });
    // The recover command names the database this server reads (a copy without --db recovers another), never its password.
    const recover =
      db.target.kind === "postgres"
        ? `reev recover --db ${maskUrl(db.target.url)}`
        : db.target.kind === "pglite-dir"
          ? `reev recover --db ${db.target.dataDir}`
          : "reev recover --db &lt;the database this server reads&gt;";
    expect(text).toContain(`nothing will finish it but <code>${recover}</code>`);
    expect(text).not.toContain("Live: connecting");
    expect(text).not.toContain("diagram-note");
    // The report download says it too.
    const abandonedReport = await report();
    expect(abandonedReport).toContain("⚠️ Run abandoned: its process is gone");
    expect(abandonedReport).toContain(`nothing will finish it but <code>${recover}</code>`);
    expect(abandonedReport).not.toContain("Run still running");
    await db.writer.finishExecutionSession(id, { status: "failed", error: "test over" });
  });

  test("an execution id cut short gets a 404 that names the id it was cut from, on every route that takes one", async ({ db }) => {
    const id = await runFlow(db, flowPlan(`shortened-${backend.name}`, 1));
    const cut = id.slice(0, -3);
    for (const path of [`/api/v1/executions/${cut}`, `/api/v1/executions/${cut}/steps`, `/api/v1/executions/${cut}/events`]) {
      const { response, json } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(json.error?.message, path).toBe(`No execution "${cut}". Did you mean ${id}?`);
    }
    expect((await get(db, "/api/v1/executions/nothing-like-it")).json.error?.message).toBe('No execution "nothing-like-it".');
  });

  test("a missing page outside /api/ is an HTML 404 that links back to the runs list, never an empty list", async ({ db }) => {
    await runFlow(db, flowPlan(`missing-${backend.name}`, 1));
    for (const [path, said] of [
      ["/runs/nope", "No run &quot;nope&quot;."],
      ["/nothing/here", "No page at /nothing/here."],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(text, path).toContain(said);
      expect(text, path).toMatch(/<a href="\/" data-back="">← Back to the runs list<\/a>/);
      expect(text, path).not.toContain("No run matches");
    }
  });

  test("a viewer page asked with a trailing slash (or /runs) redirects to it, keeping its query; never to another host", async ({ db }) => {
    for (const [path, to] of [
      ["/runs/", "/"],
      ["/runs", "/"],
      ["/runs?status=failed", "/?status=failed"],
      ["/evaluations/", "/evaluations"],
      ["/compare/?a=x&b=y", "/compare?a=x&b=y"],
      ["/runs/some-run/", "/runs/some-run"],
    ] as const) {
      const { response } = await get(db, path);
      expect({ path, status: response.status, location: response.headers.get("location") }).toEqual({ path, status: 301, location: to });
    }
    // "//host/" read as a URL is another site's: not followed there, but not found here.
    expect((await get(db, "//example.com/")).response.status).toBe(404);
    // A form's POST is not sent elsewhere: its 405 or 404 stands.
    expect((await get(db, "/runs/", { method: "POST" })).response.status).not.toBe(301);
  });

  test("a missing page under /evaluations links back to the evaluations list; elsewhere, to the runs list", async ({ db }) => {
    for (const [path, back] of [
      ["/evaluations/some-id/more", /<a href="\/evaluations" data-back="">← Back to the evaluations list<\/a>/],
      ["/evaluationsx", /<a href="\/" data-back="">← Back to the runs list<\/a>/],
      ["/runs/a/b", /<a href="\/" data-back="">← Back to the runs list<\/a>/],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(text, path).toContain(`No page at ${path}.`);
      expect(text, path).toMatch(back);
    }
  });

  test("an unknown run id cut from stored ones links to the one run it was cut from, or to a search of the list", async ({ db }) => {
    const flow = `cut-id-${backend.name}`;
    const first = await runFlow(db, flowPlan(flow, 1));
    const cut = first.slice(0, -4);
    const one = await get(db, `/runs/${encodeURIComponent(cut)}`);
    expect(one.response.status).toBe(404);
    expect(one.text).toContain(`No run &quot;${cut}&quot;. Did you mean <a href="/runs/${encodeURIComponent(first)}">${first}</a>?`);
    await runFlow(db, flowPlan(flow, 1));
    const two = await get(db, `/runs/${encodeURIComponent(flow.toUpperCase())}`);
    expect(two.response.status).toBe(404);
    expect(two.text).toContain(
      `No run &quot;${flow.toUpperCase()}&quot;. 2 run ids contain it: <a href="/?q=${flow.toUpperCase()}">search the runs for it</a>.`,
    );
  });

  test("a list URL with a parameter the list does not take is refused, naming the filter it most likely meant, not ignored", async ({
    db,
  }) => {
    await runFlow(db, flowPlan(`unknown-param-${backend.name}`, 1));
    for (const [path, said] of [
      ["/?stauts=running", 'Did you mean <a href="/?status=running">status</a>?'],
      ["/?status=completed&flow=f", 'Did you mean <a href="/?status=completed&amp;flowId=f">flowId</a>?'],
      ["/?qq=x", 'Did you mean <a href="/?q=x">q</a>?'],
      // The list's live part, which the page's script fetches with the page's own filters: the same words.
      ["/live?qq=x", "Did you mean q? No runs are listed with it"],
      ["/?limit=0", "its filters are status, flowId and q.</p>"],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      const name = [...new URL(path, "http://x").searchParams.keys()].find((key) => key !== "status");
      expect(text, path).toContain(`The runs list has no &quot;${name}&quot; filter; its filters are status, flowId and q.`);
      expect(text, path).toContain(said);
      // The runs exist; an unread list must not say none match.
      expect(text, path).not.toContain("No run matches");
    }
    // A filter given twice would be read with its first value alone: refused, as the API refuses it.
    const twice = await get(db, "/?status=failed&status=completed");
    expect(twice.response.status).toBe(400);
    expect(twice.text).toContain(
      "The Status filter is given 2 times (&quot;failed&quot;, &quot;completed&quot;); the runs list takes one value.</p><p>No runs are listed with it:",
    );
  });

  test("a runs list whose filters match nothing says so, links to the unfiltered list and to the stored flows its Flow filter meant", async ({
    db,
  }) => {
    const flow = `jup-multiply-usdc-${backend.name}`;
    await runFlow(db, flowPlan(flow, 1));
    for (const [path, near] of [
      // Cut short: the flows that contain it.
      ["/?flowId=jup", `/?flowId=${flow}`],
      // A typo of a stored flow: the closest, other filters kept.
      [`/?status=completed&flowId=${flow.replace("usdc", "usdx")}`, `/?status=completed&amp;flowId=${flow}`],
      ["/?flowId=no-such-flow-anywhere", null],
      ["/?q=nothing-has-this-text", null],
    ] as const) {
      for (const page of [path, `/live${path.slice(1)}`]) {
        const { response, text } = await get(db, page);
        expect({ page, status: response.status }).toEqual({ page, status: 200 });
        expect(text, page).toContain('No run matches these filters: <a href="/">clear them</a>.');
        if (near) expect(text, page).toContain(`Did you mean <a href="${near}">${flow}</a>?`);
        else expect(text, page).not.toContain("Did you mean");
        // Runs are stored: recording some is not the way to a row here.
        expect(text, page).not.toContain("Record some");
      }
    }
    // A database without runs says how to record some, filtered or not.
    const empty = await openTestDatabase(backend);
    try {
      for (const path of ["/", "/?flowId=jup"]) {
        const { text } = await get(empty, path);
        expect(text, path).toContain("No runs yet. Record some with reev run or pnpm demo.");
        expect(text, path).not.toContain("No run matches");
      }
    } finally {
      await empty.close();
    }
  });

  test("the evaluations list and the compare page refuse a parameter they do not take, or one given twice, as the runs list does", async ({
    db,
  }) => {
    for (const [path, field, said] of [
      [
        "/evaluations?foo=1",
        "foo",
        'The evaluations list has no &quot;foo&quot; parameter; it takes only &quot;cursor&quot;, which its own page links carry.</p><p>No evaluations are listed with it: <a href="/evaluations">show all evaluations</a>.',
      ],
      ["/evaluations?limit=abc", "limit", "The evaluations list has no &quot;limit&quot; parameter"],
      [
        "/evaluations?cursor=x&cursor=y",
        "cursor",
        "&quot;cursor&quot; is given 2 times (&quot;x&quot;, &quot;y&quot;); the evaluations list takes one value.",
      ],
      [
        "/compare?a=eval_1&bb=eval_2",
        "bb",
        'The compare page has no &quot;bb&quot; parameter; its parameters are a and b. Did you mean <a href="/compare?a=eval_1&amp;b=eval_2">b</a>?</p><p>Nothing is compared with it: change it above, or <a href="/compare">start over</a>.',
      ],
      ["/compare?a=eval_1&b=eval_2&b=eval_3", "b", "The B parameter is given 2 times"],
    ] as const) {
      const { response, text } = await get(db, path);
      expect({ path, status: response.status, type: response.headers.get("content-type") }).toEqual({
        path,
        status: 400,
        type: expect.stringMatching(/^text\/html/),
      });
      expect(text, `${path} (${field})`).toContain(said);
      expect(text, path).not.toMatch(/No evaluations yet|No evaluation or execution/);
    }
  });

  test("pages carry a CSP whose script nonce is on every script; CORS only for the origin given", async ({ db }) => {
    const id = await runFlow(db, flowPlan(`csp-${backend.name}`, 1));
    for (const path of ["/", `/runs/${id}`]) {
      const page = await get(db, path);
      expect(page.response.status).toBe(200);
      const csp = page.response.headers.get("content-security-policy") ?? "";
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce, csp).toBeDefined();
      expect(csp).toContain("style-src 'self' 'unsafe-inline'");
      const scripts = [...page.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
      if (path !== "/")
        expect(scripts.map((tag) => /src="([^"]+)"/.exec(tag)?.[1])).toEqual([
          "/assets/mermaid.js",
          "/assets/panzoom.js",
          "/assets/report.js",
          "/assets/viewer.js",
          "/assets/steps.js",
        ]);
    }
    const asset = await get(db, "/assets/mermaid.js");
    expect(asset.response.status).toBe(200);
    expect(asset.type).toMatch(/^text\/javascript/);
    expect((await get(db, "/assets/..%2Fpackage.json")).response.status).toBe(404);

    const preflight = { method: "OPTIONS", headers: { Origin: "http://example.test", "Access-Control-Request-Method": "GET" } };
    const without = await createServer({ db, log: () => {} }).app.request("/api/v1/executions", preflight);
    expect(without.headers.get("access-control-allow-origin")).toBeNull();
    const withCors = await createServer({ db, corsOrigin: "http://example.test", log: () => {} }).app.request(
      "/api/v1/executions",
      preflight,
    );
    expect(withCors.headers.get("access-control-allow-origin")).toBe("http://example.test");
    expect(withCors.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST");
    const corsGet = await createServer({ db, corsOrigin: "http://example.test", log: () => {} }).app.request("/api/v1/executions", {
      headers: { Origin: "http://example.test" },
    });
    expect(corsGet.headers.get("access-control-expose-headers")).toBe("Location,ETag");
  });

  test("a failure the server did not expect is a 500 with a request id, logged, and no stack or SQL", async ({ db }) => {
    const logged: string[] = [];
    const { app } = createServer({ db, log: (line) => logged.push(line) });
    app.get("/api/v1/boom", () => {
      throw new Error('relation "secret_table" does not exist at SELECT * FROM secret_table');
    });
    const response = await app.request("/api/v1/boom");
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(body.error.requestId).toBe(response.headers.get("x-request-id"));
    expect(JSON.stringify(body)).not.toContain("secret_table");
    expect(logged.join("\n")).toContain(body.error.requestId);
    expect(logged.join("\n")).toContain("secret_table");
  });
});
