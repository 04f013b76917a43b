import type { ScenarioKey } from "./bench-config.js";
import { ms, whole, x } from "./format.js";
import type { BenchResults } from "./results.js";
import { FIRST_STEP_TARGET_MS } from "./scenario-cli.js";
import type { SideStats } from "./stats.js";
import { CONSOLIDATION_RATIOS } from "./targets.js";

/**
 * The run as tables, one per scenario, with the notes that say how to read them. Pure: the text
 * report pads them into columns, the HTML report turns them into <table>s.
 */
export type Align = "l" | "r";
export type TableSpec = { id: ScenarioKey | "targets"; title: string; notes: string[]; header: string[]; align: Align[]; rows: string[][] };

const mib = (v: number) => v.toFixed(0);
const rounds = (values: number[]) => values.map(ms).join(" / ");

/** Writer and raw on adjacent lines (the backend named once), the ratios on the writer's. */
function sideRows(
  backend: string,
  stats: { writer: SideStats; raw: SideStats },
  cells: (s: SideStats, side: "writer" | "raw") => string[],
  ratios: string[],
): string[][] {
  return [
    [backend, ...cells(stats.writer, "writer"), ...ratios],
    ["", ...cells(stats.raw, "raw"), ...ratios.map(() => "")],
  ];
}

function stepWrites(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.steps);
  const first = measured[0]?.steps;
  if (!first) return undefined;
  return {
    id: "steps",
    title: "1. Step write path — steps of one execution, one after another, each committed on its own",
    notes: [
      ...first.cases.map(
        (c) =>
          `${c.label}: ${whole(c.steps)} steps, ~${whole(c.contentBytesPerStep)} bytes of content and ${first.toolCallsPerStep} tool calls each.`,
      ),
      `Raw: the writer's own statement for the step, sent through the driver. Median of ${r.config.rounds} rounds per side, interleaved.`,
      "writer÷raw: writer steps/s ÷ raw steps/s (1.00× = as fast as the raw driver; target ≥ 0.80×); by p50: raw p50 ÷ writer p50, the same comparison by the median step, steadier on a busy machine. cpu: this process's CPU per step (on PGlite it includes the engine).",
    ],
    header: [
      "backend",
      "case",
      "side",
      "median ms",
      "rounds ms",
      "steps/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "cpu ms/step",
      "writer÷raw",
      "by p50",
    ],
    align: ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) =>
      b.steps!.cases.flatMap((c, i) =>
        sideRows(
          i === 0 ? b.name : "",
          c,
          (s, side) => [
            side === "writer" ? c.label : "",
            side,
            ms(s.medianMs),
            rounds(s.roundsMs),
            whole(s.perSecond),
            ms(s.p50Ms),
            ms(s.p95Ms),
            ms(s.p99Ms),
            ms(s.cpuMsPerOp),
          ],
          [x(c.throughputRatio), x(c.p50Ratio)],
        ),
      ),
    ),
  };
}

function bulk(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.bulk);
  const first = measured[0]?.bulk;
  if (!first) return undefined;
  return {
    id: "bulk",
    title: `2. Bulk import — ${whole(first.steps)} steps (${whole(first.rows)} rows with their tool calls) in one call`,
    notes: [
      "All or nothing, in one transaction. Writer: writer.storeSteps; raw: lock + existing-step check + multi-row INSERT … json_to_recordset in batches of 1,000 steps.",
      "writer÷raw: writer rows/s ÷ raw rows/s.",
    ],
    header: ["backend", "side", "median ms", "rounds ms", "steps/s", "rows/s", "cpu ms/row", "writer÷raw"],
    align: ["l", "l", "r", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) => {
      const stepsPerRow = b.bulk!.steps / b.bulk!.rows;
      return sideRows(
        b.name,
        b.bulk!,
        (s, side) => [side, ms(s.medianMs), rounds(s.roundsMs), whole(s.perSecond * stepsPerRow), whole(s.perSecond), ms(s.cpuMsPerOp)],
        [x(b.bulk!.throughputRatio)],
      );
    }),
  };
}

