import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests open and close hundreds of brief embedded databases: V8's baseline WebAssembly compiler
    // alone, as for `reev list` (compileWasmForBriefUse in @reev/db), cut the tests' CPU by a third.
    execArgv: ["--liftoff-only"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
