import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { SchemaEngine } from "@prisma/schema-engine-wasm/schema_engine_bg";

type Runtime = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

const require = createRequire(import.meta.url);
// Node has WebAssembly, but its typings live in lib.dom, which a Node package should not pull in.
type Wasm = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
};
const { Module, Instance } = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
let runtime: Promise<Runtime> | undefined;

/**
 * The engine arms a timer for its 10 s advisory-lock timeout and never clears it once the lock is
 * taken, so every process that migrated stayed alive 10 s after its work was done. Unref'd timers
 * still fire while the process has work, but no longer keep an idle one alive.
 */
function unrefTimers(bindings: object): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...bindings };
  for (const [name, fn] of Object.entries(imports)) {
    if (!name.startsWith("__wbg_setTimeout_") || typeof fn !== "function") continue;
    imports[name] = (...args: unknown[]) => {
      const timer = (fn as (...a: unknown[]) => unknown)(...args);
      (timer as { unref?: () => void } | undefined)?.unref?.();
      return timer;
    };
  }
  return imports;
}

/**
 * Prisma's own schema engine, compiled to WebAssembly, loaded once per process. The package's main
 * entry imports the `.wasm` file as an ES module, which Node only allows behind a flag, so the module
 * is instantiated by hand from the bindings file.
 */
function loadRuntime(): Promise<Runtime> {
  runtime ??= (async () => {
    const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const wasmPath = join(dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")), "schema_engine_bg.wasm");
    const instance = new Instance(new Module(await readFile(wasmPath)), { "./schema_engine_bg.js": unrefTimers(bindings) });
    const glue = bindings as unknown as { __wbg_set_wasm(exports: Record<string, unknown>): void };
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return bindings;
  })();
  return runtime;
}

type PatchableAdapter = SqlDriverAdapter & {
  client?: { exec?(sql: string): Promise<unknown>; query?(sql: string): Promise<unknown> };
  onError(error: unknown): never;
};

/**
 * The engine runs each migration as one script. Both adapters get that wrong in the pinned versions,
 * so their `executeScript` is replaced:
 * - pglite-prisma-adapter 0.7.2 does not await `exec()`: a failing migration was recorded as applied.
 * - @prisma/adapter-pg 7.10.1 splits the script on every `;` (breaking literals and `$$` bodies) and
 *   runs the pieces one by one; one simple-protocol query runs it whole, atomically, as the native
 *   engine does.
 * Re-check both on every adapter upgrade (the migration tests fail if a patch stops applying).
 */
function patchExecuteScript(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const target = adapter as PatchableAdapter;
  const client = target.client;
  const run = target.adapterName.includes("pglite") ? client?.exec?.bind(client) : client?.query?.bind(client);
  if (!run) throw new Error(`cannot patch executeScript of driver adapter ${target.adapterName}`);
  target.executeScript = async (script: string) => {
    try {
      await run(script);
    } catch (error) {
      target.onError(error);
    }
  };
  return adapter;
}

/**
 * Runs `fn` with a schema engine connected through `factory`, then frees the engine and disposes every
 * adapter it opened: `engine.free()` does not, and adapter-pg's pool would keep Prisma's migration
 * advisory lock (72707369) held, making the next run wait out the lock timeout.
 */
export async function withSchemaEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const rt = await loadRuntime();
  const opened: SqlDriverAdapter[] = [];
  const track = async (connect: () => Promise<SqlDriverAdapter>) => {
    const adapter = patchExecuteScript(await connect());
    opened.push(adapter);
    return adapter;
  };
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => track(() => factory.connect()),
    connectToShadowDb: () => track(() => factory.connectToShadowDb()),
  };
  const engine = await rt.SchemaEngine.new({ datamodels: undefined }, () => {}, bindMigrationAwareSqlAdapterFactory(tracked));
  try {
    return await fn(engine);
  } finally {
    engine.free();
    for (const adapter of opened) await adapter.dispose().catch(() => {});
  }
}
