import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Database } from "@reev/db";
import {
  type Agent,
  type ExecutionResult,
  errorMessage,
  formatDuration,
  loadFlowPlan,
  OpenAIChatAgent,
  OrchestratorError,
  PingPongExecutor,
  parseConsolidatedContent,
  renderFlowDiagram,
  renderHtmlPage,
  ScriptedAgent,
  type ToolHandler,
} from "@reev/orchestrator";
import { type CliIO, withDatabase } from "../context.js";
import { formatPercent, formatScore, statusLabel } from "../format.js";
import { ProgressReporter } from "../progress.js";
import { clip, renderTable } from "../text-table.js";

export type RunOptions = {
  files: string[];
  agent: string;
  /** A module of tool handlers for the openai agent. */
  tools?: string | undefined;
  db: string | undefined;
  concurrency: number;
  repeat: number;
  out: string;
  consolidate: boolean;
};

/**
 * The tool implementations for `--agent openai`: a JS module whose default export (or `tools`
 * export) maps tool names to `{ run(input, signal), description?, parameters? }`.
 */
async function loadTools(path: string): Promise<Record<string, ToolHandler>> {
  let mod: { default?: unknown; tools?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as typeof mod;
  } catch (error) {
    throw new OrchestratorError("INVALID_ARGUMENT", `Could not load the tools module ${path}: ${errorMessage(error)}`, {
      path: "--tools",
      cause: error,
    });
  }
  const tools = mod.default ?? mod.tools;
  const entries = tools && typeof tools === "object" ? Object.entries(tools) : [];
  const bad = entries.find(([, t]) => typeof (t as { run?: unknown })?.run !== "function");
  if (!entries.length || bad) {
    const why = bad ? `tool "${bad[0]}" has no run(input, signal) function` : "it exports no tools (default export or `tools`)";
    throw new OrchestratorError("INVALID_ARGUMENT", `The tools module ${path} is not usable: ${why}`, { path: "--tools" });
  }
  return Object.fromEntries(entries) as Record<string, ToolHandler>;
}

async function createAgent(name: string, toolsModule?: string): Promise<Agent> {
  if (name === "openai") return new OpenAIChatAgent(toolsModule ? { tools: await loadTools(toolsModule) } : {});
  if (toolsModule)
    throw new OrchestratorError("INVALID_ARGUMENT", "--tools goes with --agent openai (the scripted agent replays its script)", {
      path: "--tools",
    });
  if (name === "scripted") return new ScriptedAgent();
  throw new OrchestratorError("INVALID_ARGUMENT", `Unknown agent "${name}": use scripted or openai`, { path: "--agent" });
}

