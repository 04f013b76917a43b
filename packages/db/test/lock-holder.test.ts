import { describe, expect, it } from "vitest";
import { lockHeldMessage, processArguments, shortCommand } from "../src/lock-holder.js";

describe("who holds the embedded database", () => {
  it("names the reev CLI by its command, however it was started, and other programs by their script", () => {
    expect(shortCommand(["/usr/bin/node", "/usr/local/bin/reev", "serve", "--port", "7878"])).toBe("reev serve");
    expect(shortCommand(["node", "/w/packages/cli/dist/bin.js", "list", "--db", ".reev"])).toBe("reev list");
    expect(shortCommand(["node", "--import=file:///x/tsx/dist/loader.mjs", "/w/packages/cli/src/bin.ts", "run", "f.yaml"])).toBe(
      "reev run",
    );
    expect(shortCommand(["/usr/local/bin/reev", "--db", "x"])).toBe("reev");
    expect(shortCommand(["node", "/home/me/worker.js", "--fast"])).toBe("node worker.js");
    expect(shortCommand(["node"])).toBe("node");
    expect(shortCommand(["/usr/bin/python3", "x.py"])).toBe("python3");
  });

  it("for a reev serve, says to stop it or read through it, at the URL its arguments give", () => {
    const message = (args: string[]) => lockHeldMessage("/d", 42, ["node", "/bin/reev", "serve", ...args]);
    expect(message([])).toBe(
      "The embedded database at /d is in use by process 42 (reev serve). Stop it, or read the runs through that server (http://127.0.0.1:7878), or use PostgreSQL (--db postgresql://…), which several processes can use at once.",
    );
    expect(message(["--port=9000", "--host", "0.0.0.0"])).toContain("(http://127.0.0.1:9000)");
    expect(message(["--port=9000", "--host", "::"])).toContain("(http://[::1]:9000)");
    expect(message(["--port=9000", "--host", "10.0.0.5"])).toContain("(http://10.0.0.5:9000)");
    expect(message(["--port", "0"])).toContain("through that server (at the URL it printed)");
  });

  it("without /proc (or another user's process), the pid alone, still with what to do", () => {
    expect(lockHeldMessage("/d", 42, undefined)).toBe(
      "The embedded database at /d is in use by process 42. Wait for it to end or stop it, use another directory (--db), or use PostgreSQL (--db postgresql://…), which several processes can use at once.",
    );
    expect(processArguments(2 ** 30)).toBeUndefined();
  });

  it("reads this process's own command line where /proc exists", () => {
    const args = processArguments(process.pid);
    if (args === undefined) expect(process.platform).not.toBe("linux");
    else expect(args).toContain(process.argv[1]);
  });
});