function consolidation(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.consolidation);
  if (!measured.length) return undefined;
  return {
    id: "consolidation",
    title: "3. Consolidation — consolidateExecution against the raw SELECT of the same rows",
    notes: [
      `Median of ${r.config.consolidationRounds} rounds per side and size, interleaved. writer÷raw: writer time ÷ raw time (targets: ${[...CONSOLIDATION_RATIOS].map(([steps, ratio]) => `≤ ${x(ratio)} at ${whole(steps)} steps`).join(", ")}).`,
      "read: writer.getSessionsForConsolidation alone, timed as a third side (diagnostic): the writer's full read of the same rows into JS, which consolidation no longer does (it reads the steps' summaries and lets the database assemble the document).",
      "growth: time at this size ÷ time at the size before (linear: it approaches the step ratio; below it, a fixed cost is being spread).",
      ...measured.map((b) => {
        const c = b.consolidation!;
        const fit = (f: typeof c.fit.writer) => `${ms(f.slope)} ms per 1,000 steps + ${ms(f.intercept)} ms (R² ${f.r2.toFixed(4)})`;
        return `${b.name}: least-squares fit writer ${fit(c.fit.writer)}; raw ${fit(c.fit.raw)}. Cost per 1,000 steps, largest size ÷ the one before: writer ${x(c.perStepGrowth.writer)}, raw ${x(c.perStepGrowth.raw)}.`;
      }),
    ],
    header: [
      "backend",
      "steps",
      "writer ms",
      "raw ms",
      "writer÷raw",
      "read ms",
      "read÷raw",
      "writer ms/1k steps",
      "raw ms/1k steps",
      "writer growth",
      "raw growth",
      "writer rounds ms",
    ],
    align: ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) =>
      b.consolidation!.sizes.map((s, i, all) => {
        const prev = all[i - 1];
        return [
          i === 0 ? b.name : "",
          whole(s.steps),
          ms(s.writer.medianMs),
          ms(s.raw.medianMs),
          x(s.timeRatio),
          ms(s.writerRead.medianMs),
          x(s.readRatio),
          ms(s.writerMsPer1000Steps),
          ms(s.rawMsPer1000Steps),
          prev ? `${x(s.writer.medianMs / prev.writer.medianMs)} (steps ${x(s.steps / prev.steps)})` : "",
          prev ? x(s.raw.medianMs / prev.raw.medianMs) : "",
          rounds(s.writer.roundsMs),
        ];
      }),
    ),
  };
}

function concurrency(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.concurrency);
  const first = measured[0]?.concurrency;
  if (!first) return undefined;
  return {
    id: "concurrency",
    title: `4. Concurrency — ${first.executions} executions × ${first.stepsPerExecution} steps at once`,
    notes: [
      `Each execution writes its steps one after another; all executions at once. Median of ${r.config.rounds} rounds per side. Latency: one step's write, over every step of every round.`,
      "writer÷raw: writer steps/s ÷ raw steps/s (target ≥ 0.70×). lost/dup: steps and tool calls missing or stored twice, from a per-execution audit afterwards.",
    ],
    header: ["backend", "side", "connections", "median ms", "steps/s", "p50 ms", "p95 ms", "p99 ms", "lost", "dup", "writer÷raw"],
    align: ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) => {
      const c = b.concurrency!;
      return sideRows(
        b.name,
        c,
        (s, side) => {
          const a = c.audit[side];
          return [
            side,
            String(c.poolSize),
            ms(s.medianMs),
            whole(s.perSecond),
            ms(s.p50Ms),
            ms(s.p95Ms),
            ms(s.p99Ms),
            whole(a.lostSteps + a.lostToolCalls),
            whole(a.duplicatedSteps + a.duplicatedToolCalls),
          ];
        },
        [x(c.throughputRatio)],
      );
    }),
  };
}

