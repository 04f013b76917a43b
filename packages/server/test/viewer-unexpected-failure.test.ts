// A failure the server did not expect, on a page a person asked for, answers the viewer's error page
// (a 500, plain words, the request id it logged the failure under), never the API's JSON, nor a stack
// or SQL; the API keeps its JSON. The failure is real: the tables the pages read are renamed away, so
// every read fails in the database as a broken deployment would, with the table's name in the error.
import { prismaClientOf } from "@reev/db/internal";
import { test, testBackends } from "@reev/db/testing";
import { describe, expect } from "vitest";
import { createServer } from "../src/index.js";
import { flowPlan, runFlow } from "./support/runs.js";

describe.each(testBackends())("a viewer page's unexpected failure on $name", (backend) => {
  test.override({ backend });

  test("is the HTML error page with a 500 and the logged request id, and the API's is still JSON", async ({ db }) => {
    const id = await runFlow(db, flowPlan(`viewer-failure-${backend.name}`, 2));
    const prisma = prismaClientOf(db);
    await prisma.$executeRawUnsafe(`ALTER TABLE execution_sessions RENAME TO execution_sessions_gone`);
    await prisma.$executeRawUnsafe(`ALTER TABLE evaluation_runs RENAME TO evaluation_runs_gone`);
    const logged: string[] = [];
    const { app } = createServer({ db, log: (line) => logged.push(line) });

    for (const path of ["/", `/runs/${id}`, "/evaluations", "/evaluations/eval-1", "/compare?a=eval-1&b=eval-2"]) {
      const response = await app.request(path);
      const html = await response.text();
      expect(response.status, path).toBe(500);
      expect(response.headers.get("content-type"), path).toMatch(/^text\/html/);
      const requestId = response.headers.get("x-request-id")!;
      expect(requestId, path).toBeTruthy();
      expect(html, path).toContain("<h1>Something went wrong</h1>");
      expect(html, path).toContain(`it logged the failure as request ${requestId}.`);
      expect(html, path).toContain(`href="${path.startsWith("/evaluations") ? "/evaluations" : "/"}" data-back`);
      // The failure itself is in the log, under the id the page shows, and nowhere in the page.
      expect(html, path).not.toMatch(/execution_sessions|evaluation_runs|relation|SELECT|at .*\.js/);
      const line = logged.find((l) => l.includes(`request ${requestId} `));
      expect(line, path).toMatch(/execution_sessions|evaluation_runs/);
    }

    const api = await app.request("/api/v1/executions");
    expect(api.status).toBe(500);
    const body = (await api.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe("INTERNAL");
    expect(body.error.requestId).toBe(api.headers.get("x-request-id"));
    expect(JSON.stringify(body)).not.toContain("execution_sessions");
    const health = await app.request("/healthz");
    expect(health.headers.get("content-type")).toMatch(/^application\/json/);
  });
});
