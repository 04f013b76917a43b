import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests open and close hundreds of brief embedded databases: V8's baseline WebAssembly code
    // alone, as for `reev list` (compileWasmForBriefUse in @reev/db, the same flags), which made CI's
    // test step a third as long. Forks only (vitest's default pool): threads take no V8 flags.
    execArgv: ["--no-wasm-dynamic-tiering", "--no-wasm-tier-up"],
    // A test here spawns several `reev` processes one after another (each has its own 45 s limit), and
    // on a loaded 2-core CI machine four of them took 50–60 s: the limit guards against a hang, it does
    // not judge speed.
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