function evaluation(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.evaluation);
  const first = measured[0]?.evaluation;
  if (!first) return undefined;
  return {
    id: "eval",
    title: `8. Evaluation — ${first.flows} flows × ${first.repeat} runs (${first.stepsPerFlow} steps each), ${first.concurrency} at once`,
    notes: [
      `reev eval: the evaluation created, every run through runEvaluation, the report built from the stored runs, the evaluation finished. executor: the same runs through PingPongExecutor directly, as many at once. Scripted agent, no think time. Median of ${r.config.rounds} rounds per side.`,
      "eval÷executor: runs/s of reev eval ÷ runs/s of the bare executor (target ≥ 0.90×).",
    ],
    header: ["backend", "side", "median ms", "runs/s", "eval÷executor"],
    align: ["l", "l", "r", "r", "r"],
    rows: measured.flatMap((b) => {
      const e = b.evaluation!;
      return sideRows(b.name, e, (s, side) => [side === "writer" ? "reev eval" : "executor", ms(s.medianMs), whole(s.perSecond)], [
        x(e.throughputRatio),
      ]);
    }),
  };
}

function cli(r: BenchResults): TableSpec | undefined {
  if (!r.cli) return undefined;
  const c = r.cli;
  return {
    id: "cli",
    title: "5. CLI on the embedded database — from spawn, as a user waits",
    notes: [
      `Median of ${c.rounds} rounds. first step: spawn → the progress line of step 0 (printed once it is stored); target < ${whole(FIRST_STEP_TARGET_MS)} ms, existing and fresh directory alike.`,
      "The demo runs the three example flows at once, scripted think time and a step that hangs until its 1.2 s timeout included. References: what any such process pays anyway.",
    ],
    header: ["command", "data directory", "first step ms", "rounds ms", "exit ms", "rounds ms", "vs target"],
    align: ["l", "l", "r", "r", "r", "r", "l"],
    rows: [
      ...c.cases.map((k) => [
        k.label,
        k.data,
        k.firstStepMs === null ? "—" : ms(k.firstStepMs),
        rounds(k.firstStepRoundsMs),
        ms(k.exitMs),
        rounds(k.exitRoundsMs),
        k.firstStepMs === null ? "" : k.firstStepMs < FIRST_STEP_TARGET_MS ? "met" : "missed",
      ]),
      ...c.references.map((ref) => [
        `reference: ${ref.label}`,
        "",
        ref.openMs === null ? "—" : `open ${ms(ref.openMs)}`,
        "",
        ms(ref.exitMs),
        rounds(ref.exitRoundsMs),
        "",
      ]),
    ],
  };
}

function memory(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.memory);
  const first = measured[0]?.memory;
  if (!first) return undefined;
  return {
    id: "memory",
    title: `6. Memory — peak RSS of a fresh child process consolidating ${whole(first.steps)} steps`,
    notes: [
      `process.resourceUsage().maxRSS, median of ${r.config.memoryRounds} children per mode. The "open only" children show the start-up share; the difference is what reading costs.`,
      ...measured.map((b) => `${b.name}: ${b.memory!.where}.`),
    ],
    header: ["backend", "child", "peak RSS MiB", "rounds MiB", "time ms", "added by reading MiB", "consolidate÷raw RSS"],
    align: ["l", "l", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) => {
      const m = b.memory!;
      return m.modes.map((mode, i) => [
        i === 0 ? b.name : "",
        mode.label,
        mib(mode.maxRssMiB),
        mode.roundsMiB.map(mib).join(" / "),
        ms(mode.ms),
        mode.mode === "consolidate" ? mib(m.addedMiB.writer) : mode.mode === "raw-select" ? mib(m.addedMiB.raw) : "",
        i === 0 ? x(m.rssRatio) : "",
      ]);
    }),
  };
}

