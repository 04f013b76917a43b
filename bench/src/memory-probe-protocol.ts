/** What the memory scenario and its child process (memory-probe.ts) say to each other. */

export const PROBE_MODES = ["writer-open", "consolidate", "raw-open", "raw-select"] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

/** The child's one line of stdout. */
export type ProbeReport = { mode: ProbeMode; maxRssMiB: number; ms: number; steps: number };
