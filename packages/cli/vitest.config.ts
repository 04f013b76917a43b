import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // vitest's default on a 2-core machine is one worker, which made this package the serial critical
    // path of CI; its tests mostly wait on child processes and PostgreSQL, so two files at once overlap.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
