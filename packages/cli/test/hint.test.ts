// The commands reev's messages suggest, as the user can type them: `pnpm reev` when started through the
// checkout's script, the --db the command was given (absolute, quoted for the shell, its password masked).
import { mkdirSync, symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dbArgument, MASKED_NOTE, reevCommand, reevCommands, reevProgram, setSuggestionContext, shellWord } from "../src/hint.js";
import { makeTempDir } from "./support/run-cli.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/reev.mjs", import.meta.url));
const temp = makeTempDir("reev-hint-");
afterAll(() => temp.remove());
afterEach(() => setSuggestionContext({}));

describe("how reev was started", () => {
  it("the checkout's scripts/reev.mjs (pnpm reev, pnpm demo), also through pnpm's symlinked bin, is `pnpm reev`", () => {
    expect(reevProgram(SCRIPT)).toBe("pnpm reev");
    const link = join(temp.dir, "node_modules", "@reev", "dev-cli");
    mkdirSync(join(link, ".."), { recursive: true });
    symlinkSync(join(SCRIPT, ".."), link);
    expect(reevProgram(join(link, "reev.mjs"))).toBe("pnpm reev");
  });

  it("anything else (the installed bin, dist/bin.js, a test runner) is `reev`", () => {
    expect(reevProgram(fileURLToPath(new URL("../dist/bin.js", import.meta.url)))).toBe("reev");
    expect(reevProgram(join(temp.dir, "nowhere", "reev.mjs"))).toBe("reev");
    expect(reevProgram(undefined)).toBe("reev");
  });
});

describe("the --db a suggestion carries", () => {
  it("none when the command was given none: $REEV_DATABASE_URL or the default is found again by the copy", () => {
    expect(dbArgument(undefined)).toBeUndefined();
    setSuggestionContext({ program: "pnpm reev" });
    expect(reevCommand("list --offset 3")).toBe("pnpm reev list --offset 3");
  });

  it("a directory by its absolute path, quoted when the shell would split or expand it", () => {
    const dir = join(temp.dir, "my runs");
    expect(dbArgument(relative(process.cwd(), dir))).toEqual({ text: `--db '${dir}'`, masked: false, memory: false });
    expect(dbArgument("memory://")).toEqual({ text: "--db memory://", masked: false, memory: true });
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
  });

  it("a PostgreSQL URL as given, its password masked and said to be, quoted (* and & mean something to a shell)", () => {
    expect(dbArgument("postgresql://reev@db:5432/reev")).toEqual({
      text: "--db postgresql://reev@db:5432/reev",
      masked: false,
      memory: false,
    });
    const url = "postgresql://reev:s3cret@db:5432/reev?sslmode=require&application_name=x";
    expect(dbArgument(url)).toEqual({
      text: "--db 'postgresql://reev:***@db:5432/reev?sslmode=require&application_name=x'",
      masked: true,
      memory: false,
    });
    setSuggestionContext({ program: "reev", db: url });
    const next = reevCommands(["list", "show <executionId>"]);
    expect(next).not.toContain("s3cret");
    // The note once, after the commands: the copy needs the password put back.
    expect(next).toBe(
      `reev list --db 'postgresql://reev:***@db:5432/reev?sslmode=require&application_name=x' · reev show <executionId> --db 'postgresql://reev:***@db:5432/reev?sslmode=require&application_name=x'${MASKED_NOTE}`,
    );
    expect(reevCommand("schema", { db: false })).toBe("reev schema");
  });
});
