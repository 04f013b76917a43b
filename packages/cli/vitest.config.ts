import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two files at a time, where vitest's default on a 2-core machine is one: these tests mostly wait
    // on the `reev` processes they spawn, one at a time, and one after another they were a CI run's
    // long pole, its last part alone on one core.
    maxWorkers: 2,
  },
});