function api(r: BenchResults): TableSpec | undefined {
  const measured = r.backends.filter((b) => b.api);
  const first = measured[0]?.api;
  if (!first) return undefined;
  const load = (s: { requestsPerSecond: number; p50Ms: number; p99Ms: number; rounds: { requestsPerSecond: number[] } }) => [
    whole(s.requestsPerSecond),
    s.rounds.requestsPerSecond.map(whole).join(" / "),
    ms(s.p50Ms),
    ms(s.p99Ms),
  ];
  return {
    id: "api",
    title: `7. API — reev serve against a bare node:http handler, ${first.connections} connections (autocannon, loopback)`,
    notes: [
      `Stored: executions of ${first.stepsPerExecution} steps each (per backend below). Both sides in one server process, the same database; the same SQL on the raw driver and the same JSON (checked before timing). ${first.seconds} s per side, case and round after an untimed warm-up of each, rounds interleaved; medians.`,
      "reev÷bare: requests/s (targets: list ≥ 0.60×, flow ≥ 0.50×). deep÷page 1: reev's deep-page p50 ÷ its first-page p50 (target ≤ 1.20×).",
      ...measured.map((b) => {
        const a = b.api!;
        const sse = a.sse
          ? `SSE commit → event: p50 ${ms(a.sse.p50Ms)} ms, p99 ${ms(a.sse.p99Ms)} ms, max ${ms(a.sse.maxMs)} ms over ${whole(a.sse.events)} events (${a.sse.runs} runs × ${a.sse.steps} steps at once; target p99 ≤ 100 ms)`
          : `SSE not measured: ${a.sseSkipped}`;
        return `${b.name}: ${whole(a.executions)} executions, ${a.where}. Server RSS ${mib(a.rssMiB.idle)} MiB idle, ${mib(a.rssMiB.underLoad)} MiB at most under load. ${sse}.`;
      }),
    ],
    header: ["backend", "request", "side", "req/s", "rounds req/s", "p50 ms", "p99 ms", "reev÷bare", "deep÷page 1"],
    align: ["l", "l", "l", "r", "r", "r", "r", "r", "r"],
    rows: measured.flatMap((b) =>
      b.api!.cases.flatMap((c, i) => [
        [i === 0 ? b.name : "", c.label, "reev", ...load(c.reev), x(c.throughputRatio), c.id === "deep" ? x(b.api!.deepP50Ratio) : ""],
        ["", "", "bare", ...load(c.bare), "", ""],
      ]),
    ),
  };
}

function targets(r: BenchResults): TableSpec | undefined {
  if (!r.targets.length) return undefined;
  return {
    id: "targets",
    title: "Targets (issues 4 and 12) — reported, not asserted",
    notes: [],
    header: ["target", "where", "measured", ""],
    align: ["l", "l", "l", "l"],
    rows: r.targets.map((t) => [t.target, t.where, t.measured, t.met ? "met" : "MISSED"]),
  };
}

export function headerLines(r: BenchResults): string[] {
  const m = r.machine;
  return [
    `reev bench${r.config.smoke ? " (smoke: tiny sizes, a check that it works — not a measurement)" : ""}: DatabaseWriter vs the raw driver — ${r.date}`,
    `${m.cpus}× ${m.cpuModel}, ${m.totalMemGiB} GiB, Node ${m.node}, ${m.platform}; load average ${m.loadAverage.before.toFixed(1)} → ${m.loadAverage.after.toFixed(1)}; ${r.durationS.toFixed(0)} s in all`,
    `Backends: ${r.backends.map((b) => `${b.name} (${b.description})`).join("; ") || "none"}`,
    ...(r.postgresSkipped ? [`PostgreSQL not measured: ${r.postgresSkipped}`] : []),
  ];
}

export function resultTables(r: BenchResults): TableSpec[] {
  return [stepWrites(r), bulk(r), consolidation(r), concurrency(r), cli(r), memory(r), api(r), evaluation(r), targets(r)].filter(
    (t): t is TableSpec => t !== undefined,
  );
}
