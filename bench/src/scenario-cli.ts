import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "./bench-config.js";
import { type ChildRun, runChild } from "./child-process.js";
import type { CleanupScope } from "./cleanup.js";
import { progress } from "./progress.js";
import { median } from "./stats.js";

/**
 * §1.5 The CLI on the embedded database, timed from the outside as a user waits: `reev run` of a
 * one-step flow from spawn to its first stored step and to its exit, and `reev demo` end to end —
 * each on an existing data directory and on a fresh one. No raw ratio (there is no raw CLI); the
 * references are what any such process pays anyway: Node's own start-up and a bare PGlite open.
 */
export const FIRST_STEP_TARGET_MS = 1500;

export type CliCase = {
  label: string;
  data: "existing" | "fresh";
  /** Spawn → the first step's progress line (printed once the step is stored); null for the demo. */
  firstStepMs: number | null;
  firstStepRoundsMs: number[];
  exitMs: number;
  exitRoundsMs: number[];
};

export type CliReference = { label: string; exitMs: number; exitRoundsMs: number[]; openMs: number | null };

export type CliResult = { rounds: number; cases: CliCase[]; references: CliReference[] };

/** The `reev` bin as @reev/cli declares it: the file an installed `reev` runs. */
function reevBin(): string {
  const manifest = createRequire(import.meta.url).resolve("@reev/cli/package.json");
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin: { reev: string } };
  return join(dirname(manifest), bin.reev);
}

const CLI = reevBin();
const FLOW = fileURLToPath(new URL("../fixtures/first-step.yaml", import.meta.url));
const PGLITE_OPEN = fileURLToPath(new URL("./pglite-open-probe.js", import.meta.url));
/** ProgressReporter's line for a finished step (on a pipe it prints plain lines): "… step 0 first (2ms, …)". */
const FIRST_STEP_LINE = / step 0 first \(/;

type Command = { label: string; args: (dir: string, out: string) => string[]; watchFirstStep: boolean };
const COMMANDS: Command[] = [
  { label: "reev run first-step.yaml", args: (dir, out) => ["run", FLOW, "--db", dir, "--out", out], watchFirstStep: true },
  { label: "reev demo", args: (dir, out) => ["demo", "--db", dir, "--out", out], watchFirstStep: false },
];

export async function cli(scope: CleanupScope, config: BenchConfig): Promise<CliResult> {
  const root = mkdtempSync(join(tmpdir(), "reev-bench-cli-"));
  scope.defer(`remove ${root}`, () => rmSync(root, { recursive: true, force: true }));
  const out = join(root, "out");
  // The child picks its database from --db only.
  const env = { ...process.env, REEV_DATABASE_URL: undefined };
  let freshDirs = 0;
  const node = async (args: string[], watch?: RegExp): Promise<ChildRun> => {
    const run = await runChild(scope, process.execPath, args, { cwd: root, env, watch });
    if (run.code !== 0) throw new Error(`node ${args.join(" ")} exited with ${run.code}:\n${run.stderr}`);
    return run;
  };

  const existing = join(root, "existing");
  progress("[cli] 5 preparing an existing data directory (one untimed run)");
  await node([CLI, ...COMMANDS[0]!.args(existing, out)]);

  const runs = new Map<string, ChildRun[]>();
  const record = (key: string, run: ChildRun) => runs.set(key, [...(runs.get(key) ?? []), run]);
  for (let round = 0; round < config.cliRounds; round++) {
    const order: CliCase["data"][] = round % 2 === 0 ? ["existing", "fresh"] : ["fresh", "existing"];
    for (const command of COMMANDS) {
      for (const data of order) {
        progress(`[cli] 5 ${command.label}, ${data} data directory: round ${round + 1}/${config.cliRounds}`);
        const dir = data === "existing" ? existing : join(root, `fresh-${freshDirs++}`);
        const run = await node([CLI, ...command.args(dir, out)], command.watchFirstStep ? FIRST_STEP_LINE : undefined);
        if (command.watchFirstStep && run.matchMs === undefined)
          throw new Error(`${command.label}: no "step 0 first (" line on stderr:\n${run.stderr}`);
        record(`${command.label}|${data}`, run);
      }
    }
    progress(`[cli] 5 references: round ${round + 1}/${config.cliRounds}`);
    record("node", await node(["-e", ""]));
    record("pglite existing", await node([PGLITE_OPEN, existing]));
    record("pglite fresh", await node([PGLITE_OPEN, join(root, `fresh-${freshDirs++}`)]));
  }

  const cases = COMMANDS.flatMap((command) =>
    (["existing", "fresh"] as const).map((data): CliCase => {
      const rs = runs.get(`${command.label}|${data}`)!;
      const firstStepRoundsMs = command.watchFirstStep ? rs.map((r) => r.matchMs!) : [];
      return {
        label: command.label,
        data,
        firstStepMs: command.watchFirstStep ? median(firstStepRoundsMs) : null,
        firstStepRoundsMs,
        exitMs: median(rs.map((r) => r.exitMs)),
        exitRoundsMs: rs.map((r) => r.exitMs),
      };
    }),
  );
  const reference = (key: string, label: string): CliReference => {
    const rs = runs.get(key)!;
    const opens = rs.map((r) => (r.stdout.trim() ? (JSON.parse(r.stdout) as { openMs: number }).openMs : Number.NaN));
    return {
      label,
      exitMs: median(rs.map((r) => r.exitMs)),
      exitRoundsMs: rs.map((r) => r.exitMs),
      openMs: opens.every(Number.isNaN) ? null : median(opens),
    };
  };
  return {
    rounds: config.cliRounds,
    cases,
    references: [
      reference("node", 'node -e ""'),
      reference("pglite existing", "bare PGlite(dir), existing directory"),
      reference("pglite fresh", "bare PGlite(dir), fresh directory"),
    ],
  };
}
