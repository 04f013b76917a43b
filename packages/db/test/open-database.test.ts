// openDatabase: backends by URL, memory://, migrate: false, bad URLs, password masking. PGlite
// directories (persistence, locking within and across processes) are in pglite-directory.test.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { type Database, dbOptionOf, makeDirectories, maskUrl, openDatabase, resolveTarget } from "../src/index.js";
import { pgliteOf, prismaClientOf } from "../src/internal.js";
import { createExecution, expectDbError, visibleSteps } from "./helpers.js";

describe("resolveTarget and maskUrl", () => {
  it("picks the backend from the URL", () => {
    expect(resolveTarget("postgres://u:p@h:5432/db")).toEqual({ kind: "postgres", url: "postgres://u:p@h:5432/db" });
    expect(resolveTarget("postgresql://h/db")).toEqual({ kind: "postgres", url: "postgresql://h/db" });
    expect(resolveTarget("memory://")).toEqual({ kind: "pglite-memory" });
    expect(resolveTarget("/abs/dir")).toEqual({ kind: "pglite-dir", dataDir: "/abs/dir" });
    expect(resolveTarget("rel/dir", "/base")).toEqual({ kind: "pglite-dir", dataDir: "/base/rel/dir" });
    expect(resolveTarget(pathToFileURL("/x/y").href, "/base")).toEqual({ kind: "pglite-dir", dataDir: "/x/y" });
    expect(resolveTarget("file:rel", "/base")).toEqual({ kind: "pglite-dir", dataDir: "/base/rel" });
  });

  it("defaults to REEV_DATABASE_URL, else .reev/db under the working directory", () => {
    const saved = process.env.REEV_DATABASE_URL;
    try {
      delete process.env.REEV_DATABASE_URL;
      expect(resolveTarget(undefined, "/work/here")).toEqual({ kind: "pglite-dir", dataDir: "/work/here/.reev/db" });
      process.env.REEV_DATABASE_URL = "memory://";
      expect(resolveTarget(undefined, "/work/here")).toEqual({ kind: "pglite-memory" });
    } finally {
      if (saved === undefined) delete process.env.REEV_DATABASE_URL;
      else process.env.REEV_DATABASE_URL = saved;
    }
  });

  it("an unsupported URL scheme → VALIDATION on url, password masked", async () => {
    const error = await expectDbError(openDatabase({ url: "mysql://root:s3cret@localhost/reev" }), "VALIDATION", "url");
    expect(error.message).toContain("mysql://root:***@localhost/reev");
    expect(error.message).not.toContain("s3cret");
    expect(() => resolveTarget("sqlite://db.sqlite")).toThrow(/Unsupported database URL/);
  });

  it("maskUrl hides only the password", () => {
    expect(maskUrl("postgresql://reev:s3cret@db.example:5432/reev?sslmode=require")).toBe(
      "postgresql://reev:***@db.example:5432/reev?sslmode=require",
    );
    expect(maskUrl("postgresql://reev@localhost/reev")).toBe("postgresql://reev@localhost/reev");
    expect(maskUrl("postgresql://localhost/reev")).toBe("postgresql://localhost/reev");
    expect(maskUrl("memory://")).toBe("memory://");
    // Not parseable URLs, but still a password in them (one with an unencoded "@").
    expect(maskUrl("postgresql://u:pw@h:notaport/db")).toBe("postgresql://u:***@h:notaport/db");
    expect(maskUrl("postgresql://reev:p@ss:w0rd@[bad/db")).toBe("postgresql://reev:***@[bad/db");
    expect(maskUrl("postgresql://reev:p@ss@localhost/db")).toBe("postgresql://reev:***@localhost/db");
  });

  it("dbOptionOf names a database for a command to copy, its password masked and said to be", () => {
    expect(dbOptionOf(resolveTarget("postgresql://reev:s3cret@db.example/reev"))).toEqual({
      // Quoted: a shell would expand the *** otherwise.
      text: "--db 'postgresql://reev:***@db.example/reev'",
      masked: true,
    });
    expect(dbOptionOf(resolveTarget("postgresql://reev@db.example/reev"))).toEqual({
      text: "--db postgresql://reev@db.example/reev",
      masked: false,
    });
    expect(dbOptionOf(resolveTarget("my runs", "/base"))).toEqual({ text: "--db '/base/my runs'", masked: false });
    expect(dbOptionOf(resolveTarget("memory://"))).toEqual({ text: "--db memory://", masked: false });
  });
});

