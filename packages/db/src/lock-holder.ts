import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { reachableHost } from "./reachable-host.js";

/**
 * The command a process runs, from /proc/<pid>/cmdline (Linux): its arguments, or undefined where
 * that cannot be read (no /proc, macOS, Windows, another user's process hidden by hidepid).
 */
export function processArguments(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return args.length ? args : undefined;
  } catch {
    return undefined;
  }
}

/** The reev CLI as it is started: the installed `reev`, or the package's bin (dist/bin.js, src/bin.ts). */
const REEV_BIN = /(^|[/\\])(reev|cli[/\\](dist|src)[/\\]bin\.[jt]s)$/;
const NODE = /^(node|nodejs|node\d+)(\.exe)?$/i;

/**
 * What a process is, as a person names it: "reev serve" for the reev CLI (its command, not its
 * options, which hold long paths), else the program and its script ("node worker.js").
 */
export function shortCommand(args: readonly string[]): string {
  let rest = [...args];
  // Node and its own flags (--import=…, --enable-source-maps) come before the script.
  if (NODE.test(basename(rest[0] ?? ""))) {
    const script = rest.findIndex((a, i) => i > 0 && !a.startsWith("-"));
    const node = basename(rest[0] as string);
    if (script < 0) return node;
    rest = rest.slice(script);
    if (!REEV_BIN.test(rest[0] as string)) return `${node} ${basename(rest[0] as string)}`;
  }
  if (REEV_BIN.test(rest[0] ?? "")) return ["reev", ...rest.slice(1, 2).filter((a) => !a.startsWith("-"))].join(" ");
  return basename(rest[0] ?? "");
}

/** The URL a `reev serve` listens on, from its arguments; undefined when it picked a free port (--port 0). */
function serveUrl(args: readonly string[]): string | undefined {
  const value = (flag: string) => {
    const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    if (i < 0) return undefined;
    const arg = args[i] as string;
    return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[i + 1];
  };
  const port = value("--port") ?? "7878";
  const host = reachableHost(value("--host") ?? "127.0.0.1");
  if (!/^\d+$/.test(port) || Number(port) === 0) return undefined;
  return `http://${host.includes(":") ? `[${host}]` : host}:${Number(port)}`;
}

/**
 * Why another process holds the embedded database, and what to do, in plain words: who it is when its
 * command line can be read, and for a `reev serve`, that its runs can be read through it meanwhile.
 */
export function lockHeldMessage(dataDir: string, pid: number, args: readonly string[] | undefined): string {
  const command = args ? shortCommand(args) : undefined;
  const who = `process ${pid}${command ? ` (${command})` : ""}`;
  const shared = "or use PostgreSQL (--db postgresql://…), which several processes can use at once";
  if (command === "reev serve") {
    const url = serveUrl(args ?? []);
    return `The embedded database at ${dataDir} is in use by ${who}. Stop it, or read the runs through that server (${url ?? "at the URL it printed"}), ${shared}.`;
  }
  return `The embedded database at ${dataDir} is in use by ${who}. Wait for it to end or stop it, use another directory (--db), ${shared}.`;
}
