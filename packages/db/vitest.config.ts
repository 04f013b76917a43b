import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests open and close hundreds of brief embedded databases: V8's baseline WebAssembly code
    // alone, as for `reev list` (compileWasmForBriefUse in @reev/db, the same flags), which made CI's
    // test step a third as long. Forks only (vitest's default pool): threads take no V8 flags.
    execArgv: ["--no-wasm-dynamic-tiering", "--no-wasm-tier-up"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
