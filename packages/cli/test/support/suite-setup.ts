/**
 * The setup the cli*.test.ts files share: each function registers vitest's suite hooks where it is
 * called (a file's top level or a `describe`) and returns accessors that are valid once those hooks
 * have run, so a test file states what it needs in one line instead of a beforeAll/afterAll pair.
 */
import { afterAll, beforeAll } from "vitest";
import { assertBuilt, type CliBackend, type CliResult, makeTempDir, runCli } from "./run-cli.js";

export type TempDir = { readonly dir: string };

/**
 * A temp dir for the CLI's working directory and files, removed after the suite. It is made only
 * once the CLI is known to be built, so a missing build fails with the command that fixes it.
 */
export function cliTempDir(prefix: string): TempDir {
  let temp: ReturnType<typeof makeTempDir> | undefined;
  beforeAll(() => {
    assertBuilt();
    temp = makeTempDir(prefix);
  });
  afterAll(() => temp?.remove());
  return {
    get dir() {
      if (!temp) throw new Error(`The ${prefix}* temp dir is made in beforeAll: read it from a hook or a test`);
      return temp.dir;
    },
  };
}

export type CliDatabase = {
  readonly url: string;
  /** `reev <args> --db <url>`, run in the temp dir. */
  reev(...args: string[]): Promise<CliResult>;
};

/** The suite's database on `backend`: made before its tests, dropped after them. */
export function cliDatabase(backend: CliBackend, temp: TempDir): CliDatabase {
  let database: Awaited<ReturnType<CliBackend["database"]>> | undefined;
  beforeAll(async () => {
    database = await backend.database();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const url = () => {
    if (!database) throw new Error(`The ${backend.name} database is made in beforeAll: read it from a hook or a test`);
    return database.url;
  };
  return {
    get url() {
      return url();
    },
    // An eval of several runs outlasts runCli's default limit on a loaded machine; the limit only guards against a hang.
    reev: (...args) => runCli([...args, "--db", url()], { cwd: temp.dir, timeoutMs: 120_000 }),
  };
}