describe("directories that must not become databases", () => {
  it("an empty URL is refused (it would make the working directory the data directory); an empty REEV_DATABASE_URL counts as unset", () => {
    expect(() => resolveTarget("", "/work/here")).toThrow(
      expect.objectContaining({ code: "VALIDATION", field: "url", message: "The database URL is empty." }),
    );
    expect(() => resolveTarget("  ", "/work/here")).toThrow(expect.objectContaining({ code: "VALIDATION", field: "url" }));
    const saved = process.env.REEV_DATABASE_URL;
    try {
      process.env.REEV_DATABASE_URL = "";
      expect(resolveTarget(undefined, "/work/here")).toEqual({ kind: "pglite-dir", dataDir: "/work/here/.reev/db" });
    } finally {
      if (saved === undefined) delete process.env.REEV_DATABASE_URL;
      else process.env.REEV_DATABASE_URL = saved;
    }
  });

  it("a non-empty directory that is not a PGlite database is refused, and left untouched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reev-not-a-db-"));
    try {
      writeFileSync(join(dir, "README.md"), "my project");
      const error = await expectDbError(openDatabase({ url: dir }), "VALIDATION", "url");
      expect(error.message).toContain("is not a PGlite database");
      expect(readdirSync(dir)).toEqual(["README.md"]);
      expect(existsSync(`${dir}.lock`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Node's mkdir(…, { recursive: true }) spun for ever at full CPU here (mkdir answers ENOENT under /proc).
  it.skipIf(!existsSync("/proc/self"))("a directory the file system will not make (under /proc) is refused in words, at once", async () => {
    const error = await expectDbError(openDatabase({ url: "/proc/reev-nope/db" }), "VALIDATION", "url");
    expect(error.message).toBe(
      "/proc/reev-nope/db cannot be a database directory: reev cannot create /proc/reev-nope (/proc does not take new directories)",
    );
  });
});

describe("options from JavaScript, untyped", () => {
  it("a URL that is not text, or a migrate policy reev does not have, is VALIDATION naming it, before anything is opened", async () => {
    const url = await expectDbError(openDatabase({ url: 42 as unknown as string }), "VALIDATION", "url");
    expect(url.message).toBe("The database URL must be text (a directory, memory:// or postgresql://…), not number.");
    const migrate = await expectDbError(openDatabase({ url: "memory://", migrate: "yes" as unknown as boolean }), "VALIDATION", "migrate");
    expect(migrate.message).toBe('migrate must be true, false, "embedded" or "read", not "yes".');
  });
});

describe("makeDirectories", () => {
  it("makes every missing parent, accepts what exists, and refuses a file in the way or a parent that takes none", () => {
    const dir = mkdtempSync(join(tmpdir(), "reev-make-dirs-"));
    try {
      makeDirectories(join(dir, "a", "b", "c"));
      expect(readdirSync(join(dir, "a", "b"))).toEqual(["c"]);
      makeDirectories(join(dir, "a", "b", "c"));
      writeFileSync(join(dir, "file"), "x");
      expect(() => makeDirectories(join(dir, "file", "d"))).toThrow(expect.objectContaining({ code: "ENOTDIR", path: join(dir, "file") }));
      if (existsSync("/proc/self")) expect(() => makeDirectories("/proc/reev-nope/x")).toThrow(expect.objectContaining({ code: "ENOENT" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("in-memory PGlite", () => {
  it("memory:// opens a migrated database that works, and close() is idempotent", async () => {
    const db = await openDatabase({ url: "memory://" });
    try {
      expect(db.target).toEqual({ kind: "pglite-memory" });
      expect(db.description).toBe("in-memory PGlite");
      const id = await createExecution(db.writer);
      await db.writer.storeStepSession(id, 0, "hello");
      expect(await visibleSteps(db.writer, id)).toEqual([0]);
      // pgliteOf(db) is the writer's own engine (the bench's raw side queries it): it sees the same rows.
      const rows = await pgliteOf(db)!.query<{ content: string }>("SELECT content FROM step_sessions WHERE execution_id = $1", [id]);
      expect(rows.rows).toEqual([{ content: "hello" }]);
    } finally {
      await db.close();
      await db.close();
    }
    await expect(prismaClientOf(db).executionSession.count()).rejects.toThrow();
  });

  it("`await using` closes the database at the end of its block, even when the block throws", async () => {
    let escaped: Database | undefined;
    await expect(
      (async () => {
        await using db = await openDatabase({ url: "memory://" });
        escaped = db;
        await createExecution(db.writer);
        throw new Error("the block failed");
      })(),
    ).rejects.toThrow("the block failed");
    // Closed: the engine is gone, so the writer cannot reach it.
    await expect(escaped!.writer.getExecutionSession("x")).rejects.toThrow();
    await expect(prismaClientOf(escaped!).executionSession.count()).rejects.toThrow();
  });

  it("migrate: false leaves an empty database", async () => {
    const db = await openDatabase({ url: "memory://", migrate: false });
    try {
      const rows = await prismaClientOf(db).$queryRaw<{ t: string | null; m: string | null }[]>`
        SELECT to_regclass('execution_sessions')::text AS t, to_regclass('_prisma_migrations')::text AS m`;
      expect(rows).toEqual([{ t: null, m: null }]);
    } finally {
      await db.close();
    }
  });
});