/** Runs `tasks` with at most `limit` in flight, keeping results in task order. */
async function pool<T, R>(tasks: readonly T[], limit: number, fn: (task: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await fn(tasks[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function summary(result: ExecutionResult): string {
  const m = result.consolidation.metadata;
  const head = [
    `${statusLabel(result.status)}  ${result.flowId}  ${result.executionId}`,
    `  ${result.completedSteps}/${result.totalSteps} steps succeeded · ${formatDuration(result.durationMs)} · success rate ${formatPercent(m?.successRate)} · avg score ${formatScore(m?.avgScore)} · ${m?.totalTools ?? "—"} tool calls`,
    ...(result.error ? [`  error: ${result.error}`] : []),
    `  consolidation: ${result.consolidation.status}${result.consolidatedSessionId ? ` (${result.consolidatedSessionId})` : ""}${result.consolidation.status !== "completed" && result.consolidation.error ? ` — ${result.consolidation.error}` : ""}`,
  ];
  const rows = result.stepResults.map((s) => [
    String(s.stepIndex),
    s.stepId,
    statusLabel(s.status),
    formatDuration(s.durationMs),
    String(s.toolCalls.length),
    String(s.attempts),
    formatScore(s.score),
    clip(s.error ?? "", 60),
  ]);
  const table = renderTable(["#", "step", "status", "duration", "tools", "tries", "score", "error"], rows, new Set([0, 3, 4, 5, 6]));
  return `${head.join("\n")}\n\n${table.replace(/^/gm, "  ")}\n`;
}

/**
 * The diagrams' file name: the execution id, which embeds the flow file's `flowId`, so it may hold
 * path separators ("a/../../x" would write outside --out) or be too long for a file name (255 bytes).
 */
export function diagramFileStem(executionId: string): string {
  const safe = executionId.replace(/[/\\]/g, "_");
  if (Buffer.byteLength(safe) <= 200) return safe;
  let head = "";
  for (const ch of safe) {
    if (Buffer.byteLength(head + ch) > 180) break;
    head += ch;
  }
  return `${head}_${createHash("sha256").update(executionId).digest("hex").slice(0, 12)}`;
}

/** Writes the run's diagram as Mermaid source and as a self-contained HTML page. */
async function writeDiagrams(db: Database, result: ExecutionResult, outDir: string): Promise<string[]> {
  if (!result.consolidatedSessionId) return [];
  const content = await db.writer.getConsolidatedSession(result.consolidatedSessionId);
  const execution = await db.writer.getExecutionSession(result.executionId);
  if (!content || !execution) return [];
  await mkdir(outDir, { recursive: true });
  const stem = diagramFileStem(result.executionId);
  const mmd = join(outDir, `${stem}.mmd`);
  const html = join(outDir, `${stem}.html`);
  // Parsed once for both (a 10,000-step run's document is ~30 MB).
  const parsed = parseConsolidatedContent(content);
  await writeFile(mmd, `${renderFlowDiagram(parsed)}\n`);
  await writeFile(html, renderHtmlPage(parsed, { execution }));
  return [mmd, html];
}

/** `failures`: executions that could not be recorded at all (they have no result). */
type RunReport = { results: ExecutionResult[]; files: string[]; failures: number };

/** Loads every flow first, so a bad file fails before anything runs or is written. */
export async function executeFlows(options: RunOptions, io: CliIO): Promise<RunReport> {
  const loaded = await Promise.all(options.files.map((f) => loadFlowPlan(f)));
  const agent = await createAgent(options.agent, options.tools);
  const tasks = loaded.flatMap((plan) => Array.from({ length: options.repeat }, () => plan));
  return withDatabase(options.db, async (db) => {
    io.stderr.write(`Database: ${db.description}\n`);
    const progress = new ProgressReporter(io.stderr);
    const executor = new PingPongExecutor(db);
    let settled: PromiseSettledResult<ExecutionResult>[];
    try {
      // Settled, not all-or-nothing: one execution that cannot be recorded must not close the
      // database under the others still running.
      settled = await pool(tasks, options.concurrency, (plan) =>
        executor.execute(plan, agent, { onEvent: progress.handle, consolidate: options.consolidate }).then(
          (value): PromiseSettledResult<ExecutionResult> => ({ status: "fulfilled", value }),
          (reason: unknown): PromiseSettledResult<ExecutionResult> => ({ status: "rejected", reason }),
        ),
      );
    } finally {
      progress.stop();
    }
    const results: ExecutionResult[] = [];
    const files: string[] = [];
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === "rejected") {
        const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        io.stdout.write(`\n${statusLabel("failed")}  ${tasks[i]?.flowId}: the execution could not be recorded: ${reason}\n`);
        continue;
      }
      results.push(outcome.value);
      io.stdout.write(`\n${summary(outcome.value)}`);
      files.push(...(await writeDiagrams(db, outcome.value, resolve(options.out))));
    }
    if (files.length) io.stdout.write(`\nDiagrams:\n${files.map((f) => `  ${f}`).join("\n")}\n`);
    return { results, files, failures: settled.length - results.length };
  });
}

export async function runCommand(options: RunOptions, io: CliIO): Promise<number> {
  const { results, failures } = await executeFlows(options, io);
  return !failures && results.every((r) => r.status === "completed") ? 0 : 1;
}
